// The runtime's own cost: three RaftNodes in one process over the in-memory
// network (no delay) with memory storage, closed-loop proposers on the
// leader. Reports proposals per second and the bytes allocated per proposal
// (all three members together), sampled by V8's heap profiler including
// objects the GC already collected, with the top allocation sites.
//
// Run: tsx --conditions=@flotilla/source bench/runtime.ts   (BENCH_PROPOSALS, BENCH_SITES)
import { Session } from "node:inspector/promises"
import { cpus } from "node:os"
import { Context, Effect, Layer, Scope } from "effect"
import {
  LogStorage,
  MemoryNetwork,
  makeConfig,
  makeMemoryStore,
  RaftNode,
  StateMachine,
} from "../src/index.ts"
import { Transport } from "../src/runtime/transport.ts"
import { countingStateMachine } from "../src/testing/counting.ts"

const PROPOSALS = Number(process.env.BENCH_PROPOSALS ?? 20_000)
const SITES = Number(process.env.BENCH_SITES ?? 0)
const ENTRY_BYTES = 256
const ids = ["n1", "n2", "n3"]

interface Sample {
  readonly selfSize: number
  readonly callFrame: { functionName: string; url: string; lineNumber: number }
  readonly children: ReadonlyArray<Sample>
  readonly id: number
}

const program = Effect.gen(function* () {
  const net = new MemoryNetwork()
  const scope = yield* Scope.make()
  const nodes: RaftNode["Service"][] = []
  for (const [i, id] of ids.entries()) {
    const layer = RaftNode.layer({
      id,
      tickMs: 20,
      snapshotEvery: 1_000_000,
      raft: { electionTick: 10, heartbeatTick: 2, seed: i + 1, maxInflightMsgs: 1024 },
    }).pipe(
      Layer.provide(
        Layer.mergeAll(
          LogStorage.layerMemory(makeMemoryStore(makeConfig(ids))),
          Transport.layerMemory(net, id),
          Layer.succeed(StateMachine, countingStateMachine()),
        ),
      ),
    )
    nodes.push(Context.get(yield* Layer.buildWithScope(layer, scope), RaftNode))
  }
  yield* nodes[0]!.campaign
  let leader: RaftNode["Service"] | undefined
  while (leader === undefined) {
    yield* Effect.sleep(10)
    for (const n of nodes) if ((yield* n.status).role === "Leader") leader = n
  }
  const data = new Uint8Array(ENTRY_BYTES).fill(7)
  const run = (concurrency: number, total: number) =>
    Effect.gen(function* () {
      let left = total
      const worker = Effect.gen(function* () {
        while (left > 0) {
          left--
          yield* leader!.propose(data)
        }
      })
      const t0 = performance.now()
      yield* Effect.all(
        Array.from({ length: concurrency }, () => worker),
        { concurrency: "unbounded", discard: true },
      )
      return performance.now() - t0
    })
  const session = new Session()
  session.connect()
  yield* Effect.promise(() => session.post("HeapProfiler.enable"))
  const rows: { concurrency: number; perSecond: number; bytesPerProposal: number }[] = []
  for (const concurrency of [1, 16, 256]) {
    yield* run(concurrency, Math.min(PROPOSALS, 5_000)) // warm-up
    const interval = 1024
    yield* Effect.promise(() =>
      session.post("HeapProfiler.startSampling", {
        samplingInterval: interval,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      }),
    )
    const ms = yield* run(concurrency, PROPOSALS)
    const { profile } = yield* Effect.promise(() => session.post("HeapProfiler.stopSampling"))
    const bytes =
      (profile as unknown as { samples: { nodeId: number }[] }).samples.length * interval
    rows.push({
      concurrency,
      perSecond: (PROPOSALS / ms) * 1000,
      bytesPerProposal: bytes / PROPOSALS,
    })
    if (SITES > 0) {
      const bySite = new Map<string, number>()
      const counts = new Map<number, number>()
      for (const s of (profile as unknown as { samples: { nodeId: number }[] }).samples)
        counts.set(s.nodeId, (counts.get(s.nodeId) ?? 0) + 1)
      const walk = (n: Sample) => {
        const f = n.callFrame
        const here = `${f.functionName || "(anon)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`
        const c = counts.get(n.id) ?? 0
        if (c > 0) bySite.set(here, (bySite.get(here) ?? 0) + c * interval)
        for (const ch of n.children) walk(ch)
      }
      walk(profile.head as unknown as Sample)
      const top = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, SITES)
      console.log(`allocation sites at ${concurrency} proposers (bytes per proposal):`)
      for (const [site, b] of top)
        console.log(`  ${(b / PROPOSALS).toFixed(0).padStart(6)}  ${site}`)
    }
  }
  yield* Scope.close(scope, Effect.void as never)
  return rows
})

const rows = await Effect.runPromise(
  program as unknown as Effect.Effect<
    ReadonlyArray<{ concurrency: number; perSecond: number; bytesPerProposal: number }>
  >,
)
console.log(
  `RaftNode x3 in one process, memory network and storage, ${ENTRY_BYTES}-byte entries, ${PROPOSALS} proposals per row`,
)
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, node ${process.version}`)
console.log(
  `${"proposers".padEnd(10)} ${"proposals/s".padStart(12)} ${"bytes allocated/proposal".padStart(26)}`,
)
for (const r of rows)
  console.log(
    `${String(r.concurrency).padEnd(10)} ${Math.round(r.perSecond).toLocaleString("en-US").padStart(12)} ${Math.round(r.bytesPerProposal).toLocaleString("en-US").padStart(26)}`,
  )
console.log(
  JSON.stringify({
    bench: "raft-runtime",
    entryBytes: ENTRY_BYTES,
    ...Object.fromEntries(
      rows.flatMap((r) => [
        [`c${r.concurrency}_proposals_per_sec`, Math.round(r.perSecond)],
        [`c${r.concurrency}_bytes_per_proposal`, Math.round(r.bytesPerProposal)],
      ]),
    ),
  }),
)
process.exit(0)
