// The reference semantics of `Persist` on stored state: what a log storage
// (in memory, or the file WAL) must hold after each write.
import type { DurableState } from "./raft.ts"
import type { Entry, HardState, Persist, Snapshot } from "./types.ts"

/** Stored state that `applyPersist` edits in place. */
export interface MutableDurable {
  hardState: HardState
  snapshot: Snapshot
  entries: Entry[]
}

export const mutableDurable = (d: DurableState): MutableDurable => ({
  hardState: d.hardState,
  snapshot: d.snapshot,
  entries: [...d.entries],
})

/** A copy that later writes to `d` do not affect. */
export const freezeDurable = (d: MutableDurable): DurableState => ({
  hardState: d.hardState,
  snapshot: d.snapshot,
  entries: d.entries.slice(),
})

/**
 * Applies one write: the snapshot first (keeping stored entries after it only
 * if the stored log contains the snapshot's last entry), then the entries
 * (overwriting from their first index), then the hard state.
 */
export const applyPersist = (d: MutableDurable, p: Persist): void => {
  if (p.snapshot !== null) {
    const snap = p.snapshot
    const base = d.snapshot.index
    const at = snap.index - base - 1
    const contains =
      snap.index === base
        ? d.snapshot.term === snap.term
        : at >= 0 && at < d.entries.length && d.entries[at]!.term === snap.term
    d.entries = contains && snap.index >= base ? d.entries.slice(snap.index - base) : []
    d.snapshot = snap
  }
  if (p.entries.length > 0) {
    const first = p.entries[0]!.index
    const keep = first - d.snapshot.index - 1
    if (keep < 0 || keep > d.entries.length)
      throw new RangeError(
        `Persist.entries starts at ${first}, outside the stored log (${d.snapshot.index + 1}..${d.snapshot.index + d.entries.length + 1})`,
      )
    d.entries.length = keep
    for (const e of p.entries) d.entries.push(e)
  }
  if (p.hardState !== null) d.hardState = p.hardState
}
