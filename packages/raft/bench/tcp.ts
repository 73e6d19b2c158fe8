// TCP transport benchmark over 127.0.0.1 (both ends in this process, so the
// CPU figure covers sender and receiver together):
// - round trip of a Heartbeat / HeartbeatResponse, one at a time: p50/p99;
// - AppendEntries of 64 x 256-byte entries with up to 32 unacknowledged,
//   each answered by an AppendEntriesResponse: entries/s, MB/s, CPU per entry.
// Prints a table and ends with one JSON line of the figures.
//
//   tsx --conditions=@flotilla/source bench/tcp.ts   (TCP_BENCH_SECONDS=2 to change the duration)

import * as os from "node:os"
import type { AppendEntries, Entry, Message } from "../src/core/types.ts"
import { TcpTransport } from "../src/transport/tcp.ts"

const SECONDS = Number(process.env.TCP_BENCH_SECONDS ?? 3)
const ENTRIES_PER_MESSAGE = 64
const ENTRY_BYTES = 256
const WINDOW = 32

const quantile = (sorted: Float64Array, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

const main = async () => {
  let onLeader: (m: Message) => void = () => undefined
  let onFollower: (m: Message) => void = () => undefined
  const leader = await TcpTransport.listen({ id: "n1", port: 0 }, { onMessage: (m) => onLeader(m) })
  const follower = await TcpTransport.listen(
    { id: "n2", port: 0 },
    { onMessage: (m) => onFollower(m) },
  )
  leader.setPeer("n2", follower.address())
  follower.setPeer("n1", leader.address())

  // Round trips.
  onFollower = (m) => {
    if (m.type === "Heartbeat")
      follower.send({
        type: "HeartbeatResponse",
        from: "n2",
        to: "n1",
        term: m.term,
        readContext: m.readContext,
      })
  }
  const rtts: number[] = []
  {
    const until = performance.now() + SECONDS * 1000
    let i = 0
    while (performance.now() < until || rtts.length < 100) {
      const t0 = performance.now()
      await new Promise<void>((resolve) => {
        onLeader = () => resolve()
        leader.send({
          type: "Heartbeat",
          from: "n1",
          to: "n2",
          term: 1,
          leaderCommit: i,
          readContext: i,
        })
      })
      rtts.push(performance.now() - t0)
      i++
    }
  }
  const rttSorted = Float64Array.from(rtts).sort()

  // Replication throughput.
  const data = new Uint8Array(ENTRY_BYTES).fill(7)
  let next = 1
  const makeAppend = (): AppendEntries => {
    const entries: Entry[] = []
    for (let k = 0; k < ENTRIES_PER_MESSAGE; k++)
      entries.push({ type: "Normal", index: next + k, term: 1, data })
    const m: AppendEntries = {
      type: "AppendEntries",
      from: "n1",
      to: "n2",
      term: 1,
      prevLogIndex: next - 1,
      prevLogTerm: 1,
      entries,
      leaderCommit: next - 1,
    }
    next += ENTRIES_PER_MESSAGE
    return m
  }
  onFollower = (m) => {
    if (m.type !== "AppendEntries") return
    const last = m.entries[m.entries.length - 1]!.index
    follower.send({
      type: "AppendEntriesResponse",
      from: "n2",
      to: "n1",
      term: 1,
      success: true,
      matchIndex: last,
      prevLogIndex: m.prevLogIndex,
      conflictIndex: 0,
      conflictTerm: 0,
    })
  }
  let acked = 0
  let inFlight = 0
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  const stopAt = started + SECONDS * 1000
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (inFlight < WINDOW && performance.now() < stopAt) {
        leader.send(makeAppend())
        inFlight++
      }
      if (inFlight === 0) resolve()
    }
    onLeader = (m) => {
      if (m.type !== "AppendEntriesResponse") return
      acked += ENTRIES_PER_MESSAGE
      inFlight--
      pump()
    }
    pump()
  })
  const elapsed = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const entriesPerSec = acked / elapsed
  const stats = leader.stats()
  await leader.close()
  await follower.close()

  const figures = {
    bench: "raft-tcp",
    seconds: SECONDS,
    roundTrip: {
      p50Ms: quantile(rttSorted, 0.5),
      p99Ms: quantile(rttSorted, 0.99),
      samples: rtts.length,
    },
    replication: {
      entriesPerMessage: ENTRIES_PER_MESSAGE,
      entryBytes: ENTRY_BYTES,
      window: WINDOW,
      entriesPerSec: Math.round(entriesPerSec),
      megabytesPerSec: (entriesPerSec * ENTRY_BYTES) / 1e6,
      cpuUsPerEntry: (cpu.user + cpu.system) / acked,
      messagesPerFrame: stats.messagesSent / stats.framesSent,
    },
  }
  console.log(`TCP transport benchmark on 127.0.0.1, ${SECONDS}s per row, both ends in one process`)
  console.log(
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "unknown"}, node ${process.version}`,
  )
  console.log()
  console.log(
    `round trip (Heartbeat -> HeartbeatResponse): p50 ${figures.roundTrip.p50Ms.toFixed(3)} ms, p99 ${figures.roundTrip.p99Ms.toFixed(3)} ms (${rtts.length} samples)`,
  )
  console.log(
    `replication (${ENTRIES_PER_MESSAGE} x ${ENTRY_BYTES} B per AppendEntries, window ${WINDOW}): ${figures.replication.entriesPerSec} entries/s, ${figures.replication.megabytesPerSec.toFixed(1)} MB/s, ${figures.replication.cpuUsPerEntry.toFixed(2)} us CPU/entry, ${figures.replication.messagesPerFrame.toFixed(1)} messages/frame`,
  )
  console.log(JSON.stringify(figures))
}

await main()
