// Queries and edits of a node's log: the snapshot plus the entries after it.
// Indexes start at 1; index 0 / term 0 is the empty log's sentinel.
import type { RaftState } from "./state.ts"
import type { Entry } from "./types.ts"

/** Fixed per-entry overhead used in byte budgets (index, term, type, length). */
export const ENTRY_OVERHEAD_BYTES = 24

/** The size an entry counts for in message and in-flight byte budgets. */
export const entryBytes = (e: Entry): number =>
  ENTRY_OVERHEAD_BYTES +
  (e.type === "Normal" ? e.data.byteLength : 16 * (e.change.changes.length + 1))

export const firstIndex = (s: RaftState): number => s.snapshot.index + 1

export const lastIndex = (s: RaftState): number => s.snapshot.index + s.entries.length

export const lastTerm = (s: RaftState): number => {
  const n = s.entries.length
  return n === 0 ? s.snapshot.term : s.entries[n - 1]!.term
}

/** The term of the entry at `index`, or -1 if it is compacted away or beyond the log. */
export const termAt = (s: RaftState, index: number): number => {
  const base = s.snapshot.index
  if (index === base) return s.snapshot.term
  if (index < base || index > base + s.entries.length) return -1
  return s.entries[index - base - 1]!.term
}

/** The entry at `index` (which must lie in (snapshot.index, lastIndex]). */
export const entryAt = (s: RaftState, index: number): Entry =>
  s.entries[index - s.snapshot.index - 1]!

/**
 * Entries in [lo, hi), cut after `maxBytes` of entries (at least one entry is
 * returned when the range is non-empty). `lo` must be > snapshot.index.
 */
export const sliceEntries = (s: RaftState, lo: number, hi: number, maxBytes: number): Entry[] => {
  const base = s.snapshot.index + 1
  if (hi <= lo) return []
  if (maxBytes === Number.POSITIVE_INFINITY) return s.entries.slice(lo - base, hi - base)
  let bytes = 0
  let end = lo
  while (end < hi) {
    bytes += entryBytes(s.entries[end - base]!)
    if (bytes > maxBytes && end > lo) break
    end++
  }
  return s.entries.slice(lo - base, end - base)
}

/**
 * Section 5.4.1: a candidate's log is at least as up-to-date as ours if its
 * last term is higher, or equal with a last index at least ours.
 */
export const isUpToDate = (s: RaftState, lastLogIndex: number, lastLogTerm: number): boolean => {
  const term = lastTerm(s)
  return lastLogTerm > term || (lastLogTerm === term && lastLogIndex >= lastIndex(s))
}

/**
 * The first index of the run of entries with `term` that contains `index`
 * (the follower's conflictIndex hint). Stops at the first index still in the log.
 */
export const firstIndexOfTermRun = (s: RaftState, index: number): number => {
  const term = termAt(s, index)
  let i = index
  while (i - 1 > s.snapshot.index && termAt(s, i - 1) === term) i--
  return i
}

/**
 * The highest index <= `atMost` whose entry has `term`, or -1 when the log holds
 * no entry of that term there (the leader's use of a conflictTerm hint).
 * Terms never decrease along the log, so the scan stops below `term`.
 */
export const lastIndexOfTerm = (s: RaftState, term: number, atMost: number): number => {
  let i = Math.min(atMost, lastIndex(s))
  while (i > s.snapshot.index) {
    const t = termAt(s, i)
    if (t === term) return i
    if (t < term) return -1
    i--
  }
  return i === s.snapshot.index && s.snapshot.term === term ? i : -1
}

/** Removes entries at `index` and after. */
export const truncateFrom = (s: RaftState, index: number): void => {
  s.entries.length = Math.max(0, index - s.snapshot.index - 1)
}
