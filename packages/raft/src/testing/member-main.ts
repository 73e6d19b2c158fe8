// One Raft member in its own process: a RaftNode over TCP (127.0.0.1, a free
// port) with a file WAL, driven by its parent over the IPC channel (see
// processes.ts for the protocol). Started by `spawnMember`; runs until killed.
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { join } from "node:path"
import { Context, Effect, Layer } from "effect"
import { makeConfig } from "../core/quorum.ts"
import { RaftNode } from "../runtime/node.ts"
import { MemoryStateMachine, StateMachine } from "../runtime/state-machine.ts"
import { LogStorage } from "../runtime/storage.ts"
import { Transport } from "../runtime/transport.ts"
import { RaftTcpTransport } from "../transport/tcp.ts"
import { countingStateMachine } from "./counting.ts"
import type { MemberArgs, ToMember } from "./processes.ts"

const args = JSON.parse(process.argv[2] ?? "{}") as MemberArgs

// RAFT_MEMBER_HEAP=<dir>: V8's sampling heap profiler runs from the start
// (objects the GC collected included, one sample per 4 KiB) and the profile
// is written to <dir>/<id>.heapprofile when the parent asks the member to exit.
const heapDir = process.env.RAFT_MEMBER_HEAP
const heapSession = heapDir === undefined ? undefined : new Session()
if (heapSession !== undefined) {
  heapSession.connect()
  await heapSession.post("HeapProfiler.enable")
  await heapSession.post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  })
}
const exitProcess = async (): Promise<void> => {
  if (heapSession !== undefined && heapDir !== undefined) {
    const { profile } = await heapSession.post("HeapProfiler.stopSampling")
    writeFileSync(join(heapDir, `${args.id}.heapprofile`), JSON.stringify(profile))
  }
  process.exit(0)
}
const send = (m: unknown): void => {
  process.send?.(m)
}

const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

const program = Effect.gen(function* () {
  const tcpCtx = yield* Layer.build(RaftTcpTransport.layer({ id: args.id, port: 0 }))
  const tcp = Context.get(tcpCtx, RaftTcpTransport)
  const memory = new MemoryStateMachine()
  const sm = args.keepValues ? memory.service() : countingStateMachine()
  const ctx = yield* Layer.build(
    RaftNode.layer({
      id: args.id,
      tickMs: args.tickMs,
      snapshotEvery: args.snapshotEvery,
      raft: { electionTick: 10, heartbeatTick: 2, seed: args.seed, maxInflightMsgs: 1024 },
    }).pipe(
      Layer.provide(
        Layer.mergeAll(
          LogStorage.layerWal({
            dir: args.dir,
            bootstrapConfig: makeConfig(args.ids),
            ...(args.inlineSyncBytes === undefined
              ? {}
              : { inlineSyncBytes: args.inlineSyncBytes }),
            ...(args.preallocateBytes === undefined
              ? {}
              : { preallocateBytes: args.preallocateBytes }),
          }),
          Transport.layerFromTcp.pipe(Layer.provide(Layer.succeed(RaftTcpTransport, tcp))),
          Layer.succeed(StateMachine, sm),
        ),
      ),
    ),
  )
  const node = Context.get(ctx, RaftNode)
  const enc = new TextEncoder()

  /** A load's figures to the parent: proposals committed since `t0` and their latencies. */
  const report = (seq: number, latencies: number[], failures: number, t0: number): void => {
    const seconds = (performance.now() - t0) / 1000
    latencies.sort((a, b) => a - b)
    send({
      type: "loaded",
      seq,
      committed: latencies.length,
      failures,
      perSecond: latencies.length / seconds,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
    })
  }

  const handle = (m: ToMember): Effect.Effect<void> => {
    switch (m.type) {
      case "peers":
        return Effect.sync(() => {
          for (const [id, address] of Object.entries(m.peers))
            if (id !== args.id) tcp.unsafe.setPeer(id, address)
        })
      case "status":
        return Effect.map(node.status, (status) => send({ type: "status", seq: m.seq, status }))
      case "values":
        return Effect.sync(() => send({ type: "values", seq: m.seq, values: memory.strings() }))
      case "exit":
        return Effect.promise(exitProcess)
      case "propose":
        return Effect.forEach(
          m.values,
          (v) =>
            Effect.match(node.propose(enc.encode(v)), {
              onSuccess: (index) => send({ type: "acked", value: v, index }),
              onFailure: (e) => send({ type: "nacked", value: v, error: e._tag }),
            }),
          { concurrency: m.concurrency, discard: true },
        )
      case "load":
        if (m.api === "callback")
          return Effect.callback<void>((resume) => callbackLoad(m, () => resume(Effect.void)))
        return Effect.gen(function* () {
          const data = new Uint8Array(m.entryBytes).fill(7)
          const latencies: number[] = []
          let failures = 0
          const deadline = performance.now() + m.durationMs
          const worker = Effect.gen(function* () {
            while (performance.now() < deadline) {
              const t0 = performance.now()
              const r = yield* Effect.result(node.propose(data))
              if (r._tag === "Success") latencies.push(performance.now() - t0)
              else failures++
            }
          })
          const t0 = performance.now()
          yield* Effect.all(
            Array.from({ length: m.concurrency }, () => worker),
            {
              concurrency: "unbounded",
              discard: true,
            },
          )
          report(m.seq, latencies, failures, t0)
        })
    }
  }

  /**
   * Closed-loop proposers through `proposeUnsafe` (as the store proposes):
   * each proposes again from the previous proposal's callback, so the load
   * adds no fiber to the commit path.
   */
  const callbackLoad = (m: Extract<ToMember, { type: "load" }>, finished: () => void): void => {
    const data = new Uint8Array(m.entryBytes).fill(7)
    const latencies: number[] = []
    let failures = 0
    let running = m.concurrency
    const t0 = performance.now()
    const deadline = t0 + m.durationMs
    const end = (): void => {
      if (--running > 0) return
      report(m.seq, latencies, failures, t0)
      finished()
    }
    const worker = (): void => {
      const start = performance.now()
      if (start >= deadline) {
        end()
        return
      }
      let returned = false
      node.proposeUnsafe(data, (error) => {
        if (error === undefined) latencies.push(performance.now() - start)
        else failures++
        // A failure reported before proposeUnsafe returned (a stopped node) must not recurse.
        if (returned) worker()
        else queueMicrotask(worker)
      })
      returned = true
    }
    for (let i = 0; i < m.concurrency; i++) worker()
  }

  process.on("message", (m: ToMember) => {
    Effect.runFork(handle(m))
  })
  send({ type: "ready", address: tcp.address })
  return yield* Effect.never
})

Effect.runFork(Effect.scoped(program))
