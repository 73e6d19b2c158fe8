import * as fsp from "node:fs/promises"
import * as path from "node:path"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { WalCorruptError } from "../../src/wal/errors.ts"
import { FileWal } from "../../src/wal/file-wal.ts"
import {
  decodeSnapshot,
  encodeSnapshotFrame,
  type Snapshot,
  snapshotFileName,
} from "../../src/wal/snapshot.ts"
import { Model, opArb, runOp, withTempDir } from "./helpers.ts"

const SEGMENT = 1024
const open = (dir: string) => FileWal.open({ dir, segmentBytes: SEGMENT })
const bytes = (...xs: number[]) => Uint8Array.from(xs)

const fileBytes = (s: Snapshot): Uint8Array => {
  const { header, trailer } = encodeSnapshotFrame(s)
  const out = new Uint8Array(header.length + s.meta.length + s.data.length + trailer.length)
  out.set(header)
  out.set(s.meta, header.length)
  out.set(s.data, header.length + s.meta.length)
  out.set(trailer, out.length - trailer.length)
  return out
}

describe("snapshot files", () => {
  it("round-trip, and any single corrupt byte is detected", () => {
    fc.assert(
      fc.property(
        fc.record({
          index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          term: fc.nat(),
          meta: fc.uint8Array({ maxLength: 20 }),
          data: fc.uint8Array({ maxLength: 100 }),
        }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (s, at, flip) => {
          const file = fileBytes(s)
          expect(decodeSnapshot(file)).toEqual(s)
          const damaged = file.slice()
          damaged[at % damaged.length]! ^= flip
          expect(typeof decodeSnapshot(damaged)).toBe("string")
          expect(typeof decodeSnapshot(file.subarray(0, file.length - 1))).toBe("string")
        },
      ),
    )
  })
})

describe("FileWal snapshots", () => {
  it("persist with a snapshot the log holds keeps the entries after it and compacts below it", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 5, maxLength: 30 }),
        fc.nat(),
        async (ops, pick) => {
          await withTempDir(async (dir) => {
            const model = new Model()
            let { wal } = await open(dir)
            for (const op of ops) await runOp(wal, model, op)
            if (model.last === 0) {
              await wal.close()
              return
            }
            const index = 1 + (pick % model.last)
            const term = model.entries.get(index)!.term
            const segmentsBefore = wal.segmentPaths().length
            await wal.persist({ snapshot: { index, term, meta: bytes(9), data: bytes(1, 2, 3) } })
            model.floor = index
            expect(wal.segmentPaths().length).toBeLessThanOrEqual(segmentsBefore)
            for (const op of ops.slice(0, 5)) await runOp(wal, model, op)
            await wal.close()
            const reopened = await open(dir)
            wal = reopened.wal
            const recovery = reopened.recovery
            expect(recovery.snapshot).toEqual({ index, term, meta: bytes(9), data: bytes(1, 2, 3) })
            expect(recovery.firstIndex).toBe(index + 1)
            expect(recovery.entries).toEqual(model.live(index))
            expect(recovery.lastIndex).toBe(Math.max(index, model.last))
            expect(recovery.hardState).toEqual(model.hardState)
            await wal.close()
          })
        },
      ),
      { numRuns: 25 },
    )
  })

  it("persist with a snapshot from a leader discards a log that disagrees with it", async () => {
    await withTempDir(async (dir) => {
      const model = new Model()
      let { wal } = await open(dir)
      for (let i = 0; i < 5; i++)
        await runOp(wal, model, { op: "append", back: 0, count: 2, size: 5 })
      // The leader's snapshot at index 4 has term 7; our entry 4 has term 1.
      const data = new Uint8Array(0)
      const e11 = { index: 11, term: 7, type: 0, data: bytes(11) }
      const done = wal.persist({
        snapshot: { index: 10, term: 7, data: bytes(5) },
        entries: [e11],
        hardState: { term: 7, vote: null, commit: 10 },
      })
      // Calls made while the snapshot is written wait for it, in order.
      const later = wal.append([{ index: 12, term: 7, type: 0, data }])
      await Promise.all([done, later])
      expect(wal.lastIndex).toBe(12)
      expect(wal.termAt(10)).toBe(7)
      await wal.close()
      ;({ wal } = await open(dir).then((r) => {
        expect(r.recovery.snapshot?.index).toBe(10)
        expect(r.recovery.entries.map((e) => e.index)).toEqual([11, 12])
        expect(r.recovery.hardState).toEqual({ term: 7, vote: null, commit: 10 })
        return r
      }))
      // Same with the snapshot at an index the log holds but with another term.
      await wal.persist({ snapshot: { index: 12, term: 8, data: bytes(6) } })
      expect(wal.lastIndex).toBe(12)
      await wal.append([{ index: 13, term: 8, type: 0, data }])
      await wal.close()
      const r = await open(dir)
      expect(r.recovery.entries.map((e) => [e.index, e.term])).toEqual([[13, 8]])
      await r.wal.close()
    })
  })

  it("finishes an install interrupted between the snapshot and the log reset", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      const data = new Uint8Array(0)
      for (let i = 1; i <= 6; i++) await wal.append([{ index: i, term: 1, type: 0, data }])
      // Only the snapshot file made it: as if the crash came before the WAL write.
      await wal.saveSnapshot({ index: 20, term: 3, data: bytes(4) })
      await wal.close()
      const r = await open(dir)
      expect(r.recovery.lastIndex).toBe(20)
      expect(r.recovery.entries).toEqual([])
      await r.wal.append([{ index: 21, term: 3, type: 0, data }])
      await r.wal.close()
      const again = await open(dir)
      expect(again.recovery.entries.map((e) => e.index)).toEqual([21])
      // Now a snapshot at an index the log holds, with another term.
      await again.wal.append([{ index: 22, term: 3, type: 0, data }])
      await again.wal.saveSnapshot({ index: 22, term: 4, data: bytes(5) })
      await again.wal.close()
      const third = await open(dir)
      expect(third.recovery.lastIndex).toBe(22)
      expect(third.recovery.entries).toEqual([])
      // Entries written after the repair are kept: the stale entry 22 is gone.
      await third.wal.append([{ index: 23, term: 4, type: 0, data }])
      await third.wal.close()
      const fourth = await open(dir)
      expect(fourth.recovery.entries.map((e) => [e.index, e.term])).toEqual([[23, 4]])
      await fourth.wal.close()
    })
  })

  it("falls back to an older snapshot when the newest is damaged, and ignores temporary files", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await FileWal.open({ dir, segmentBytes: SEGMENT, retainSnapshots: 3 })
      const data = new Uint8Array(0)
      for (let i = 1; i <= 9; i++) await wal.append([{ index: i, term: 1, type: 0, data }])
      await wal.saveSnapshot({ index: 3, term: 1, data: bytes(3) })
      await wal.saveSnapshot({ index: 6, term: 1, data: bytes(6) })
      await wal.close()
      const newest = path.join(dir, snapshotFileName(6, 1))
      const file = await fsp.readFile(newest)
      file[file.length - 1]! ^= 0x40
      await fsp.writeFile(newest, file)
      // A crash while writing a snapshot leaves a temporary file.
      const tmp = path.join(dir, `${snapshotFileName(9, 1)}.tmp`)
      await fsp.writeFile(tmp, "partial")
      const r = await open(dir)
      expect(r.recovery.snapshot?.index).toBe(3)
      expect(r.recovery.rejectedSnapshots).toEqual([{ path: newest, reason: "checksum mismatch" }])
      expect(r.recovery.entries.map((e) => e.index)).toEqual([4, 5, 6, 7, 8, 9])
      await expect(fsp.access(tmp)).rejects.toThrow()
      await r.wal.close()
    })
  })

  it("refuses to start when compaction removed entries and no valid snapshot covers them", async () => {
    await withTempDir(async (dir) => {
      const model = new Model()
      const { wal } = await open(dir)
      for (let i = 0; i < 20; i++)
        await runOp(wal, model, { op: "append", back: 0, count: 2, size: 60 })
      await wal.persist({ snapshot: { index: 30, term: 1, data: bytes(1) } })
      await wal.close()
      await fsp.rm(path.join(dir, snapshotFileName(30, 1)))
      const e = await open(dir).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(WalCorruptError)
      expect((e as WalCorruptError).reason).toContain("no snapshot covers the entries before it")
    })
  })

  it("keeps only the newest snapshots", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      const data = new Uint8Array(0)
      for (let i = 1; i <= 5; i++) {
        await wal.append([{ index: i, term: 1, type: 0, data }])
        await wal.saveSnapshot({ index: i, term: 1, data: bytes(i) })
      }
      const snaps = (await fsp.readdir(dir)).filter((n) => n.endsWith(".snap")).sort()
      expect(snaps).toEqual([snapshotFileName(4, 1), snapshotFileName(5, 1)])
      await wal.close()
    })
  })
})
