// Core-only throughput: entries committed per second in a 3-node in-memory
// cluster. No I/O: messages go straight into the next node's `step`, writes are
// acknowledged at once (and kept in an in-memory store), the state machine
// counts applied entries and compacts every 50k entries. Measures the cost of
// the pure core and its command handling, nothing else.
//
// Run: npm run bench -w @flotilla/raft   (prints a table, then one JSON line)
import { cpus } from "node:os"
import {
  applyPersist,
  bootstrap,
  type Command,
  createNode,
  type Message,
  type MutableDurable,
  makeConfig,
  mutableDurable,
  type Proposal,
  type RaftState,
  step,
} from "../src/index.ts"

interface Shape {
  readonly name: string
  /** Entries per Propose input. */
  readonly batch: number
  /** Propose inputs issued before messages are delivered (concurrent proposers). */
  readonly window: number
}

const ENTRY_BYTES = 256
const shapes: Shape[] = [
  { name: "1 entry per proposal, 1 in flight", batch: 1, window: 1 },
  { name: "1 entry per proposal, 16 in flight", batch: 1, window: 16 },
  { name: "1 entry per proposal, 256 in flight", batch: 1, window: 256 },
  { name: "64 entries per proposal, 4 in flight", batch: 64, window: 4 },
]

const run = (shape: Shape, total: number) => {
  const ids = ["a", "b", "c"]
  const config = makeConfig(ids)
  const nodes = new Map<string, { s: RaftState; d: MutableDurable }>()
  for (const id of ids) {
    const d = mutableDurable(bootstrap(config))
    nodes.set(id, { s: createNode({ id, maxInflightMsgs: 512 }, { ...d, entries: [] }), d })
  }
  const queue: Message[] = []
  let head = 0
  let applied = 0
  let messages = 0
  const exec = (id: string, cmds: Command[]) => {
    const n = nodes.get(id)!
    for (const c of cmds) {
      switch (c.type) {
        case "Send":
          queue.push(c.message)
          break
        case "Persist":
          applyPersist(n.d, c)
          for (const m of c.after) queue.push(m)
          if (c.ack !== null)
            exec(id, step(n.s, { type: "Persisted", index: c.ack.index, term: c.ack.term }))
          break
        case "Apply":
          if (id === "a") {
            applied += c.entries.length
            const s = n.s
            if (s.appliedIndex - s.snapshot.index > 50_000)
              exec(id, step(s, { type: "Compact", index: s.appliedIndex, data: new Uint8Array(8) }))
          } else if (n.s.appliedIndex - n.s.snapshot.index > 50_000) {
            exec(
              id,
              step(n.s, { type: "Compact", index: n.s.appliedIndex, data: new Uint8Array(8) }),
            )
          }
          break
        default:
          break
      }
    }
  }
  const deliver = () => {
    while (head < queue.length) {
      const m = queue[head++]!
      messages++
      exec(m.to, step(nodes.get(m.to)!.s, m))
    }
    queue.length = 0
    head = 0
  }
  exec("a", step(nodes.get("a")!.s, { type: "Campaign" }))
  deliver()
  const leader = nodes.get("a")!.s
  if (leader.role !== "Leader") throw new Error("no leader")
  const data = new Uint8Array(ENTRY_BYTES)
  const batch: Proposal[] = Array.from({ length: shape.batch }, (_, i) => ({
    id: i,
    type: "Normal",
    data,
  }))
  const startApplied = applied
  messages = 0
  const t0 = performance.now()
  let proposed = 0
  while (proposed < total) {
    for (let w = 0; w < shape.window && proposed < total; w++) {
      exec("a", step(leader, { type: "Propose", proposals: batch }))
      proposed += shape.batch
    }
    deliver()
  }
  // Let followers learn the final commit index.
  exec("a", step(leader, { type: "Tick" }))
  deliver()
  const ms = performance.now() - t0
  const committed = applied - startApplied
  if (committed < total) throw new Error(`only ${committed} of ${total} committed`)
  for (const id of ids)
    if (nodes.get(id)!.s.commitIndex !== leader.commitIndex)
      throw new Error(`${id} lags the leader`)
  return {
    entriesPerSec: Math.round((committed / ms) * 1000),
    msgsPerEntry: messages / committed,
    ms,
  }
}

const total = Number(process.env.BENCH_ENTRIES ?? 200_000)
// Warm up the JIT on a smaller run of every shape.
for (const s of shapes) run(s, 20_000)
const rows = shapes.map((s) => ({ shape: s, ...run(s, total) }))

const pad = (x: string, n: number) => x.padEnd(n)
console.log(
  `core-only, 3 nodes in one process, ${ENTRY_BYTES}-byte entries, ${total} entries per run, best of 3 runs`,
)
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, node ${process.version}`)
console.log(`${pad("shape", 40)} ${pad("entries/s", 12)} ${pad("msgs/entry", 10)}`)
for (const r of rows)
  console.log(
    `${pad(r.shape.name, 40)} ${pad(r.entriesPerSec.toLocaleString("en-US"), 12)} ${r.msgsPerEntry.toFixed(2)}`,
  )
const figures: Record<string, number> = {}
for (const r of rows)
  figures[`core_b${r.shape.batch}_w${r.shape.window}_entries_per_sec`] = r.entriesPerSec
console.log(JSON.stringify({ bench: "raft-core", entryBytes: ENTRY_BYTES, ...figures }))
