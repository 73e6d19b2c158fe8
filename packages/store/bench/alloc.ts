// Where a put's memory goes: three members of ours in this one process (file
// WALs, Raft over TCP, the gRPC server), driven by etcd's load generator
// against the leader, while V8's sampling heap profiler counts every
// allocation (collected ones included). Prints bytes allocated per put (all
// three members together) and the top allocation sites.
//
// Run: tsx --conditions=@flotilla/source bench/alloc.ts   (BENCH_CLIENTS, BENCH_TOTAL, BENCH_SITES)
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { homedir, tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Exit, Scope } from "effect"
import { decodeMemberConfig } from "../src/core/config.ts"
import { startMember } from "../src/run-member.ts"
import { freePorts } from "../test/support/processes.ts"

const LOADGEN =
  process.env.ETCD_LOADGEN ?? path.join(homedir(), ".cache/etcd-loadgen/bin/benchmark")
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1)
const TOTAL = Number(process.env.BENCH_TOTAL ?? 3000)
const SITES = Number(process.env.BENCH_SITES ?? 25)

interface Node {
  readonly id: number
  readonly callFrame: { functionName: string; url: string; lineNumber: number }
  readonly children: ReadonlyArray<Node>
}

const dir = mkdtempSync(path.join(tmpdir(), "store-alloc-"))
const ports = await freePorts(6)
const names = ["a1", "a2", "a3"]
const peer = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`
const client = (i: number) => `http://127.0.0.1:${ports[2 * i]}`
const initial = names.map((n, i) => `${n}=${peer(i)}`).join(",")
const scope = Effect.runSync(Scope.make())
await Promise.all(
  names.map((name, i) =>
    Effect.runPromise(
      startMember(
        decodeMemberConfig({
          name,
          "data-dir": path.join(dir, name),
          "listen-client-urls": client(i),
          "advertise-client-urls": client(i),
          "listen-peer-urls": peer(i),
          "initial-advertise-peer-urls": peer(i),
          "initial-cluster": initial,
          "initial-cluster-token": "alloc",
          "initial-cluster-state": "new",
        }),
      ).pipe(Scope.provide(scope)),
    ),
  ),
)
// Asynchronously: this process serves the load.
const runAsync = (total: number, endpoints: string) =>
  new Promise<string>((resolve) => {
    const child = spawn(LOADGEN, [
      `--endpoints=${endpoints}`,
      `--clients=${CLIENTS}`,
      `--conns=${Math.min(CLIENTS, 16)}`,
      "put",
      "--key-size=8",
      "--val-size=256",
      "--sequential-keys",
      "--key-space-size=1000000",
      `--total=${total}`,
    ])
    let out = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (out += d))
    child.on("exit", () => resolve(out))
  })
await new Promise((r) => setTimeout(r, 3000))
const endpoints = names.map((_, i) => client(i).slice("http://".length)).join(",")
await runAsync(500, endpoints) // warm up (and find the leader through redirects of writes)
const session = new Session()
session.connect()
await session.post("HeapProfiler.enable")
const interval = 4096
await session.post("HeapProfiler.startSampling", {
  samplingInterval: interval,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
})
const out = await runAsync(TOTAL, endpoints)
const { profile } = await session.post("HeapProfiler.stopSampling")
const samples = (profile as unknown as { samples: { nodeId: number }[] }).samples
const perPut = (samples.length * interval) / TOTAL
const counts = new Map<number, number>()
for (const s of samples) counts.set(s.nodeId, (counts.get(s.nodeId) ?? 0) + 1)
const bySite = new Map<string, number>()
const walk = (n: Node, parentSite: string) => {
  const f = n.callFrame
  const site = `${f.functionName || "(anon)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`
  const c = counts.get(n.id) ?? 0
  // Native frames (no url) are charged to their caller.
  const key = f.url === "" ? `${site} <- ${parentSite}` : site
  if (c > 0) bySite.set(key, (bySite.get(key) ?? 0) + c * interval)
  for (const ch of n.children) walk(ch, f.url === "" ? parentSite : site)
}
walk(profile.head as unknown as Node, "")
console.log(
  out
    .split("\n")
    .filter((l) => /Requests\/sec|50%|99%/.test(l))
    .join("\n"),
)
console.log(
  `${CLIENTS} clients, ${TOTAL} puts: ${Math.round(perPut).toLocaleString("en-US")} bytes allocated per put (3 members)`,
)
for (const [site, b] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, SITES))
  console.log(`${String(Math.round(b / TOTAL)).padStart(7)}  ${site}`)
await Effect.runPromise(Scope.close(scope, Exit.void))
rmSync(dir, { recursive: true, force: true })
process.exit(0)
