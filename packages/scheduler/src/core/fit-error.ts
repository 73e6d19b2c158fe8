import type { Status } from "./status.ts"

/** Kubernetes' `NoNodeAvailableMsg`. */
export const NoNodeAvailableMsg = "0/%v nodes are available"

/**
 * Kubernetes' FitError: the pod fits on none of `numAllNodes` nodes. The
 * message counts every reason over every filtered node and prints
 * `0/N nodes are available: <count> <reason>, ...` with the `"<count> <reason>"`
 * strings sorted as plain strings (so `10 x` sorts before `2 y`, as in Go).
 */
export class FitError {
  readonly numAllNodes: number
  /** Node name -> the status that rejected it. */
  readonly filteredNodesStatuses: ReadonlyMap<string, Status>

  constructor(numAllNodes: number, filteredNodesStatuses: ReadonlyMap<string, Status>) {
    this.numAllNodes = numAllNodes
    this.filteredNodesStatuses = filteredNodesStatuses
  }

  /** Reason -> number of nodes that reported it. */
  histogram(): Map<string, number> {
    const reasons = new Map<string, number>()
    for (const status of this.filteredNodesStatuses.values()) {
      for (const reason of status.reasons) reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
    }
    return reasons
  }

  get message(): string {
    return fitErrorMessage(this.numAllNodes, this.histogram())
  }
}

/** Byte-wise (code unit) comparison, matching Go's sort.Strings for these messages. */
const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export const fitErrorMessage = (
  numAllNodes: number,
  histogram: ReadonlyMap<string, number>,
): string => {
  const parts: Array<string> = []
  for (const [reason, count] of histogram) parts.push(`${count} ${reason}`)
  parts.sort(compareStrings)
  return `0/${numAllNodes} nodes are available: ${parts.join(", ")}.`
}
