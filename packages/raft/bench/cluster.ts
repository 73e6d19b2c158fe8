// Three member processes on 127.0.0.1: RaftNode over TCP with fsynced file
// WALs (src/testing/member-main.ts). Proposers run inside the leader's process
// (closed loop, through proposeUnsafe unless BENCH_PROPOSE_API=effect) and
// wait for their entry to be committed and applied there; reported: the
// committed proposals per second and p50/p99 commit latency at 1, 16 and 256
// concurrent proposers with 256-byte entries, and the latency of one
// fdatasync on the same disk for comparison.

import { spawn } from "node:child_process"
import {
  closeSync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs"
import { connect } from "node:net"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { type LoadResult, type MemberProcess, spawnMember } from "../src/testing/processes.ts"
import { ioFloor } from "./io-floor.ts"

const ENTRY_BYTES = 256
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
// BENCH_INLINE_SYNC_BYTES: the WAL's inlineSyncBytes (0: every fdatasync in the thread pool).
const INLINE_SYNC =
  process.env.BENCH_INLINE_SYNC_BYTES === undefined
    ? undefined
    : Number(process.env.BENCH_INLINE_SYNC_BYTES)
// BENCH_PREALLOCATE_BYTES: the WAL's preallocateBytes (0: no zeros written ahead).
const PREALLOCATE =
  process.env.BENCH_PREALLOCATE_BYTES === undefined
    ? undefined
    : Number(process.env.BENCH_PREALLOCATE_BYTES)
// BENCH_PROPOSE_API: how the proposers call the leader: "callback"
// (proposeUnsafe, the default: the store's path, no fiber per proposal) or
// "effect" (RaftNode.propose through an Effect fiber each; about 2 us more
// per commit on the path, measured with a stage tracer).
const API = process.env.BENCH_PROPOSE_API === "effect" ? "effect" : "callback"
// BENCH_PROPOSERS: the rows to run (default "1,16,256").
const PROPOSERS = (process.env.BENCH_PROPOSERS ?? "1,16,256").split(",").map(Number)
const root = mkdtempSync(join(tmpdir(), "raft-bench-cluster-"))

/**
 * p50 of write + fdatasync of one entry, 300 times: appending to a new file,
 * or (`overwrite`) into a file of zeros written and synced first, as the WAL
 * writes into the zeros it keeps ahead of its data (`preallocateBytes`).
 */
const fdatasyncP50 = (overwrite = false): number => {
  const fd = openSync(join(root, "fsync-probe"), "w")
  const buf = Buffer.alloc(ENTRY_BYTES, 1)
  if (overwrite) {
    writeSync(fd, Buffer.alloc(300 * ENTRY_BYTES), 0, 300 * ENTRY_BYTES, 0)
    fdatasyncSync(fd)
  }
  const times: number[] = []
  for (let i = 0; i < 300; i++) {
    writeSync(fd, buf, 0, ENTRY_BYTES, i * ENTRY_BYTES)
    const t0 = performance.now()
    fdatasyncSync(fd)
    times.push(performance.now() - t0)
  }
  closeSync(fd)
  times.sort((a, b) => a - b)
  return times[times.length >> 1]!
}

/**
 * p50 of a loopback TCP round trip between two processes (64 bytes each
 * way, 2,000 times, Nagle off): the other term of the one-proposer goal.
 */
const loopbackRttP50 = async (): Promise<number> => {
  const echo = spawn(
    process.execPath,
    [
      "-e",
      `const s = require("node:net").createServer((c) => { c.setNoDelay(true); c.on("data", (d) => c.write(d)) });
       s.listen(0, "127.0.0.1", () => process.stdout.write(String(s.address().port) + "\\n"))`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  )
  try {
    const port = await new Promise<number>((resolve, reject) => {
      echo.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim())))
      echo.once("error", reject)
    })
    const socket = connect({ host: "127.0.0.1", port, noDelay: true })
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()))
    const payload = Buffer.alloc(64, 7)
    const times: number[] = []
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now()
      socket.write(payload)
      let got = 0
      await new Promise<void>((resolve) => {
        const onData = (d: Buffer) => {
          got += d.length
          if (got >= payload.length) {
            socket.off("data", onData)
            resolve()
          }
        }
        socket.on("data", onData)
      })
      times.push(performance.now() - t0)
    }
    socket.destroy()
    times.sort((a, b) => a - b)
    return times[times.length >> 1]!
  } finally {
    echo.kill()
  }
}

/** CPU time (user + system) of a process so far, in seconds. */
const cpuSeconds = (pid: number | undefined): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

const ids = ["n1", "n2", "n3"]
const members: MemberProcess[] = []
try {
  for (const [i, id] of ids.entries())
    members.push(
      await spawnMember({
        id,
        ids,
        dir: join(root, id),
        tickMs: 50,
        seed: i + 1,
        snapshotEvery: 100_000,
        keepValues: false,
        ...(INLINE_SYNC === undefined ? {} : { inlineSyncBytes: INLINE_SYNC }),
        ...(PREALLOCATE === undefined ? {} : { preallocateBytes: PREALLOCATE }),
      }),
    )
  const peers = Object.fromEntries(members.map((m) => [m.id, m.address]))
  for (const m of members) m.peers(peers)
  let leader: MemberProcess | undefined
  for (let i = 0; i < 400 && leader === undefined; i++) {
    const st = await Promise.all(members.map((m) => m.status()))
    const l = st.find((s) => s.role === "Leader")
    leader = l === undefined ? undefined : members.find((m) => m.id === l.id)
    if (leader === undefined) await new Promise((r) => setTimeout(r, 25))
  }
  if (leader === undefined) throw new Error("no leader elected")
  // One fdatasync on the same disk, probed while the cluster idles (twice; the lower counts).
  const fsync = Math.min(fdatasyncP50(), fdatasyncP50())
  const fsyncOverwrite = Math.min(fdatasyncP50(true), fdatasyncP50(true))
  // Warm up the JIT and the connections.
  await leader.load(16, 1000, ENTRY_BYTES, API)
  const rows: { concurrency: number; r: LoadResult; cpu: number }[] = []
  const membersCpu = () => members.reduce((n, m) => n + cpuSeconds(m.child.pid), 0)
  for (const concurrency of PROPOSERS) {
    const c0 = membersCpu()
    const t0 = performance.now()
    const r = await leader.load(concurrency, SECONDS * 1000, ENTRY_BYTES, API)
    // The three members' CPU, in percent of one core (the load runs in the leader).
    const cpu = ((membersCpu() - c0) / ((performance.now() - t0) / 1000)) * 100
    rows.push({ concurrency, r, cpu })
  }
  // Again after the rows: the disk is shared and its latency drifts.
  const fsyncAfter = fdatasyncP50()
  const rtt = await loopbackRttP50()
  // The one-proposer row's I/O alone (sockets, write + fdatasync), no Raft: its floor in Node.
  const floor = PROPOSERS.includes(1)
    ? await ioFloor({ dir: root, recordBytes: ENTRY_BYTES, records: 3000, warmup: 500 })
    : undefined
  console.log(
    `3 member processes on 127.0.0.1, TCP, fsynced file WALs, ${ENTRY_BYTES}-byte entries, ${SECONDS} s per row, proposers call ${API === "callback" ? "proposeUnsafe" : "propose (Effect)"}`,
  )
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, node ${process.version}; one fdatasync: p50 ${fsync.toFixed(3)} ms before the rows, ${fsyncAfter.toFixed(3)} ms after (into preallocated zeros: ${fsyncOverwrite.toFixed(3)} ms)`,
  )
  console.log(
    `${"proposers".padEnd(10)} ${"committed/s".padEnd(12)} ${"p50 ms".padEnd(8)} ${"p99 ms".padEnd(8)} ${"CPU".padEnd(6)} ${"CPU us/entry".padEnd(13)} failures`,
  )
  for (const { concurrency, r, cpu } of rows)
    console.log(
      `${String(concurrency).padEnd(10)} ${Math.round(r.perSecond).toLocaleString("en-US").padEnd(12)} ${r.p50.toFixed(3).padEnd(8)} ${r.p99.toFixed(3).padEnd(8)} ${`${cpu.toFixed(0)}%`.padEnd(6)} ${((cpu * 10_000) / r.perSecond).toFixed(1).padEnd(13)} ${r.failures}`,
    )
  if (floor !== undefined)
    console.log(
      `the same I/O without Raft (send to 2 follower processes, each write + fdatasync + ack; own write + fdatasync; wait for 1 ack): p50 ${floor.p50.toFixed(3)} ms, p99 ${floor.p99.toFixed(3)} ms`,
    )
  const figures: Record<string, number> = {
    fdatasync_p50_ms: Number(fsync.toFixed(3)),
    fdatasync_after_p50_ms: Number(fsyncAfter.toFixed(3)),
    fdatasync_preallocated_p50_ms: Number(fsyncOverwrite.toFixed(3)),
  }
  for (const { concurrency, r, cpu } of rows) {
    figures[`c${concurrency}_cpu_percent`] = Math.round(cpu)
    figures[`c${concurrency}_committed_per_sec`] = Math.round(r.perSecond)
    figures[`c${concurrency}_p50_ms`] = Number(r.p50.toFixed(3))
    figures[`c${concurrency}_p99_ms`] = Number(r.p99.toFixed(3))
  }
  // Issue 3's goals: >= 50,000 committed/s with 256 proposers; with one, a
  // p50 within 1.5x of one fdatasync (the lower of the two probes of an
  // appending write) plus a loopback round trip.
  const one = rows.find((r) => r.concurrency === 1)
  const many = rows.find((r) => r.concurrency === 256)
  const oneTarget = 1.5 * (Math.min(fsync, fsyncAfter) + rtt)
  figures.loopback_rtt_p50_ms = Number(rtt.toFixed(3))
  if (floor !== undefined) {
    figures.io_floor_p50_ms = Number(floor.p50.toFixed(3))
    figures.io_floor_p99_ms = Number(floor.p99.toFixed(3))
  }
  // The target as written assumes a commit costs one fdatasync; on this
  // machine the three members share one virtual disk, and the same I/O with
  // no Raft at all (io-floor.ts) often misses that target by itself. So the
  // bench also reports the goal against that measured floor, and whether the
  // floor itself met the written target in this run.
  const goals = {
    c256AtLeast50k: many === undefined ? null : many.r.perSecond >= 50_000,
    c1P50Within1_5xFsyncPlusRtt: one === undefined ? null : one.r.p50 <= oneTarget,
    c1P50Within1_5xIoFloor:
      one === undefined || floor === undefined ? null : one.r.p50 <= 1.5 * floor.p50,
    ioFloorP50Within1_5xFsyncPlusRtt: floor === undefined ? null : floor.p50 <= oneTarget,
  }
  console.log(
    `goals: 256 proposers >= 50,000/s: ${many === undefined ? "not run" : many.r.perSecond >= 50_000 ? "yes" : "no"}; 1 proposer p50 <= 1.5 x (fdatasync ${Math.min(fsync, fsyncAfter).toFixed(3)} + loopback RTT ${rtt.toFixed(3)}) = ${oneTarget.toFixed(3)} ms: ${one === undefined ? "not run" : `${one.r.p50 <= oneTarget ? "yes" : "no"} (${one.r.p50.toFixed(3)}; ${floor === undefined ? "" : `${(one.r.p50 / floor.p50).toFixed(2)} x the same I/O without Raft`})`}`,
  )
  if (one !== undefined && floor !== undefined)
    console.log(
      `1 proposer p50 <= 1.5 x the same I/O without Raft (${(1.5 * floor.p50).toFixed(3)} ms): ${goals.c1P50Within1_5xIoFloor ? "yes" : "no"}; that I/O alone within the written target: ${goals.ioFloorP50Within1_5xFsyncPlusRtt ? "yes" : "no"} (${floor.p50.toFixed(3)} ms)`,
    )
  console.log(
    JSON.stringify({
      bench: "raft-cluster",
      entryBytes: ENTRY_BYTES,
      proposeApi: API,
      ...figures,
      goals,
    }),
  )
} finally {
  // Asked to exit (a member profile, RAFT_MEMBER_PROFILE, is written then); killed if it hangs.
  await Promise.all(
    members.map((m) =>
      Promise.race([m.exit(), new Promise((r) => setTimeout(r, 5000))]).then(() => m.kill()),
    ),
  )
  rmSync(root, { recursive: true, force: true })
}
