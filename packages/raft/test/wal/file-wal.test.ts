import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  WalClosedError,
  WalCorruptError,
  WalInputError,
  WalIoError,
  WalLockedError,
} from "../../src/wal/errors.ts"
import { FileWal, segmentFileName, type WalRecovery } from "../../src/wal/file-wal.ts"
import { type HardState, scanSegment, type WalEntry } from "../../src/wal/format.ts"
import { Model, type Op, opArb, runOp, withTempDir } from "./helpers.ts"

const SEGMENT = 1024

const open = (
  dir: string,
  segmentBytes = SEGMENT,
  inlineSyncBytes?: number,
  preallocateBytes?: number,
) =>
  FileWal.open({
    dir,
    segmentBytes,
    ...(inlineSyncBytes === undefined ? {} : { inlineSyncBytes }),
    ...(preallocateBytes === undefined ? {} : { preallocateBytes }),
  })

/** Every batch synced in the thread pool, every one inline, a mix, or the default. */
const inlineArb = fc.constantFrom<number | undefined>(0, 2 ** 31, 300, undefined)
/** No zeros written ahead, small runs of them, or the default (capped at the segment size). */
const preallocateArb = fc.constantFrom<number | undefined>(0, 100, 256, undefined)

const expectRecovered = (recovery: WalRecovery, model: Model, snapshotIndex = 0) => {
  expect(recovery.entries).toEqual(model.live(snapshotIndex))
  expect(recovery.lastIndex).toBe(Math.max(model.last, snapshotIndex))
  expect(recovery.hardState).toEqual(model.hardState)
}

/** The WAL's `save` made through `persistCallback` (a Raft node's path), as a promise. */
const viaCallback = (wal: FileWal) => ({
  save: (hardState: HardState | undefined, entries: ReadonlyArray<WalEntry>) =>
    new Promise<void>((resolve, reject) =>
      wal.persistCallback({ hardState, entries }, (e) => (e === undefined ? resolve() : reject(e))),
    ),
  truncate: (fromIndex: number) => wal.truncate(fromIndex),
})

const runAll = async (wal: FileWal, model: Model, ops: ReadonlyArray<Op>, callback = false) => {
  for (const op of ops) await runOp(callback ? viaCallback(wal) : wal, model, op)
}

const opsArb = fc.array(opArb, { minLength: 1, maxLength: 30 })

describe("FileWal", () => {
  it("recovers exactly the acknowledged log and hard state, across segments", async () => {
    await fc.assert(
      fc.asyncProperty(
        opsArb,
        opsArb,
        inlineArb,
        preallocateArb,
        fc.boolean(),
        async (first, second, inline, pre, callback) => {
          await withTempDir(async (dir) => {
            const model = new Model()
            let { wal, recovery } = await open(dir, SEGMENT, inline, pre)
            expectRecovered(recovery, model)
            await runAll(wal, model, first, callback)
            await wal.close()
            ;({ wal, recovery } = await open(dir, SEGMENT, inline, pre))
            expectRecovered(recovery, model)
            expect(recovery.tornTail).toBeUndefined()
            // The reopened WAL continues where the old one stopped.
            await runAll(wal, model, second, callback)
            await wal.close()
            ;({ wal, recovery } = await open(dir, SEGMENT, inline, pre))
            expectRecovered(recovery, model)
            await wal.close()
          })
        },
      ),
      { numRuns: 25 },
    )
  })

  it("loses no acknowledged record when a crash tears the write after it", async () => {
    await fc.assert(
      fc.asyncProperty(
        opsArb,
        fc.record({
          back: fc.nat({ max: 2 }),
          count: fc.integer({ min: 1, max: 6 }),
          size: fc.nat({ max: 300 }),
        }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.constantFrom("cut", "zeros", "garbage"),
        preallocateArb,
        fc.boolean(),
        async (ops, last, where, fill, pre, callback) => {
          await withTempDir(async (dir) => {
            const model = new Model()
            const { wal } = await open(dir, SEGMENT, undefined, pre)
            await runAll(wal, model, ops, callback)
            const before = wal.segmentPaths()
            const activeBefore = before.at(-1)!
            const sizeBefore = wal.activeSegment().dataBytes
            // The write the crash interrupts: acknowledged here, torn below.
            const withLast = model.clone()
            await runOp(callback ? viaCallback(wal) : wal, withLast, { op: "append", ...last })
            const after = wal.segmentPaths()
            const dataAfter = wal.activeSegment().dataBytes
            await wal.close()
            // A crash during that write leaves any prefix of its bytes, then
            // nothing, zeros (preallocated space) or stale garbage.
            const target = after.at(-1)!
            const from = target === activeBefore ? sizeBefore : 0
            const full = await fsp.readFile(target)
            const cut = from + Math.floor(where * (full.length - from))
            const torn = Buffer.from(full.subarray(0, cut))
            const pad = full.length - cut
            const tail =
              fill === "cut"
                ? Buffer.alloc(0)
                : fill === "zeros"
                  ? Buffer.alloc(pad)
                  : Buffer.from(Array.from({ length: pad }, (_, i) => (i * 97 + 13) & 0xff))
            const crashed = Buffer.concat([torn, tail])
            await fsp.writeFile(target, crashed)
            // Zeros or garbage may happen to restore every byte of the write,
            // and a cut in the zeros written ahead of the data loses none of it.
            const survived =
              crashed.length >= dataAfter &&
              crashed.subarray(0, dataAfter).equals(full.subarray(0, dataAfter))

            const reopened = await open(dir)
            const expected = survived ? withLast : model
            expectRecovered(reopened.recovery, expected)
            // The torn segment is gone if nothing of it was durable.
            if (target !== activeBefore && !survived)
              expect(reopened.wal.segmentPaths()).toEqual(before)
            model.entries = expected.entries
            model.last = expected.last
            // Appending after the repair and reopening again still works.
            await runOp(reopened.wal, model, { op: "append", back: 0, count: 2, size: 10 })
            await reopened.wal.close()
            const again = await open(dir)
            expectRecovered(again.recovery, model)
            expect(again.recovery.tornTail).toBeUndefined()
            await again.wal.close()
          })
        },
      ),
      { numRuns: 40 },
    )
  })

  it("refuses a corrupt byte in acknowledged data, except in the last batch where it is a torn write", async () => {
    await fc.assert(
      fc.asyncProperty(
        opsArb,
        fc.nat(),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 255 }),
        preallocateArb,
        async (ops, pickFile, where, flip, pre) => {
          await withTempDir(async (dir) => {
            const model = new Model()
            const { wal } = await open(dir, SEGMENT, undefined, pre)
            await runAll(wal, model, ops)
            const beforeLast = model.clone()
            const activeBefore = wal.segmentPaths().at(-1)!
            const sizeBefore = wal.activeSegment().dataBytes
            await runOp(wal, model, { op: "append", back: 0, count: 1, size: 8 })
            const files = wal.segmentPaths()
            const dataEnd = wal.activeSegment().dataBytes
            await wal.close()

            const file = files[pickFile % files.length]!
            const bytes = await fsp.readFile(file)
            const at = Math.floor(where * bytes.length)
            bytes[at]! ^= flip
            await fsp.writeFile(file, bytes)

            const lastFile = files.at(-1)!
            const lastBatchStart = lastFile === activeBefore ? sizeBefore : 0
            const inLastBatch = file === lastFile && at >= lastBatchStart && at < dataEnd
            // After the data: the zeros written ahead, which hold nothing.
            const afterData = file === lastFile && at >= dataEnd
            const result = await open(dir).then(
              (ok) => ok,
              (e: unknown) => e,
            )
            if (afterData) {
              expect(result).not.toBeInstanceOf(Error)
              const ok = result as Awaited<ReturnType<typeof open>>
              expectRecovered(ok.recovery, model)
              expect(ok.recovery.tornTail).toBeDefined()
              await ok.wal.close()
            } else if (inLastBatch) {
              expect(result).not.toBeInstanceOf(Error)
              const ok = result as Awaited<ReturnType<typeof open>>
              expectRecovered(ok.recovery, beforeLast)
              expect(ok.recovery.tornTail).toBeDefined()
              await ok.wal.close()
            } else {
              expect(result).toBeInstanceOf(WalCorruptError)
              const e = result as WalCorruptError
              expect(e.file).toBe(file)
              expect(e.offset).toBeLessThanOrEqual(at)
              expect(e.message).toContain(file)
            }
          })
        },
      ),
      { numRuns: 60 },
    )
  })

  it("writes zeros ahead of the data, keeps them across a reopen and gives them back at a segment's end", async () => {
    await withTempDir(async (dir) => {
      const segmentBytes = 16 * 1024
      const { wal } = await FileWal.open({ dir, segmentBytes, preallocateBytes: 4096 })
      const data = new Uint8Array(100).fill(7)
      let index = 0
      await wal.append([{ index: ++index, term: 1, type: 0, data }])
      const first = wal.activeSegment()
      // Zeros at least a quarter chunk ahead, and never past the segment's target.
      expect(first.fileBytes).toBeGreaterThanOrEqual(first.dataBytes + 1024)
      expect(first.fileBytes).toBeLessThanOrEqual(segmentBytes)
      const bytes = await fsp.readFile(first.path)
      expect(bytes.length).toBe(first.fileBytes)
      expect(bytes.subarray(first.dataBytes).every((b) => b === 0)).toBe(true)
      // Appends overwrite the zeros; the file grows only a chunk at a time.
      const sizes = new Set<number>()
      for (let i = 0; i < 20; i++) {
        await wal.append([{ index: ++index, term: 1, type: 0, data }])
        sizes.add(wal.activeSegment().fileBytes)
      }
      expect(sizes.size).toBeLessThan(5)
      const before = wal.activeSegment()
      await wal.close()
      // A reopen keeps the zeros as space to write into (no torn tail reported).
      const again = await FileWal.open({ dir, segmentBytes, preallocateBytes: 4096 })
      expect(again.recovery.tornTail).toBeUndefined()
      expect(again.recovery.lastIndex).toBe(index)
      expect(again.wal.activeSegment()).toEqual(before)
      // Fill past the segment: the finished segment ends at its data.
      while (again.wal.segmentPaths().length === 1)
        await again.wal.append([{ index: ++index, term: 1, type: 0, data }])
      const finished = await fsp.readFile(again.wal.segmentPaths()[0]!)
      expect(scanSegment(new Uint8Array(finished), false)).toMatchObject({
        _tag: "Ok",
        validLength: finished.length,
      })
      await again.wal.close()
      const last = await FileWal.open({ dir, segmentBytes, preallocateBytes: 4096 })
      expect(last.recovery.lastIndex).toBe(index)
      expect(last.recovery.entries.every((e) => e.data.every((b) => b === 7))).toBe(true)
      await last.wal.close()
    })
  })

  it("with preallocateBytes 0 the file ends at its data", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await FileWal.open({ dir, preallocateBytes: 0 })
      for (let i = 1; i <= 5; i++)
        await wal.append([{ index: i, term: 1, type: 0, data: new Uint8Array(300) }])
      const active = wal.activeSegment()
      expect(active.fileBytes).toBe(active.dataBytes)
      expect((await fsp.stat(active.path)).size).toBe(active.dataBytes)
      await wal.close()
    })
  })

  it("continues after the data of the previous segment when the newest one was left empty by a crash", async () => {
    await withTempDir(async (dir) => {
      const model = new Model()
      const { wal } = await open(dir, 64 * 1024, undefined, 8192)
      await runOp(wal, model, { op: "append", back: 0, count: 3, size: 50 })
      const active = wal.activeSegment()
      expect(active.fileBytes).toBeGreaterThan(active.dataBytes)
      await wal.close()
      // A crash while the next segment was being created: the file exists, empty.
      const next = path.join(dir, segmentFileName(2, model.last + 1))
      await fsp.writeFile(next, new Uint8Array(0))
      const reopened = await open(dir, 64 * 1024, undefined, 8192)
      expectRecovered(reopened.recovery, model)
      expect(reopened.wal.segmentPaths()).toEqual([active.path])
      // Writes go right after the data, not after the zeros.
      expect(reopened.wal.activeSegment().dataBytes).toBe(active.dataBytes)
      await runOp(reopened.wal, model, { op: "append", back: 0, count: 2, size: 10 })
      await reopened.wal.close()
      const again = await open(dir, 64 * 1024, undefined, 8192)
      expectRecovered(again.recovery, model)
      expect(again.recovery.tornTail).toBeUndefined()
      await again.wal.close()
    })
  })

  it.each([
    ["the default", undefined],
    ["inline", 2 ** 31],
    ["in the thread pool", 0],
  ])("shares one fdatasync among concurrent appends (synced %s)", async (_, inlineSyncBytes) => {
    await withTempDir(async (dir) => {
      const { wal } = await FileWal.open({
        dir,
        ...(inlineSyncBytes === undefined ? {} : { inlineSyncBytes }),
      })
      const base = wal.stats().batches
      const data = new Uint8Array(256)
      await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          wal.append([{ index: i + 1, term: 1, type: 0, data }]),
        ),
      )
      expect(wal.stats().batches).toBe(base + 1)
      for (let i = 65; i <= 67; i++) await wal.append([{ index: i, term: 1, type: 0, data }])
      expect(wal.stats().batches).toBe(base + 4)
      // A barrier with nothing pending costs nothing.
      await wal.sync()
      expect(wal.stats().batches).toBe(base + 4)
      await wal.close()
    })
  })

  it("persistCallback: one fdatasync per turn's calls, done in call order, refusals told at once", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir, 64 * 1024)
      const base = wal.stats().batches
      const data = new Uint8Array(64)
      const order: number[] = []
      const all = new Promise<void>((resolve, reject) => {
        for (let i = 1; i <= 8; i++)
          wal.persistCallback(
            {
              entries: [{ index: i, term: 1, type: 0, data }],
              hardState: { term: 1, vote: "n1", commit: i - 1 },
            },
            (e) => {
              if (e !== undefined) reject(e)
              order.push(i)
              // Durable when told: the WAL counts it as such.
              expect(wal.durableIndex).toBe(8)
              if (i === 8) resolve()
            },
          )
      })
      await all
      expect(order).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      expect(wal.stats().batches).toBe(base + 1)
      // A call the WAL refuses is told before persistCallback returns, and changes nothing.
      let refused: unknown
      wal.persistCallback({ entries: [{ index: 10, term: 1, type: 0, data }] }, (e) => {
        refused = e
      })
      expect(refused).toBeInstanceOf(WalInputError)
      expect((refused as WalInputError).field).toBe("entries[0].index")
      expect(wal.lastIndex).toBe(8)
      // Nothing to write: done at once (everything accepted is durable).
      let barrier: unknown = "not called"
      wal.persistCallback({}, (e) => {
        barrier = e
      })
      expect(barrier).toBeUndefined()
      // A callback that persists again gets a batch of its own, after the first.
      const nested = await new Promise<number[]>((resolve) => {
        const seen: number[] = []
        wal.persistCallback({ entries: [{ index: 9, term: 1, type: 0, data }] }, () => {
          seen.push(9)
          wal.persistCallback({ entries: [{ index: 10, term: 1, type: 0, data }] }, () => {
            seen.push(10)
            resolve(seen)
          })
        })
      })
      expect(nested).toEqual([9, 10])
      expect(wal.stats().batches).toBe(base + 3)
      await wal.close()
      let closed: unknown
      wal.persistCallback({ entries: [{ index: 11, term: 1, type: 0, data }] }, (e) => {
        closed = e
      })
      expect(closed).toBeInstanceOf(WalClosedError)
      const reopened = await open(dir, 64 * 1024)
      expect(reopened.recovery.lastIndex).toBe(10)
      expect(reopened.recovery.hardState).toEqual({ term: 1, vote: "n1", commit: 7 })
      await reopened.wal.close()
    })
  })

  it("flushNow writes the pending batch at once; the flush it replaces writes nothing", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir, 64 * 1024)
      const base = wal.stats().batches
      const data = new Uint8Array(32)
      const told: number[] = []
      for (let i = 1; i <= 3; i++)
        wal.persistCallback({ entries: [{ index: i, term: 1, type: 0, data }] }, (e) => {
          expect(e).toBeUndefined()
          told.push(i)
        })
      expect(told).toEqual([])
      wal.flushNow()
      // Small: written and synced inline, the callbacks told before flushNow returned.
      expect(told).toEqual([1, 2, 3])
      expect(wal.durableIndex).toBe(3)
      expect(wal.stats().batches).toBe(base + 1)
      // Nothing pending: a no-op, and the microtask flush queued first finds nothing.
      wal.flushNow()
      await wal.sync()
      expect(wal.stats().batches).toBe(base + 1)
      // A batch above inlineSyncBytes syncs in the thread pool: written now, told later.
      const big = new Uint8Array(4096)
      const later = new Promise<void>((resolve, reject) =>
        wal.persistCallback({ entries: [{ index: 4, term: 1, type: 0, data: big }] }, (e) =>
          e === undefined ? resolve() : reject(e),
        ),
      )
      wal.flushNow()
      expect(wal.durableIndex).toBe(3)
      await later
      expect(wal.durableIndex).toBe(4)
      expect(wal.stats().batches).toBe(base + 2)
      await wal.close()
      const reopened = await open(dir, 64 * 1024)
      expect(reopened.recovery.lastIndex).toBe(4)
      await reopened.wal.close()
    })
  })

  it("rejects bad input with the field and the reason, and stays usable", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      const data = new Uint8Array(1)
      await wal.append([{ index: 1, term: 1, type: 0, data }])
      await wal.setHardState({ term: 2, vote: "n1", commit: 1 })
      const cases: Array<[Promise<void>, string, string]> = [
        [
          wal.append([{ index: 3, term: 1, type: 0, data }]),
          "entries[0].index",
          "leaves a gap after the last index 1",
        ],
        [
          wal.append([
            { index: 2, term: 1, type: 0, data },
            { index: 4, term: 1, type: 0, data },
          ]),
          "entries[1].index",
          "expected 3",
        ],
        [wal.append([{ index: 2, term: 1, type: 256, data }]), "entries[0].type", "0..255"],
        [wal.append([{ index: 2, term: -1, type: 0, data }]), "entries[0].term", "non-negative"],
        [wal.setHardState({ term: 1, vote: null, commit: 0 }), "hardState.term", "never decrease"],
        [
          wal.setHardState({ term: 2, vote: "n2", commit: 0 }),
          "hardState.vote",
          "already voted for n1 in term 2",
        ],
        [wal.truncate(0), "fromIndex", "positive"],
        [wal.compact(1), "index", "past the newest durable snapshot"],
        [wal.saveSnapshot({ index: -1, term: 1, data }), "snapshot.index", "non-negative"],
      ]
      for (const [call, field, reason] of cases) {
        const e = await call.then(
          () => undefined,
          (x: unknown) => x,
        )
        expect(e).toBeInstanceOf(WalInputError)
        expect((e as WalInputError).field).toBe(field)
        expect((e as WalInputError).reason).toContain(reason)
      }
      await wal.append([{ index: 2, term: 2, type: 0, data }])
      expect(wal.lastIndex).toBe(2)
      await wal.close()
      const bad = await FileWal.open({ dir, segmentBytes: 12 }).catch((x: unknown) => x)
      expect(bad).toBeInstanceOf(WalInputError)
      expect((bad as WalInputError).message).toContain("segmentBytes")
      const ahead = await FileWal.open({ dir, preallocateBytes: 1.5 }).catch((x: unknown) => x)
      expect(ahead).toBeInstanceOf(WalInputError)
      expect((ahead as WalInputError).message).toContain("preallocateBytes")
      const negative = await FileWal.open({ dir, inlineSyncBytes: -1 }).catch((x: unknown) => x)
      expect(negative).toBeInstanceOf(WalInputError)
      expect((negative as WalInputError).message).toContain("inlineSyncBytes")
    })
  })

  it("refuses every call after a failed write, with the I/O error", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      const data = new Uint8Array(4)
      await wal.append([{ index: 1, term: 1, type: 0, data }])
      // Pull the file out from under it: the next write fails with EBADF.
      const fd = (wal as unknown as { fd: number }).fd
      fs.closeSync(fd)
      const first = await wal
        .append([{ index: 2, term: 1, type: 0, data }])
        .catch((e: unknown) => e)
      expect(first).toBeInstanceOf(WalIoError)
      expect((first as WalIoError).operation).toBe("write")
      const later = await wal
        .setHardState({ term: 1, vote: null, commit: 1 })
        .catch((e: unknown) => e)
      expect(later).toBe(first)
      expect(wal.durableIndex).toBe(1)
    })
  })

  it("locks its directory against a second opener and releases it on close", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      const second = await open(dir).catch((x: unknown) => x)
      expect(second).toBeInstanceOf(WalLockedError)
      expect((second as WalLockedError).pid).toBe(process.pid)
      await wal.close()
      // A lock left by a dead process is taken over.
      await fsp.writeFile(path.join(dir, "LOCK"), "2147483646\n")
      const third = await open(dir)
      await third.wal.close()
    })
  })

  it("takes over a lock whose pid now belongs to another process, not one its holder still has", async () => {
    await withTempDir(async (dir) => {
      const lock = path.join(dir, "LOCK")
      const { wal } = await open(dir)
      // What it wrote: our pid and when we started.
      const [pid, started] = (await fsp.readFile(lock, "utf8")).trim().split(" ")
      expect(pid).toBe(String(process.pid))
      expect(started).toMatch(/^\d+$/)
      await wal.close()
      // A live pid (ours) with another start time: a dead holder whose pid was reused.
      await fsp.writeFile(lock, `${process.pid} ${Number(started) + 1}\n`)
      const reused = await open(dir)
      await reused.wal.close()
      // The same pid and start time: the holder is alive.
      await fsp.writeFile(lock, `${process.pid} ${started}\n`)
      expect(await open(dir).catch((x: unknown) => x)).toBeInstanceOf(WalLockedError)
      // A lock of an older version (pid only) is trusted on its pid.
      await fsp.writeFile(lock, `${process.pid}\n`)
      expect(await open(dir).catch((x: unknown) => x)).toBeInstanceOf(WalLockedError)
    })
  })

  it("creates missing parent directories, and fails at once where they cannot be made", async () => {
    await withTempDir(async (dir) => {
      const nested = path.join(dir, "a", "b", "wal")
      const { wal } = await open(nested)
      await wal.close()
      expect((await fsp.stat(nested)).isDirectory()).toBe(true)
      // procfs answers ENOENT for any new child: Node's recursive mkdir spins on it forever.
      const e = await open("/proc/flotilla-no-such/wal").catch((x: unknown) => x)
      expect(e).toBeInstanceOf(WalIoError)
      expect((e as WalIoError).operation).toBe("mkdir")
      expect((e as WalIoError).path).toBe("/proc/flotilla-no-such")
    })
  })

  it("refuses a log with a missing segment, naming the file after the gap", async () => {
    await withTempDir(async (dir) => {
      const model = new Model()
      const { wal } = await open(dir)
      for (let i = 0; i < 12; i++)
        await runOp(wal, model, { op: "append", back: 0, count: 2, size: 100 })
      const files = wal.segmentPaths()
      await wal.close()
      expect(files.length).toBeGreaterThanOrEqual(3)
      await fsp.rm(files[1]!)
      const e = await open(dir).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(WalCorruptError)
      expect((e as WalCorruptError).file).toBe(files[2])
      expect((e as WalCorruptError).reason).toContain("missing")
    })
  })
})
