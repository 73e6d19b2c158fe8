// WAL benchmark: the latency of one fdatasync on this disk, then appends/s and
// per-append latency (p50/p99) with 1, 16 and 256 concurrent appenders of
// 256-byte entries, each appender awaiting its append before issuing the next.
// Prints a table and ends with one JSON line of the figures.
//
//   npm run bench -w @flotilla/raft        (or: tsx --conditions=@flotilla/source bench/wal.ts)
//   WAL_BENCH_SECONDS=2 WAL_BENCH_DIR=/path  to change the duration or the disk

import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { FileWal } from "../src/wal/index.ts"

const SECONDS = Number(process.env.WAL_BENCH_SECONDS ?? 3)
const BASE = process.env.WAL_BENCH_DIR ?? os.tmpdir()
const RECORD_BYTES = 256

const quantile = (sorted: Float64Array, q: number): number =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

const fdatasync = (fd: number) =>
  new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())))

const summary = (samples: ReadonlyArray<number>) => {
  const sorted = Float64Array.from(samples).sort()
  return {
    samples: samples.length,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    meanMs: samples.reduce((a, b) => a + b, 0) / samples.length,
  }
}

/**
 * write(256 bytes) + fdatasync on an appended file (the way a WAL append hits
 * the disk), in the thread pool (fs.fdatasync) and on the calling thread
 * (fdatasyncSync), alternated with single WAL appends synced inline (the
 * default for small batches) and in the thread pool (`inlineSyncBytes: 0`),
 * so that all four see the same disk: this disk is shared and its latency
 * drifts from second to second.
 */
const measureFdatasyncAndOneAppender = async (dir: string) => {
  const fd = fs.openSync(path.join(dir, "fdatasync.bin"), "w")
  const inline = (await FileWal.open({ dir: path.join(dir, "wal-1") })).wal
  const pool = (await FileWal.open({ dir: path.join(dir, "wal-1-pool"), inlineSyncBytes: 0 })).wal
  const buf = Buffer.alloc(RECORD_BYTES, 7)
  const data = new Uint8Array(RECORD_BYTES).fill(42)
  const raw: number[] = []
  const rawSync: number[] = []
  const appends: number[] = []
  const poolAppends: number[] = []
  const until = performance.now() + SECONDS * 1000
  let pos = 0
  while (performance.now() < until || raw.length < 100) {
    let t0 = performance.now()
    fs.writeSync(fd, buf, 0, buf.length, pos)
    await fdatasync(fd)
    raw.push(performance.now() - t0)
    pos += buf.length
    t0 = performance.now()
    fs.writeSync(fd, buf, 0, buf.length, pos)
    fs.fdatasyncSync(fd)
    rawSync.push(performance.now() - t0)
    pos += buf.length
    t0 = performance.now()
    await inline.append([{ index: inline.lastIndex + 1, term: 1, type: 0, data }])
    appends.push(performance.now() - t0)
    t0 = performance.now()
    await pool.append([{ index: pool.lastIndex + 1, term: 1, type: 0, data }])
    poolAppends.push(performance.now() - t0)
  }
  fs.closeSync(fd)
  await inline.close()
  await pool.close()
  return {
    fdatasync: summary(raw),
    fdatasyncSync: summary(rawSync),
    oneAppender: summary(appends),
    oneAppenderPool: summary(poolAppends),
  }
}

const measureAppends = async (dir: string, appenders: number) => {
  const { wal } = await FileWal.open({ dir: path.join(dir, `wal-${appenders}`) })
  const data = new Uint8Array(RECORD_BYTES).fill(42)
  const latencies: number[] = []
  let stop = false
  const appender = async () => {
    while (!stop) {
      const t0 = performance.now()
      // The index is taken synchronously: appends are ordered by call.
      await wal.append([{ index: wal.lastIndex + 1, term: 1, type: 0, data }])
      latencies.push(performance.now() - t0)
    }
  }
  const batchesBefore = wal.stats().batches
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  const timer = setTimeout(() => {
    stop = true
  }, SECONDS * 1000)
  await Promise.all(Array.from({ length: appenders }, appender))
  clearTimeout(timer)
  const elapsed = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const batches = wal.stats().batches - batchesBefore
  await wal.close()
  const sorted = Float64Array.from(latencies).sort()
  return {
    appenders,
    appends: latencies.length,
    appendsPerSec: latencies.length / elapsed,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    batches,
    entriesPerBatch: latencies.length / batches,
    /** CPU time (user + system) of this process per append. */
    cpuUsPerAppend: (cpu.user + cpu.system) / latencies.length,
  }
}

const main = async () => {
  const dir = await fsp.mkdtemp(path.join(BASE, "flotilla-wal-bench-"))
  try {
    const paired = await measureFdatasyncAndOneAppender(dir)
    const sync = paired.fdatasync
    const runs = []
    for (const n of [1, 16, 256]) runs.push(await measureAppends(dir, n))

    const cpu = os.cpus()[0]?.model ?? "unknown"
    console.log(`WAL benchmark: ${RECORD_BYTES}-byte entries, ${SECONDS}s per row, dir ${dir}`)
    console.log(`machine: ${os.cpus().length} x ${cpu}, node ${process.version}`)
    console.log()
    console.log(
      `fdatasync (write ${RECORD_BYTES} B + fdatasync): p50 ${sync.p50Ms.toFixed(3)} ms, p99 ${sync.p99Ms.toFixed(3)} ms, mean ${sync.meanMs.toFixed(3)} ms (${sync.samples} samples)`,
    )
    const ss = paired.fdatasyncSync
    console.log(
      `fdatasyncSync (same, on the calling thread): p50 ${ss.p50Ms.toFixed(3)} ms, p99 ${ss.p99Ms.toFixed(3)} ms, mean ${ss.meanMs.toFixed(3)} ms`,
    )
    for (const [label, a] of [
      ["synced inline (default)", paired.oneAppender],
      ["synced in the thread pool (inlineSyncBytes 0)", paired.oneAppenderPool],
    ] as const)
      console.log(
        `1 appender, ${label}, alternated with those: p50 ${a.p50Ms.toFixed(3)} ms (${(a.p50Ms / sync.p50Ms).toFixed(2)}x the fdatasync), p99 ${a.p99Ms.toFixed(3)} ms, mean ${a.meanMs.toFixed(3)} ms`,
      )
    console.log()
    const header = [
      "appenders",
      "appends/s",
      "p50 ms",
      "p99 ms",
      "entries/fdatasync",
      "CPU us/append",
    ]
    const rows = runs.map((r) => [
      String(r.appenders),
      r.appendsPerSec.toFixed(0),
      r.p50Ms.toFixed(3),
      r.p99Ms.toFixed(3),
      r.entriesPerBatch.toFixed(1),
      r.cpuUsPerAppend.toFixed(1),
    ])
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ")
    console.log(line(header))
    for (const r of rows) console.log(line(r))
    console.log(
      JSON.stringify({
        bench: "raft-wal",
        recordBytes: RECORD_BYTES,
        seconds: SECONDS,
        fdatasync: { p50Ms: sync.p50Ms, p99Ms: sync.p99Ms, meanMs: sync.meanMs },
        fdatasyncSync: {
          p50Ms: paired.fdatasyncSync.p50Ms,
          p99Ms: paired.fdatasyncSync.p99Ms,
          meanMs: paired.fdatasyncSync.meanMs,
        },
        oneAppenderAlternated: {
          p50Ms: paired.oneAppender.p50Ms,
          p99Ms: paired.oneAppender.p99Ms,
          meanMs: paired.oneAppender.meanMs,
          p50OverFdatasync: paired.oneAppender.p50Ms / sync.p50Ms,
        },
        oneAppenderThreadPoolAlternated: {
          p50Ms: paired.oneAppenderPool.p50Ms,
          p99Ms: paired.oneAppenderPool.p99Ms,
          meanMs: paired.oneAppenderPool.meanMs,
          p50OverFdatasync: paired.oneAppenderPool.p50Ms / sync.p50Ms,
        },
        appends: runs.map((r) => ({
          appenders: r.appenders,
          appendsPerSec: Math.round(r.appendsPerSec),
          p50Ms: r.p50Ms,
          p99Ms: r.p99Ms,
          entriesPerBatch: r.entriesPerBatch,
          cpuUsPerAppend: r.cpuUsPerAppend,
        })),
      }),
    )
  } finally {
    await fsp.rm(dir, { recursive: true, force: true })
  }
}

await main()
