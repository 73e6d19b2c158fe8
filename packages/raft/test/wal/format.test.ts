import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { FrameWriter, scanSegment, type WalRecord } from "../../src/wal/format.ts"

// Records the scanner checks structurally (index semantics are replay's job).
const recordArb: fc.Arbitrary<WalRecord> = fc.oneof(
  fc
    .record({
      index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      term: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      type: fc.integer({ min: 0, max: 255 }),
      data: fc.uint8Array({ maxLength: 40 }),
    })
    .map((entry) => ({ kind: "entry" as const, entry })),
  fc
    .record({
      term: fc.nat(),
      vote: fc.option(fc.string({ unit: "grapheme", maxLength: 8 }), { nil: null }),
      commit: fc.nat(),
    })
    .map((hardState) => ({ kind: "hardState" as const, hardState })),
  fc.integer({ min: 1, max: 1e9 }).map((fromIndex) => ({ kind: "truncate" as const, fromIndex })),
  fc.integer({ min: 1, max: 1e9 }).map((next) => ({ kind: "reset" as const, next })),
)

const batchesArb = fc.array(fc.array(recordArb, { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 5,
})

interface Built {
  readonly bytes: Uint8Array
  /** All records, header first, with the batch each belongs to. */
  readonly records: ReadonlyArray<{ record: WalRecord; batch: number }>
  readonly batchStarts: ReadonlyArray<number>
  readonly batchEnds: ReadonlyArray<number>
  /** Start offset of every frame (records and commits). */
  readonly frameStarts: ReadonlyArray<number>
}

const encode = (w: FrameWriter, r: WalRecord) => {
  switch (r.kind) {
    case "header":
      return w.header(r.seq, r.firstIndex)
    case "entry":
      return w.entry(r.entry.index, r.entry.term, r.entry.type, r.entry.data)
    case "hardState":
      return w.hardState(r.hardState)
    case "truncate":
      return w.truncate(r.fromIndex)
    case "reset":
      return w.resetLog(r.next)
  }
}

const build = (batches: ReadonlyArray<ReadonlyArray<WalRecord>>): Built => {
  const w = new FrameWriter(16)
  const records: Array<{ record: WalRecord; batch: number }> = []
  const batchStarts: number[] = []
  const batchEnds: number[] = []
  const frameStarts: number[] = []
  batches.forEach((batch, i) => {
    const start = w.length
    batchStarts.push(start)
    const all: WalRecord[] =
      i === 0 ? [{ kind: "header", version: 1, seq: 7, firstIndex: 3 }, ...batch] : [...batch]
    for (const r of all) {
      frameStarts.push(w.length)
      encode(w, r)
      records.push({ record: r, batch: i })
    }
    frameStarts.push(w.length)
    w.commit(start)
    batchEnds.push(w.length)
  })
  return { bytes: w.bytes().slice(), records, batchStarts, batchEnds, frameStarts }
}

const recordsOf = (built: Built, batchCount: number) =>
  built.records.filter((r) => r.batch < batchCount).map((r) => r.record)

const frameStartOf = (built: Built, at: number) => built.frameStarts.filter((s) => s <= at).at(-1)!

const scanned = (bytes: Uint8Array, isLast: boolean) => {
  const r = scanSegment(bytes, isLast)
  return r
}

describe("scanSegment", () => {
  it("reads back every committed record, in or out of the last segment", () => {
    fc.assert(
      fc.property(batchesArb, fc.boolean(), (batches, isLast) => {
        const built = build(batches)
        const r = scanned(built.bytes, isLast)
        expect(r._tag).toBe("Ok")
        if (r._tag !== "Ok") return
        expect(r.records.map((x) => x.record)).toEqual(recordsOf(built, batches.length))
        expect(r.validLength).toBe(built.bytes.length)
        expect(r.torn).toBeUndefined()
      }),
    )
  })

  it("cuts a last segment cut short to its committed batches, and refuses it elsewhere", () => {
    fc.assert(
      fc.property(batchesArb, fc.nat(), fc.boolean(), (batches, cutSeed, zeroFill) => {
        const built = build(batches)
        const cut = cutSeed % built.bytes.length
        // A crash either shortens the file or (preallocated) leaves zeros.
        const bytes = zeroFill
          ? Uint8Array.from(built.bytes, (b, i) => (i < cut ? b : 0))
          : built.bytes.slice(0, cut)
        // Zero-filling bytes that were zero changes nothing: the damage starts
        // at the first byte that differs.
        let eff = cut
        if (zeroFill) while (eff < built.bytes.length && built.bytes[eff] === 0) eff++
        const complete = built.batchEnds.filter((e) => e <= eff).length
        const keep = complete === 0 ? 0 : built.batchEnds[complete - 1]!
        const last = scanned(bytes, true)
        expect(last._tag).toBe("Ok")
        if (last._tag !== "Ok") return
        expect(last.records.map((x) => x.record)).toEqual(recordsOf(built, complete))
        expect(last.validLength).toBe(keep)
        expect(last.torn === undefined).toBe(
          eff === keep || (zeroFill && eff === built.bytes.length),
        )
        const middle = scanned(bytes, false)
        if (eff === keep || eff === built.bytes.length) expect(middle._tag).toBe("Ok")
        else
          expect(middle).toMatchObject({
            _tag: "Corrupt",
            // A cut between frames leaves a batch without its commit; a cut
            // inside a frame leaves that frame damaged.
            offset: built.frameStarts.includes(eff)
              ? built.batchStarts[complete]
              : frameStartOf(built, eff),
          })
      }),
    )
  })

  it("drops a last batch whose tail is garbage", () => {
    fc.assert(
      fc.property(
        batchesArb,
        fc.nat(),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        (batches, at, junk) => {
          const built = build(batches)
          const lastStart = built.batchStarts.at(-1)!
          const from = lastStart + (at % (built.bytes.length - lastStart))
          const bytes = built.bytes.slice()
          for (let i = from; i < bytes.length; i++) bytes[i] = junk[(i - from) % junk.length]!
          const unchanged = bytes.every((b, i) => b === built.bytes[i])
          const r = scanned(bytes, true)
          expect(r._tag).toBe("Ok")
          if (r._tag !== "Ok") return
          const kept = unchanged ? batches.length : batches.length - 1
          expect(r.records.map((x) => x.record)).toEqual(recordsOf(built, kept))
        },
      ),
    )
  })

  it("never returns a damaged record: one corrupt byte is refused unless it is in the last batch of the last segment", () => {
    fc.assert(
      fc.property(
        batchesArb,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        (batches, at, flip, isLast) => {
          const built = build(batches)
          const q = at % built.bytes.length
          const bytes = built.bytes.slice()
          bytes[q]! ^= flip
          const r = scanned(bytes, isLast)
          const lastStart = built.batchStarts.at(-1)!
          if (isLast && q >= lastStart) {
            expect(r._tag).toBe("Ok")
            if (r._tag !== "Ok") return
            expect(r.records.map((x) => x.record)).toEqual(recordsOf(built, batches.length - 1))
            expect(r.validLength).toBe(lastStart)
            expect(r.torn?.offset).toBe(frameStartOf(built, q))
          } else {
            expect(r).toEqual({
              _tag: "Corrupt",
              offset: frameStartOf(built, q),
              reason: expect.any(String),
            })
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it("refuses segments that do not start with a header or repeat it", () => {
    const w = new FrameWriter()
    w.truncate(5)
    w.commit(0)
    expect(scanSegment(w.bytes(), false)).toMatchObject({
      _tag: "Corrupt",
      offset: 0,
      reason: "segment does not begin with a header",
    })
    const v = new FrameWriter()
    v.header(1, 1)
    v.commit(0)
    const second = v.length
    v.header(2, 1)
    v.commit(second)
    expect(scanSegment(v.bytes(), false)).toMatchObject({
      _tag: "Corrupt",
      offset: second,
      reason: "header inside a segment",
    })
  })

  it("refuses a commit frame that names the wrong batch start", () => {
    const w = new FrameWriter()
    w.header(1, 1)
    const at = w.length
    w.commit(3)
    expect(scanSegment(w.bytes(), false)).toMatchObject({
      _tag: "Corrupt",
      offset: at,
      reason: "commit frame names batch start 3, expected 0",
    })
  })

  it("accepts a zero-filled tail and treats an empty file as empty", () => {
    const w = new FrameWriter()
    w.header(1, 1)
    w.commit(0)
    const bytes = new Uint8Array(w.length + 100)
    bytes.set(w.bytes())
    for (const isLast of [true, false]) {
      expect(scanSegment(bytes, isLast)).toMatchObject({
        _tag: "Ok",
        validLength: w.length,
        torn: undefined,
      })
      expect(scanSegment(new Uint8Array(0), isLast)).toEqual({
        _tag: "Ok",
        records: [],
        validLength: 0,
        torn: undefined,
      })
    }
  })
})
