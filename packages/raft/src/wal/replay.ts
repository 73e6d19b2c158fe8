// Rebuilding the log from scanned records: pure, no I/O.
//
// The live log is a contiguous run of entries [firstIndex, lastIndex]. An entry
// with index i <= lastIndex overwrites the suffix from i (Raft replaces
// conflicting entries); Truncate(i) drops entries >= i and makes i the next
// index; Reset(i) drops every entry and makes i the next index (a follower that
// installed a snapshot from its leader). Segments removed by compaction only ever held entries at or below the
// compaction point, so replay may start at any segment's header.

import type { HardState, WalEntry, WalRecord } from "./format.ts"

/** Why replay refused a record: a message, with the file and offset set by the caller. */
export class ReplayError {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

export class LogReplay {
  /** Index of `entries[0]` (or the next index when empty). */
  firstIndex = 1
  entries: WalEntry[] = []
  hardState: HardState | undefined = undefined
  private started = false

  get lastIndex(): number {
    return this.firstIndex + this.entries.length - 1
  }

  /** Applies one record; a `ReplayError` means the records contradict each other. */
  apply(record: WalRecord): ReplayError | undefined {
    switch (record.kind) {
      case "header":
        if (!this.started) {
          this.started = true
          this.firstIndex = record.firstIndex
          this.entries = []
          return undefined
        }
        if (record.firstIndex !== this.lastIndex + 1)
          return new ReplayError(
            `segment header starts at index ${record.firstIndex} but the log so far ends at ${this.lastIndex}`,
          )
        return undefined
      case "entry": {
        const e = record.entry
        if (e.index > this.lastIndex + 1)
          return new ReplayError(
            `entry ${e.index} leaves a gap after the log's last index ${this.lastIndex}`,
          )
        if (e.index < this.firstIndex) {
          // Overwrites below what replay has seen: the older entries were in
          // compacted segments.
          this.firstIndex = e.index
          this.entries = [e]
        } else {
          this.entries.length = e.index - this.firstIndex
          this.entries.push(e)
        }
        return undefined
      }
      case "truncate":
        if (record.fromIndex < this.firstIndex || record.fromIndex > this.lastIndex + 1) {
          this.firstIndex = record.fromIndex
          this.entries = []
        } else {
          this.entries.length = record.fromIndex - this.firstIndex
        }
        return undefined
      case "reset":
        this.firstIndex = record.next
        this.entries = []
        return undefined
      case "hardState":
        this.hardState = record.hardState
        return undefined
    }
  }

  /** The entry at `index`, if the live log holds it. */
  entryAt(index: number): WalEntry | undefined {
    return index >= this.firstIndex ? this.entries[index - this.firstIndex] : undefined
  }
}

export interface SnapshotPoint {
  readonly index: number
  readonly term: number
}

export type Reconciled =
  | {
      readonly _tag: "Ok"
      /** Entries after the snapshot, contiguous from `snapshot.index + 1`. */
      readonly entries: ReadonlyArray<WalEntry>
      /**
       * The log disagrees with the snapshot (it ends before it, or holds a
       * different term at its index): the WAL must durably discard the log
       * from `snapshot.index + 1`.
       */
      readonly resetTo: number | undefined
    }
  | { readonly _tag: "Gap"; readonly reason: string }

/**
 * Combines the replayed log with the newest snapshot (index 0 = none), as Raft
 * does on InstallSnapshot: if the log holds the snapshot's last entry with the
 * same term, the entries after it are kept; otherwise the whole log is
 * superseded by the snapshot.
 */
export const reconcile = (log: LogReplay, snapshot: SnapshotPoint): Reconciled => {
  const s = snapshot.index
  const last = log.lastIndex
  const atSnapshot = s > 0 ? log.entryAt(s) : undefined
  // The log holds another entry at the snapshot's index: it is superseded.
  if (atSnapshot !== undefined && atSnapshot.term !== snapshot.term)
    return { _tag: "Ok", entries: [], resetTo: s + 1 }
  if (last <= s) {
    // Everything the log holds is covered; make the WAL continue at s + 1.
    return { _tag: "Ok", entries: [], resetTo: last === s ? undefined : s + 1 }
  }
  if (log.firstIndex > s + 1) {
    return {
      _tag: "Gap",
      reason:
        s === 0
          ? `the log starts at index ${log.firstIndex} and no snapshot covers the entries before it`
          : `the log starts at index ${log.firstIndex} but the newest valid snapshot ends at ${s}`,
    }
  }
  return { _tag: "Ok", entries: log.entries.slice(s + 1 - log.firstIndex), resetTo: undefined }
}
