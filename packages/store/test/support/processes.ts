// Clusters of real `flotilla store` processes on 127.0.0.1 for end-to-end
// tests: free ports, a temporary data directory per member, kill -9 and
// restart, members added with `--initial-cluster-state existing`. Every wait
// is a condition polled against a deadline; `close` kills whatever is left.
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { ensureEtcdctl } from "./etcdctl.ts"

const FLOTILLA = fileURLToPath(
  new URL("../../../../apps/flotilla/bin/flotilla.js", import.meta.url),
)

/** Children still running: killed if the test process exits without closing its clusters. */
const running = new Set<ChildProcess>()
process.once("exit", () => {
  for (const c of running) c.kill("SIGKILL")
})

/** Ports the kernel says are free now (all bound before any is released, so they differ). */
export const freePorts = async (n: number): Promise<number[]> => {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer()
          s.once("error", reject)
          s.listen(0, "127.0.0.1", () => resolve(s))
        }),
    ),
  )
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

/** Polls `check` until it returns a value other than undefined; throws after `ms`. */
export const waitFor = async <A>(
  what: string,
  check: () => Promise<A | undefined> | A | undefined,
  ms = 20_000,
): Promise<A> => {
  const deadline = performance.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (e) {
      last = e
    }
    if (performance.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`,
      )
    }
    await new Promise((r) => setTimeout(r, 25))
  }
}

export class StoreProcess {
  readonly name: string
  readonly clientPort: number
  readonly peerPort: number
  readonly dataDir: string
  child: ChildProcess | undefined
  /** Everything the process wrote to stderr and stdout, across restarts. */
  log = ""
  exits = 0
  /** The last exit's code (null after a signal). */
  exitCode: number | null = null
  private readonly cluster: () => string
  private readonly token: string
  private readonly extra: ReadonlyArray<string>

  constructor(
    name: string,
    ports: { client: number; peer: number },
    dataDir: string,
    cluster: () => string,
    token: string,
    extra: ReadonlyArray<string>,
  ) {
    this.name = name
    this.clientPort = ports.client
    this.peerPort = ports.peer
    this.dataDir = dataDir
    this.cluster = cluster
    this.token = token
    this.extra = extra
  }

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`
  }

  get peerURL(): string {
    return `http://127.0.0.1:${this.peerPort}`
  }

  get running(): boolean {
    return this.child !== undefined
  }

  /** The etcd-style command line (what a script starting etcd would pass). */
  args(state: "new" | "existing"): string[] {
    const client = `http://127.0.0.1:${this.clientPort}`
    return [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${this.peerURL}`,
      `--initial-advertise-peer-urls=${this.peerURL}`,
      `--initial-cluster=${this.cluster()}`,
      `--initial-cluster-token=${this.token}`,
      `--initial-cluster-state=${state}`,
      ...this.extra,
    ]
  }

  /**
   * Starts the process and waits until it is ready (its "ready to serve
   * client requests" line: as etcd, once it published its attributes and
   * caught up with a leader), or with `until: "listening"` only until its
   * client ports listen (a member that cannot reach a quorum yet).
   */
  async start(
    state: "new" | "existing" = "new",
    until: "ready" | "listening" = "ready",
  ): Promise<void> {
    if (this.child !== undefined) throw new Error(`${this.name} is already running`)
    const child = spawn(process.execPath, [FLOTILLA, "store", ...this.args(state)], {
      stdio: ["ignore", "pipe", "pipe"],
    })
    this.child = child
    running.add(child)
    const from = this.log.length
    child.stdout!.on("data", (d) => (this.log += d))
    child.stderr!.on("data", (d) => (this.log += d))
    child.once("exit", (code) => {
      running.delete(child)
      this.exits++
      this.exitCode = code
      if (this.child === child) this.child = undefined
    })
    // An exit ends the wait at once (waitFor would retry a throw until its deadline).
    const outcome = await waitFor(`${this.name} to be ${until}`, () => {
      if (this.child !== child) return "exited"
      const line = until === "ready" ? "ready to serve client requests" : "flotilla store: member "
      return this.log.indexOf(line, from) >= 0 ? "ready" : undefined
    }).catch((e: unknown) => {
      throw new Error(`${String(e)}; its log:\n${this.log.slice(from)}`)
    })
    if (outcome === "exited") throw new Error(`${this.name} exited:\n${this.log.slice(from)}`)
  }

  /** kill -9: no shutdown, only what was durable survives. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child
    if (child === undefined) return
    const exited = new Promise((r) => child.once("exit", r))
    child.kill(signal)
    await exited
  }
}

export interface ClusterOptions {
  readonly members?: number
  /** Extra flags for every member (e.g. faster elections). */
  readonly flags?: ReadonlyArray<string>
  /** Only prepare the members (the test starts them, in its own order). */
  readonly deferStart?: boolean
}

/** Fast elections for tests: 50 ms heartbeats, 500 ms election timeout. */
export const FAST = ["--heartbeat-interval=50", "--election-timeout=500"]

export class ProcessCluster {
  readonly members: StoreProcess[] = []
  readonly root: string
  private readonly token: string
  private readonly flags: ReadonlyArray<string>
  /** The members listed in `--initial-cluster` (initial ones, then those added). */
  private readonly listed: StoreProcess[] = []

  private constructor(root: string, token: string, flags: ReadonlyArray<string>) {
    this.root = root
    this.token = token
    this.flags = flags
  }

  static async start(options: ClusterOptions = {}): Promise<ProcessCluster> {
    const n = options.members ?? 3
    const root = mkdtempSync(path.join(tmpdir(), "flotilla-store-"))
    const c = new ProcessCluster(root, `test-${path.basename(root)}`, options.flags ?? FAST)
    try {
      for (let i = 1; i <= n; i++) await c.create(`n${i}`)
      if (options.deferStart !== true) await Promise.all(c.members.map((m) => m.start("new")))
    } catch (e) {
      await c.close()
      throw e
    }
    return c
  }

  private async create(name: string): Promise<StoreProcess> {
    const [client, peer] = await freePorts(2)
    const m = new StoreProcess(
      name,
      { client: client!, peer: peer! },
      path.join(this.root, name),
      () => this.listed.map((x) => `${x.name}=${x.peerURL}`).join(","),
      this.token,
      this.flags,
    )
    this.members.push(m)
    this.listed.push(m)
    return m
  }

  /** A new member's process (not started): add it to the cluster first, then `start("existing")`. */
  async prepare(name: string): Promise<StoreProcess> {
    return this.create(name)
  }

  /** Every running member's endpoint, comma-separated (etcdctl's --endpoints). */
  get endpoints(): string {
    return this.members
      .filter((m) => m.running)
      .map((m) => m.endpoint)
      .join(",")
  }

  byName(name: string): StoreProcess {
    const m = this.members.find((x) => x.name === name)
    if (m === undefined) throw new Error(`no member ${name}`)
    return m
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()))
    rmSync(this.root, { recursive: true, force: true })
  }
}

/**
 * A cluster for the tests of the calling file: started (with etcdctl ensured)
 * before them, killed and removed after them. Returns its getter.
 */
export const clusterForFile = (options: ClusterOptions = {}): (() => ProcessCluster) => {
  let cluster: ProcessCluster | undefined
  beforeAll(async () => {
    ensureEtcdctl()
    cluster = await ProcessCluster.start(options)
  }, 60_000)
  afterAll(() => cluster?.close())
  return () => {
    if (cluster === undefined) throw new Error("the cluster did not start")
    return cluster
  }
}
