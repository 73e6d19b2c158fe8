import type { Rng } from "./rng.ts"

/** Kubernetes' minFeasibleNodesToFind. */
export const MinFeasibleNodesToFind = 100
/** Kubernetes' minFeasibleNodesPercentageToFind. */
export const MinFeasibleNodesPercentageToFind = 5
/** Kubernetes' DefaultPercentageOfNodesToScore (0 = adaptive). */
export const DefaultPercentageOfNodesToScore = 0

/**
 * Kubernetes' `numFeasibleNodesToFind`: how many feasible nodes the filter
 * phase looks for before it stops. Below 100 nodes, or at 100%, every node is
 * examined; otherwise the configured percentage, or adaptively
 * `50 - numAllNodes/125` with a floor of 5%, and never fewer than 100 nodes.
 */
export const numFeasibleNodesToFind = (
  numAllNodes: number,
  percentageOfNodesToScore: number,
): number => {
  if (numAllNodes < MinFeasibleNodesToFind || percentageOfNodesToScore >= 100) return numAllNodes
  let adaptivePercentage = percentageOfNodesToScore
  if (adaptivePercentage <= 0) {
    adaptivePercentage = 50 - Math.trunc(numAllNodes / 125)
    if (adaptivePercentage < MinFeasibleNodesPercentageToFind) {
      adaptivePercentage = MinFeasibleNodesPercentageToFind
    }
  }
  const numNodes = Math.trunc((numAllNodes * adaptivePercentage) / 100)
  return Math.max(numNodes, MinFeasibleNodesToFind)
}

/**
 * Kubernetes' `selectHost`: the index of a node with the highest total score.
 * Ties are broken by reservoir sampling: the k-th node seen at the maximum
 * replaces the pick with probability 1/k, so each top node is equally likely.
 * Returns -1 for an empty list.
 */
export const selectHost = (
  totals: Float64Array | ReadonlyArray<number>,
  count: number,
  rng: Rng,
): number => {
  if (count === 0) return -1
  let maxScore = totals[0]!
  let selected = 0
  let cntOfMaxScore = 1
  for (let i = 1; i < count; i++) {
    const s = totals[i]!
    if (s > maxScore) {
      maxScore = s
      selected = i
      cntOfMaxScore = 1
    } else if (s === maxScore) {
      cntOfMaxScore++
      if (rng.intn(cntOfMaxScore) === 0) selected = i
    }
  }
  return selected
}
