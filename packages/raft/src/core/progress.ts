// Per-follower replication state transitions (see `Progress` in state.ts).
import type { Progress, ResolvedOptions } from "./state.ts"
import type { NodeId } from "./types.ts"

export const makeProgress = (id: NodeId, next: number, learner: boolean): Progress => ({
  id,
  match: 0,
  next,
  state: "Probe",
  probeSent: false,
  inflight: [],
  inflightBytes: [],
  inflightTotalBytes: 0,
  pendingSnapshot: 0,
  snapshotOffset: 0,
  stalled: false,
  sentCommit: 0,
  recentActive: false,
  learner,
})

const resetInflight = (pr: Progress): void => {
  pr.inflight.length = 0
  pr.inflightBytes.length = 0
  pr.inflightTotalBytes = 0
}

/** Back to probing from just after what is known to match (or after the snapshot sent). */
export const becomeProbe = (pr: Progress): void => {
  pr.next = pr.state === "Snapshot" ? Math.max(pr.match + 1, pr.pendingSnapshot + 1) : pr.match + 1
  pr.state = "Probe"
  pr.probeSent = false
  pr.pendingSnapshot = 0
  pr.snapshotOffset = 0
  pr.stalled = false
  resetInflight(pr)
}

export const becomeReplicate = (pr: Progress): void => {
  pr.state = "Replicate"
  pr.next = pr.match + 1
  pr.probeSent = false
  pr.pendingSnapshot = 0
  pr.snapshotOffset = 0
  pr.stalled = false
  resetInflight(pr)
}

export const becomeSnapshot = (pr: Progress, index: number): void => {
  pr.state = "Snapshot"
  pr.pendingSnapshot = index
  pr.snapshotOffset = 0
  pr.probeSent = false
  pr.stalled = false
  resetInflight(pr)
}

/** True when no AppendEntries may be sent to this follower now. */
export const isPaused = (pr: Progress, o: ResolvedOptions): boolean => {
  switch (pr.state) {
    case "Probe":
      return pr.probeSent
    case "Replicate":
      return pr.inflight.length >= o.maxInflightMsgs || pr.inflightTotalBytes >= o.maxInflightBytes
    case "Snapshot":
      return true
  }
}

/** Records an AppendEntries in flight up to `last` carrying `bytes` of entries. */
export const addInflight = (pr: Progress, last: number, bytes: number): void => {
  pr.inflight.push(last)
  pr.inflightBytes.push(bytes)
  pr.inflightTotalBytes += bytes
}

/** Frees in-flight messages whose last index is at most `index`. */
export const freeInflightsTo = (pr: Progress, index: number): void => {
  let n = 0
  while (n < pr.inflight.length && pr.inflight[n]! <= index) {
    pr.inflightTotalBytes -= pr.inflightBytes[n]!
    n++
  }
  if (n > 0) {
    pr.inflight.splice(0, n)
    pr.inflightBytes.splice(0, n)
  }
}
