// Shared by the WAL's file tests: temporary directories and a model of the log
// that random operations are applied to alongside the real WAL.

import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import fc from "fast-check"
import type { HardState, WalEntry } from "../../src/wal/format.ts"

/** Runs `body` in a fresh temporary directory that is removed afterwards. */
export const withTempDir = async <A>(body: (dir: string) => Promise<A>): Promise<A> => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "flotilla-wal-"))
  try {
    return await body(dir)
  } finally {
    await fsp.rm(dir, { recursive: true, force: true })
  }
}

/** An operation against the log, resolved to concrete indices by `Model.plan`. */
export type Op =
  | { readonly op: "append"; readonly back: number; readonly count: number; readonly size: number }
  | { readonly op: "burst"; readonly count: number }
  | {
      readonly op: "hardState"
      readonly bump: number
      readonly vote: number
      readonly commit: number
    }
  | { readonly op: "truncate"; readonly delta: number }

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("append" as const),
      back: fc.nat({ max: 3 }),
      count: fc.integer({ min: 1, max: 4 }),
      size: fc.nat({ max: 120 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("burst" as const),
      count: fc.integer({ min: 2, max: 8 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("hardState" as const),
      bump: fc.nat({ max: 2 }),
      vote: fc.nat({ max: 3 }),
      commit: fc.nat({ max: 50 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("truncate" as const),
      delta: fc.integer({ min: -3, max: 4 }),
    }),
  },
)

/** One WAL call: entries and/or hard state, or a truncation. */
export type Call =
  | {
      readonly kind: "save"
      readonly hardState: HardState | undefined
      readonly entries: WalEntry[]
    }
  | { readonly kind: "truncate"; readonly fromIndex: number }

/** The expected log: entries by index, the last index and the hard state. */
export class Model {
  entries = new Map<number, WalEntry>()
  last = 0
  hardState: HardState | undefined
  /** Entries at or below it are covered by a snapshot and never rewritten. */
  floor = 0
  private serial = 0
  term = 1

  /** The concrete calls for `op` (one, or several issued concurrently for a burst). */
  plan(op: Op): Call[] {
    switch (op.op) {
      case "append": {
        const start = Math.max(this.floor + 1, this.last + 1 - op.back)
        return [
          {
            kind: "save",
            hardState: undefined,
            entries: this.entriesFrom(start, op.count, op.size),
          },
        ]
      }
      case "burst": {
        const calls: Call[] = []
        for (let i = 0; i < op.count; i++)
          calls.push({
            kind: "save",
            hardState: undefined,
            entries: this.entriesFrom(this.last + 1 + i, 1, 16),
          })
        return calls
      }
      case "hardState": {
        const prev = this.hardState
        const term = (prev?.term ?? 0) + op.bump
        // One vote per term: keep an existing vote when the term stays.
        const vote =
          prev !== undefined && prev.term === term && prev.vote !== null
            ? prev.vote
            : op.vote === 0
              ? null
              : `n${op.vote}`
        this.term = Math.max(this.term, term)
        return [{ kind: "save", hardState: { term, vote, commit: op.commit }, entries: [] }]
      }
      case "truncate":
        return [
          {
            kind: "truncate",
            fromIndex: Math.max(this.floor + 1, Math.min(this.last + 1, this.last + 1 + op.delta)),
          },
        ]
    }
  }

  /** Applies a call the WAL accepted. */
  apply(call: Call): void {
    if (call.kind === "truncate") {
      if (call.fromIndex > this.last + 1) this.entries.clear()
      else for (const k of this.entries.keys()) if (k >= call.fromIndex) this.entries.delete(k)
      this.last = call.fromIndex - 1
      return
    }
    if (call.entries.length > 0) {
      const first = call.entries[0]!.index
      for (const k of this.entries.keys()) if (k >= first) this.entries.delete(k)
      for (const e of call.entries) this.entries.set(e.index, e)
      this.last = call.entries[call.entries.length - 1]!.index
    }
    if (call.hardState !== undefined) this.hardState = call.hardState
  }

  /** The live entries after `after`, ascending (what recovery must return). */
  live(after: number): WalEntry[] {
    const out: WalEntry[] = []
    for (let i = after + 1; i <= this.last; i++) {
      const e = this.entries.get(i)
      if (e === undefined) throw new Error(`model has no entry ${i}`)
      out.push(e)
    }
    return out
  }

  clone(): Model {
    const m = new Model()
    m.entries = new Map(this.entries)
    m.last = this.last
    m.hardState = this.hardState
    m.floor = this.floor
    m.serial = this.serial
    m.term = this.term
    return m
  }

  private entriesFrom(start: number, count: number, size: number): WalEntry[] {
    const out: WalEntry[] = []
    for (let i = 0; i < count; i++) {
      const n = this.serial++
      // Distinct, recognisable bytes per entry so a mix-up cannot go unnoticed.
      const data = Uint8Array.from({ length: size }, (_, k) => (n * 31 + k) & 0xff)
      out.push({ index: start + i, term: this.term, type: n % 3, data })
    }
    return out
  }
}

/** Issues the calls of one op concurrently and waits for all; applies them to the model. */
export const runOp = async (
  wal: {
    save(h: HardState | undefined, e: ReadonlyArray<WalEntry>): Promise<void>
    truncate(i: number): Promise<void>
  },
  model: Model,
  op: Op,
): Promise<void> => {
  const calls = model.plan(op)
  const done: Promise<void>[] = []
  for (const call of calls) {
    done.push(
      call.kind === "truncate"
        ? wal.truncate(call.fromIndex)
        : wal.save(call.hardState, call.entries),
    )
    model.apply(call)
  }
  await Promise.all(done)
}
