// Side by side: a 3-member cluster of `flotilla store` and a 3-member etcd 3.4
// (Debian's etcd-server), both on 127.0.0.1, started with the same etcd flags
// and measured one after the other with the same client: etcd's own load
// generator (tools/benchmark, built offline from Debian's packages by
// ../shared/bench/etcd-loadgen/build.sh). Puts of 256-byte values at 1, 16
// and 256 clients, linearizable ranges at 1 and 256 (and, when asked, lease
// keep-alives: `keepalive:clients:conns`). Prints ops/s, p50, p99,
// server and client CPU for both and the ratios, then one JSON line.
//
// Both clusters run at once (idle but for heartbeats while the other is
// measured) and the two are measured alternately, case by case, each case
// BENCH_REPEATS times (the better run counts), so that the load of a shared
// machine drifting over time hits both alike.
//
// Installs what is missing (needs root and apt): the load generator, etcd.
// Environment: BENCH_SECONDS (per measured run, default 5), BENCH_REPEATS
// (default 2), BENCH_ONLY (flotilla|etcd), BENCH_CASES (e.g.
// "put:256:16,range:1:1"), BENCH_PROFILE (a directory for our members' CPU
// profiles).
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { cpus, homedir, tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as grpc from "@grpc/grpc-js"
import { loadEtcdServices } from "../src/grpc/server.ts"
import { freePorts, waitFor } from "../test/support/processes.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const FLOTILLA = path.resolve(here, "../../../apps/flotilla/bin/flotilla.js")
const LOADGEN_DIR =
  process.env.ETCD_LOADGEN_DIR ?? path.resolve(here, "../../../../shared/bench/etcd-loadgen")
const LOADGEN =
  process.env.ETCD_LOADGEN ?? path.join(homedir(), ".cache/etcd-loadgen/bin/benchmark")
const ETCD = "/usr/bin/etcd"
const TIME = "/usr/bin/time"
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const REPEATS = Math.max(1, Number(process.env.BENCH_REPEATS ?? 2))
const RANGE_KEY = "gobench-range-key"

interface Case {
  readonly op: "put" | "range" | "keepalive"
  readonly clients: number
  readonly conns: number
}

const CASES: ReadonlyArray<Case> = (
  process.env.BENCH_CASES ?? "put:1:1,put:16:16,put:256:16,range:1:1,range:256:16"
)
  .split(",")
  .map((s) => {
    const [op, clients, conns] = s.split(":")
    if (
      (op !== "put" && op !== "range" && op !== "keepalive") ||
      !Number(clients) ||
      !Number(conns)
    ) {
      throw new Error(`BENCH_CASES: bad case ${JSON.stringify(s)} (op:clients:conns)`)
    }
    return { op, clients: Number(clients), conns: Number(conns) }
  })

// ---------------------------------------------------------------------------
// Tools

const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], env })

const ensureTools = (): void => {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  if (!existsSync(LOADGEN)) {
    console.error(`building etcd's load generator into ${LOADGEN} (a few minutes)`)
    // build.sh reads the mirror from /etc/apt/sources.list, missing on some machines.
    const mirror =
      process.env.MIRROR ??
      (existsSync("/etc/apt/sources.list") ? undefined : "http://deb.debian.org/debian")
    run(
      "bash",
      [path.join(LOADGEN_DIR, "build.sh")],
      mirror === undefined ? env : { ...env, MIRROR: mirror },
    )
  }
  const missing = [
    [ETCD, "etcd-server"],
    [TIME, "time"],
  ].filter(([file]) => !existsSync(file!))
  if (missing.length > 0) {
    const pkgs = missing.map(([, pkg]) => pkg!)
    try {
      run("apt-get", ["install", "-y", "-qq", ...pkgs], env)
    } catch {
      run("apt-get", ["update", "-qq"], env)
      run("apt-get", ["install", "-y", "-qq", ...pkgs], env)
    }
  }
}

// ---------------------------------------------------------------------------
// Clusters

interface Member {
  readonly name: string
  readonly endpoint: string
  readonly pid: () => number
}

interface RunningCluster {
  readonly members: ReadonlyArray<Member>
  /** Endpoints with the leader first (1-connection runs talk to the leader). */
  readonly endpoints: ReadonlyArray<string>
  readonly stop: () => Promise<void>
}

const services = loadEtcdServices()

type Unary = (
  req: unknown,
  opts: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void,
) => void

const call = (
  client: grpc.Client,
  method: string,
  req: unknown,
): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, Unary>)[method]!.bind(client)
    fn(req, { deadline: new Date(Date.now() + 2_000) }, (e, r) => (e ? reject(e) : resolve(r)))
  })

const status = async (endpoint: string): Promise<{ id: string; leader: string }> => {
  const c = new services.Maintenance(endpoint, grpc.credentials.createInsecure())
  try {
    const s = await call(c, "Status", {})
    const header = s.header as { readonly member_id: string }
    return { id: String(header.member_id), leader: String(s.leader) }
  } finally {
    c.close()
  }
}

const startCluster = async (system: "flotilla" | "etcd", dir: string): Promise<RunningCluster> => {
  const ports = await freePorts(6)
  const names = ["b1", "b2", "b3"]
  const peer = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`
  const client = (i: number) => `http://127.0.0.1:${ports[2 * i]}`
  const initial = names.map((n, i) => `${n}=${peer(i)}`).join(",")
  const procs = names.map((name, i) => {
    // The same etcd flags for both programs.
    const flags = [
      `--name=${name}`,
      `--data-dir=${path.join(dir, name)}`,
      `--listen-client-urls=${client(i)}`,
      `--advertise-client-urls=${client(i)}`,
      `--listen-peer-urls=${peer(i)}`,
      `--initial-advertise-peer-urls=${peer(i)}`,
      `--initial-cluster=${initial}`,
      `--initial-cluster-token=bench-${system}`,
      "--initial-cluster-state=new",
    ]
    // BENCH_PROFILE=<dir>: each member of ours writes a CPU profile there when it stops.
    const profile =
      process.env.BENCH_PROFILE === undefined
        ? []
        : [
            "--cpu-prof",
            `--cpu-prof-dir=${process.env.BENCH_PROFILE}`,
            `--cpu-prof-name=${name}.cpuprofile`,
          ]
    const [cmd, args] =
      system === "flotilla"
        ? [process.execPath, [...profile, FLOTILLA, "store", ...flags]]
        : [ETCD, flags]
    const log = path.join(dir, `${name}.log`)
    writeFileSync(log, "")
    const child = spawn(cmd, args as string[], { stdio: ["ignore", "ignore", "pipe"] })
    let out = ""
    child.stderr!.on("data", (d) => {
      if (out.length < 1_000_000) out += d
    })
    child.once("exit", () => writeFileSync(log, out))
    return { name, endpoint: client(i).slice("http://".length), child }
  })
  const stop = async () => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve()
            p.child.once("exit", () => resolve())
            p.child.kill("SIGTERM")
          }),
      ),
    )
  }
  try {
    const leader = await waitFor(
      `${system} to elect a leader`,
      async () => {
        const ss = await Promise.all(procs.map((p) => status(p.endpoint)))
        const leaders = new Set(ss.map((s) => s.leader))
        if (leaders.size !== 1 || ss[0]!.leader === "0") return undefined
        return procs[ss.findIndex((s) => s.id === ss[0]!.leader)]?.endpoint
      },
      60_000,
    )
    const endpoints = [leader, ...procs.map((p) => p.endpoint).filter((e) => e !== leader)]
    return {
      members: procs.map((p) => ({ name: p.name, endpoint: p.endpoint, pid: () => p.child.pid! })),
      endpoints,
      stop,
    }
  } catch (e) {
    await stop()
    throw e
  }
}

const seedRangeKey = async (endpoint: string): Promise<void> => {
  const c = new services.KV(endpoint, grpc.credentials.createInsecure())
  try {
    await call(c, "Put", { key: Buffer.from(RANGE_KEY), value: Buffer.alloc(256, "v") })
  } finally {
    c.close()
  }
}

// ---------------------------------------------------------------------------
// Measuring

const TICKS = 100 // USER_HZ
const cpuTicks = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}

interface Measured {
  readonly total: number
  readonly seconds: number
  readonly opsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly errors: number
  /** Percent of one core. */
  readonly serverCpu: number
  readonly clientCpu: number
}

const loadgen = (c: RunningCluster, k: Case, total: number, dir: string): Promise<Measured> =>
  new Promise((resolve, reject) => {
    const timeFile = path.join(dir, "time.out")
    const args =
      k.op === "put"
        ? ["put", "--key-size=8", "--val-size=256", "--sequential-keys", "--key-space-size=1000000"]
        : k.op === "keepalive"
          ? ["lease-keepalive"]
          : ["range", RANGE_KEY, "--consistency=l"]
    const pids = c.members.map((m) => m.pid())
    const s0 = pids.reduce((n, p) => n + cpuTicks(p), 0)
    const t0 = performance.now()
    const child = spawn(
      TIME,
      [
        "-f",
        "%U %S",
        "-o",
        timeFile,
        LOADGEN,
        `--endpoints=${c.endpoints.join(",")}`,
        `--clients=${k.clients}`,
        `--conns=${k.conns}`,
        ...args,
        `--total=${total}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    )
    let out = ""
    child.stdout!.on("data", (d) => (out += d))
    child.stderr!.on("data", (d) => (out += d))
    child.once("error", reject)
    child.once("exit", (code) => {
      const seconds = (performance.now() - t0) / 1000
      const s1 = pids.reduce((n, p) => n + cpuTicks(p), 0)
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)
      const p50 = / 50% in ([\d.]+) secs/.exec(out)
      const p99 = / 99% in ([\d.]+) secs/.exec(out)
      if (code !== 0 || rps === null || p50 === null || p99 === null) {
        return reject(new Error(`load generator failed (exit ${code}):\n${out.slice(-2000)}`))
      }
      let errors = 0
      const dist = out.indexOf("Error distribution")
      if (dist >= 0) for (const m of out.slice(dist).matchAll(/\[(\d+)\]/g)) errors += Number(m[1])
      const [user, sys] = readFileSync(timeFile, "utf8").trim().split(/\s+/).map(Number)
      resolve({
        total,
        seconds,
        opsPerSec: Number(rps[1]),
        p50Ms: Number(p50[1]) * 1000,
        p99Ms: Number(p99[1]) * 1000,
        errors,
        serverCpu: ((s1 - s0) / TICKS / seconds) * 100,
        clientCpu: (((user ?? 0) + (sys ?? 0)) / seconds) * 100,
      })
    })
  })

/** A short run to estimate the rate, then a run of about SECONDS. */
const measure = async (c: RunningCluster, k: Case, dir: string): Promise<Measured> => {
  const probe = await loadgen(c, k, k.clients * 20 + 200, dir)
  const total = Math.max(k.clients * 20, Math.round(probe.opsPerSec * SECONDS))
  return loadgen(c, k, total, dir)
}

// ---------------------------------------------------------------------------

const systems = (["flotilla", "etcd"] as const).filter(
  (s) => process.env.BENCH_ONLY === undefined || process.env.BENCH_ONLY === s,
)

const main = async () => {
  ensureTools()
  const results: Record<string, Record<string, Measured>> = {}
  const clusters: Array<{
    system: (typeof systems)[number]
    cluster: RunningCluster
    dir: string
  }> = []
  try {
    for (const system of systems) {
      const dir = mkdtempSync(path.join(tmpdir(), `bench-${system}-`))
      clusters.push({ system, cluster: await startCluster(system, dir), dir })
      results[system] = {}
    }
    for (const c of clusters) await seedRangeKey(c.cluster.endpoints[0]!)
    for (const k of CASES) {
      const key = `${k.op}:${k.clients}:${k.conns}`
      for (let rep = 0; rep < REPEATS; rep++) {
        // Alternate which system goes first.
        const order = rep % 2 === 0 ? clusters : [...clusters].reverse()
        for (const { system, cluster, dir } of order) {
          const m = await measure(cluster, k, dir)
          console.error(
            `${system.padEnd(8)} ${k.op.padEnd(5)} clients=${String(k.clients).padEnd(3)} conns=${String(k.conns).padEnd(2)} ${m.opsPerSec.toFixed(0).padStart(6)} ops/s  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms  server ${m.serverCpu.toFixed(0)}%  client ${m.clientCpu.toFixed(0)}%${m.errors > 0 ? `  errors ${m.errors}` : ""}`,
          )
          const best = results[system]![key]
          if (best === undefined || m.opsPerSec > best.opsPerSec) results[system]![key] = m
        }
      }
    }
  } finally {
    for (const c of clusters) {
      await c.cluster.stop()
      rmSync(c.dir, { recursive: true, force: true })
    }
  }

  const rows: string[][] = [
    [
      "op",
      "clients",
      "conns",
      "ours ops/s",
      "p50 ms",
      "p99 ms",
      "srv CPU",
      "cli CPU",
      "etcd ops/s",
      "p50 ms",
      "p99 ms",
      "srv CPU",
      "cli CPU",
      "ops ratio",
      "p99 ratio",
    ],
  ]
  const ratios: Record<string, { throughput: number; p99: number; p50: number }> = {}
  for (const k of CASES) {
    const key = `${k.op}:${k.clients}:${k.conns}`
    const a = results.flotilla?.[key]
    const b = results.etcd?.[key]
    const cells = (m: Measured | undefined) =>
      m === undefined
        ? ["-", "-", "-", "-", "-"]
        : [
            m.opsPerSec.toFixed(0),
            m.p50Ms.toFixed(2),
            m.p99Ms.toFixed(2),
            `${m.serverCpu.toFixed(0)}%`,
            `${m.clientCpu.toFixed(0)}%`,
          ]
    let ratio = ["-", "-"]
    if (a !== undefined && b !== undefined) {
      ratios[key] = {
        throughput: a.opsPerSec / b.opsPerSec,
        p99: a.p99Ms / b.p99Ms,
        p50: a.p50Ms / b.p50Ms,
      }
      ratio = [`${ratios[key]!.throughput.toFixed(2)}x`, `${ratios[key]!.p99.toFixed(2)}x`]
    }
    rows.push([k.op, String(k.clients), String(k.conns), ...cells(a), ...cells(b), ...ratio])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  console.log(
    `\n3-member clusters on 127.0.0.1, ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}; etcd's tools/benchmark; ${SECONDS} s per run, best of ${REPEATS}; ratios are ours / etcd (p99 ratio below 1 is better)\n`,
  )
  for (const r of rows) console.log(r.map((c, i) => c.padStart(widths[i]!)).join("  "))
  console.log(
    JSON.stringify({
      bench: "store-cluster",
      seconds: SECONDS,
      repeats: REPEATS,
      cores: cpus().length,
      node: process.version,
      results,
      ratios,
    }),
  )
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
