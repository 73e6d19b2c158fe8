// etcd's automatic compaction (--auto-compaction-mode/--auto-compaction-retention),
// as pure state machines the member's shell steps on its clock; only the
// leader compacts, every member keeps its samples (so a new leader can).
//
// Periodic (etcd 3.4's v3compactor.Periodic): the current revision is sampled
// every interval/10, where interval is the retention capped at one hour; the
// oldest kept sample is the revision of one retention ago. The first
// compaction waits a whole retention, later ones one interval, each to that
// oldest sample. Revision (v3compactor.Revision): every five minutes, compact
// to the current revision minus the retention, unless that is not above 0 or
// was the last one compacted to.

import type { AutoCompaction } from "./config.ts"

const HOUR_MS = 3_600_000
/** etcd's revInterval: how often the revision compactor looks. */
export const REVISION_CHECK_MS = 5 * 60_000

/** What a compactor asks its shell to do at a step. */
export interface CompactorStep {
  /** Compact to this revision now (then report `succeeded` or `failed`). */
  readonly compactTo?: number
}

/** How often the shell steps a compactor. */
export const stepIntervalMs = (c: AutoCompaction): number =>
  c.mode === "revision" ? REVISION_CHECK_MS : Math.min(c.retentionMs, HOUR_MS) / 10

export class PeriodicCompactor {
  readonly retentionMs: number
  /** Samples of the revision, one per step; the first is one retention old. */
  readonly #revisions: Array<number> = []
  /** Samples kept: one retention's worth of steps, and the one a retention ago. */
  readonly #keep: number
  #lastSuccessMs: number
  #waitMs: number

  constructor(retentionMs: number, startMs: number) {
    this.retentionMs = retentionMs
    this.#keep = Math.floor(retentionMs / stepIntervalMs({ mode: "periodic", retentionMs })) + 1
    this.#lastSuccessMs = startMs
    this.#waitMs = retentionMs
  }

  /** Samples `revision` at `nowMs`; returns what to compact when this member leads. */
  step(nowMs: number, revision: number, leading: boolean): CompactorStep {
    this.#revisions.push(revision)
    if (this.#revisions.length > this.#keep)
      this.#revisions.splice(0, this.#revisions.length - this.#keep)
    if (!leading || nowMs - this.#lastSuccessMs < this.#waitMs) return {}
    this.#waitMs = Math.min(this.retentionMs, HOUR_MS)
    return { compactTo: this.#revisions[0] as number }
  }

  /** The compaction asked for succeeded (or the revision was compacted already). */
  succeeded(nowMs: number): void {
    this.#lastSuccessMs = nowMs
  }
}

export class RevisionCompactor {
  readonly retention: number
  #last = 0

  constructor(retention: number) {
    this.retention = retention
  }

  step(revision: number, leading: boolean): CompactorStep {
    const to = revision - this.retention
    if (!leading || to <= 0 || to === this.#last) return {}
    return { compactTo: to }
  }

  succeeded(revision: number): void {
    this.#last = revision
  }
}
