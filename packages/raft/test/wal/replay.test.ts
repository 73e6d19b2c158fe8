import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { WalEntry, WalRecord } from "../../src/wal/format.ts"
import { LogReplay, reconcile } from "../../src/wal/replay.ts"

// Operations a Raft node issues against its log, resolved against a simple
// model: a map from index to entry plus the last index.
type Op =
  | { readonly op: "append"; readonly back: number; readonly count: number; readonly term: number }
  | { readonly op: "truncate"; readonly delta: number }
  | { readonly op: "cut" }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("append" as const),
      back: fc.nat({ max: 4 }),
      count: fc.integer({ min: 1, max: 4 }),
      term: fc.integer({ min: 1, max: 9 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("truncate" as const),
      delta: fc.integer({ min: -4, max: 6 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: "cut" as const }) },
)

interface Run {
  /** Records per segment; each segment starts with its header. */
  readonly segments: ReadonlyArray<ReadonlyArray<WalRecord>>
  readonly model: ReadonlyMap<number, WalEntry>
  readonly last: number
}

const run = (ops: ReadonlyArray<Op>): Run => {
  const model = new Map<number, WalEntry>()
  let last = 0
  let seq = 1
  const segments: WalRecord[][] = [[{ kind: "header", version: 1, seq, firstIndex: 1 }]]
  let serial = 0
  for (const o of ops) {
    const seg = segments[segments.length - 1]!
    if (o.op === "append") {
      const start = Math.max(1, last + 1 - o.back)
      for (const k of model.keys()) if (k >= start) model.delete(k)
      for (let i = 0; i < o.count; i++) {
        const entry = {
          index: start + i,
          term: o.term,
          type: 0,
          data: Uint8Array.of(serial++ & 0xff),
        }
        model.set(entry.index, entry)
        seg.push({ kind: "entry", entry })
      }
      last = start + o.count - 1
    } else if (o.op === "truncate") {
      const from = Math.max(1, last + 1 + o.delta)
      if (from > last + 1) model.clear()
      else for (const k of model.keys()) if (k >= from) model.delete(k)
      last = from - 1
      seg.push({ kind: "truncate", fromIndex: from })
    } else {
      seq++
      segments.push([{ kind: "header", version: 1, seq, firstIndex: last + 1 }])
    }
  }
  return { segments, model, last }
}

const replay = (segments: ReadonlyArray<ReadonlyArray<WalRecord>>): LogReplay => {
  const log = new LogReplay()
  for (const seg of segments)
    for (const r of seg) {
      const err = log.apply(r)
      if (err !== undefined) throw new Error(err.reason)
    }
  return log
}

const headerIndex = (seg: ReadonlyArray<WalRecord>): number => {
  const h = seg[0]!
  if (h.kind !== "header") throw new Error("no header")
  return h.firstIndex
}

describe("LogReplay", () => {
  it("rebuilds exactly the log the operations produced", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const r = run(ops)
        const log = replay(r.segments)
        expect(log.lastIndex).toBe(r.last)
        const live = [...r.model.values()]
          .filter((e) => e.index <= r.last)
          .sort((a, b) => a.index - b.index)
        // The live log is the contiguous run ending at `last`.
        const contiguous = live.filter((e) => e.index >= log.firstIndex)
        expect(log.entries).toEqual(contiguous)
        expect(contiguous.length).toBe(live.length)
      }),
    )
  })

  it("gives the same log above a compaction point when replay starts at a later segment", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), fc.nat(), (ops, pick) => {
        const r = run(ops)
        const k = pick % r.segments.length
        // The smallest compaction point that lets segments before k go.
        const c = headerIndex(r.segments[k]!) - 1
        const full = replay(r.segments)
        const partial = replay(r.segments.slice(k))
        expect(partial.lastIndex).toBe(full.lastIndex)
        const above = (l: LogReplay) => l.entries.filter((e) => e.index > c)
        expect(above(partial)).toEqual(above(full))
      }),
    )
  })

  it("refuses an entry that leaves a gap and a header that does not continue the log", () => {
    const log = new LogReplay()
    expect(log.apply({ kind: "header", version: 1, seq: 1, firstIndex: 1 })).toBeUndefined()
    expect(
      log.apply({ kind: "entry", entry: { index: 1, term: 1, type: 0, data: new Uint8Array() } }),
    ).toBeUndefined()
    expect(
      log.apply({ kind: "entry", entry: { index: 3, term: 1, type: 0, data: new Uint8Array() } })
        ?.reason,
    ).toBe("entry 3 leaves a gap after the log's last index 1")
    expect(log.apply({ kind: "header", version: 1, seq: 2, firstIndex: 5 })?.reason).toBe(
      "segment header starts at index 5 but the log so far ends at 1",
    )
  })

  it("keeps the last hard state", () => {
    const log = new LogReplay()
    log.apply({ kind: "header", version: 1, seq: 1, firstIndex: 1 })
    log.apply({ kind: "hardState", hardState: { term: 1, vote: "n2", commit: 0 } })
    log.apply({ kind: "hardState", hardState: { term: 3, vote: null, commit: 4 } })
    expect(log.hardState).toEqual({ term: 3, vote: null, commit: 4 })
  })
})

const logOf = (first: number, terms: ReadonlyArray<number>): LogReplay => {
  const log = new LogReplay()
  log.apply({ kind: "header", version: 1, seq: 1, firstIndex: first })
  for (const [i, term] of terms.entries()) {
    log.apply({ kind: "entry", entry: { index: first + i, term, type: 0, data: new Uint8Array() } })
  }
  return log
}

describe("reconcile", () => {
  it("keeps entries after a snapshot whose last entry the log holds with the same term", () => {
    const r = reconcile(logOf(1, [1, 1, 2, 2]), { index: 2, term: 1 })
    expect(r).toMatchObject({ _tag: "Ok", resetTo: undefined })
    if (r._tag === "Ok") expect(r.entries.map((e) => e.index)).toEqual([3, 4])
  })

  it("discards the log when the term at the snapshot index differs", () => {
    expect(reconcile(logOf(1, [1, 1, 2, 2]), { index: 2, term: 5 })).toEqual({
      _tag: "Ok",
      entries: [],
      resetTo: 3,
    })
  })

  it("discards a log that ends at the snapshot index with another term", () => {
    expect(reconcile(logOf(1, [1, 1, 2]), { index: 3, term: 5 })).toEqual({
      _tag: "Ok",
      entries: [],
      resetTo: 4,
    })
    expect(reconcile(logOf(1, [1, 1, 2]), { index: 3, term: 2 })).toEqual({
      _tag: "Ok",
      entries: [],
      resetTo: undefined,
    })
  })

  it("continues after a snapshot beyond the log", () => {
    expect(reconcile(logOf(1, [1]), { index: 9, term: 3 })).toEqual({
      _tag: "Ok",
      entries: [],
      resetTo: 10,
    })
    expect(reconcile(logOf(10, []), { index: 9, term: 3 })).toEqual({
      _tag: "Ok",
      entries: [],
      resetTo: undefined,
    })
  })

  it("reports a gap between the snapshot and the log", () => {
    expect(reconcile(logOf(8, [2, 2]), { index: 5, term: 1 })).toEqual({
      _tag: "Gap",
      reason: "the log starts at index 8 but the newest valid snapshot ends at 5",
    })
    expect(reconcile(logOf(3, [1]), { index: 0, term: 0 })).toMatchObject({ _tag: "Gap" })
  })
})
