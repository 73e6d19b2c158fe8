// `flotilla up` as a real process: it serves kubectl, stops on SIGINT, and a
// second `up` on the same data directory finds the objects of the first.
import { execFile, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"

/** No colours, and no FORCE_COLOR (nx sets it): with NO_COLOR it makes Node warn on stderr. */
const { FORCE_COLOR: _forceColor, ...inherited } = process.env
const plainEnv = { ...inherited, NO_COLOR: "1" }

const bin = fileURLToPath(new URL("../bin/flotilla.js", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "flotilla-up-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Starts `flotilla up` (on a free port, or with no --port when `port` is "default") and resolves once it prints the kubectl line. */
const start = (extra: ReadonlyArray<string> = [], dataDir = dir, port: string | undefined = "0") =>
  new Promise<{
    readonly stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; output: string }>
    readonly output: () => string
  }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        bin,
        "up",
        ...(port === "default" ? [] : ["--port", port]),
        // The store's etcd port on any free port too (not 2379 and up), unless the store is remote.
        ...(port === "default" || extra.includes("--etcd-servers") ? [] : ["--etcd-port", "0"]),
        "--data-dir",
        dataDir,
        ...extra,
      ],
      {
        env: plainEnv,
      },
    )
    let output = ""
    const timer = setTimeout(
      () => reject(new Error(`flotilla up did not start:\n${output}`)),
      30_000,
    )
    const onData = (d: Buffer) => {
      output += d.toString("utf8")
      if (output.includes("kubectl --kubeconfig")) {
        clearTimeout(timer)
        resolve({
          output: () => output,
          stop: (signal = "SIGINT") =>
            new Promise((done) => {
              child.once("exit", (code) => done({ code, output }))
              child.kill(signal)
            }),
        })
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("exit", (code) => reject(new Error(`flotilla up exited (${code}):\n${output}`)))
  })

const kubectlIn = (dataDir: string, ...args: Array<string>) =>
  promisify(execFile)(
    "/usr/bin/kubectl",
    ["--kubeconfig", join(dataDir, "kubeconfig"), "--cache-dir", join(dataDir, "cache"), ...args],
    {
      encoding: "utf8",
    },
  )
const kubectl = (...args: Array<string>) => kubectlIn(dir, ...args)

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

/**
 * Starts a one-member etcd v3 store with etcd's flags (Debian's etcd, or
 * `flotilla store`, which takes the same) on free ports, once it is ready;
 * `stop` waits for it to exit (it writes to its data directory until then).
 */
const startStore = async (command: string, prefix: ReadonlyArray<string>, dataDir: string) => {
  const client = await freePort()
  const peer = await freePort()
  const child = spawn(command, [
    ...prefix,
    "--name=t",
    `--data-dir=${join(dataDir, "data")}`,
    `--listen-client-urls=http://127.0.0.1:${client}`,
    `--advertise-client-urls=http://127.0.0.1:${client}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=t=http://127.0.0.1:${peer}`,
  ])
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once("exit", () => resolve())
      child.kill("SIGINT")
    })
  try {
    await new Promise<void>((resolve, reject) => {
      let log = ""
      const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${log}`)), 30_000)
      const onData = (d: Buffer) => {
        log += d.toString("utf8")
        if (log.includes("ready to serve client requests")) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stderr.on("data", onData)
      child.stdout.on("data", onData)
      child.once("exit", (code) => reject(new Error(`${command} exited (${code}):\n${log}`)))
    })
  } catch (e) {
    await stop()
    throw e
  }
  return { endpoint: `127.0.0.1:${client}`, stop }
}

/** Runs an `up` that is expected to refuse: resolves with its exit code and output (killed after 20 s). */
const refused = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, "up", ...args],
      {
        encoding: "utf8",
        timeout: 20_000,
        killSignal: "SIGKILL",
        env: plainEnv,
      },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : (child.exitCode ?? null), stdout, stderr }),
    )
  })

/** A key's value as etcd's own client reads it. */
const etcdctlGet = async (endpoint: string, key: string) =>
  (
    await promisify(execFile)(
      "/usr/bin/etcdctl",
      [`--endpoints=${endpoint}`, "get", key, "--print-value-only"],
      { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" } },
    )
  ).stdout

/** `flotilla up --etcd-servers` on a store: kubectl creates a namespace, which lands under its key. */
const upOnStore = async (endpoint: string, dataDir: string, namespace: string) => {
  const up = await start(["--etcd-servers", endpoint], dataDir)
  try {
    expect(up.output()).toContain(`store: etcd v3 endpoints ${endpoint}`)
    expect((await kubectlIn(dataDir, "create", "namespace", namespace)).stdout.trim()).toBe(
      `namespace/${namespace} created`,
    )
    expect(
      (await kubectlIn(dataDir, "get", "namespace", namespace, "-o", "jsonpath={.status.phase}"))
        .stdout,
    ).toBe("Active")
  } finally {
    await up.stop()
  }
  expect(
    JSON.parse(await etcdctlGet(endpoint, `/registry/namespaces/${namespace}`)).metadata.name,
  ).toBe(namespace)
}

/** `up --restore file` on `dataDir` (any free ports), expected to be refused. */
const restoreInto = (file: string, dataDir: string) =>
  refused(["--restore", file, "--data-dir", dataDir, "--port", "0", "--etcd-port", "0"])

describe("flotilla up", () => {
  it("serves kubectl, stops on SIGINT (130) or SIGTERM (143, as etcd; it was 130) and keeps its objects for the next up", async () => {
    const first = await start()
    expect(first.output()).toMatch(/API server on http:\/\/127\.0\.0\.1:\d+/)
    expect(readFileSync(join(dir, "kubeconfig"), "utf8")).toMatch(
      /server: http:\/\/127\.0\.0\.1:\d+/,
    )
    expect((await kubectl("create", "namespace", "kept")).stdout.trim()).toBe(
      "namespace/kept created",
    )
    // The embedded store's etcd v3 API: etcdctl sees what the API server keeps.
    const etcd = /store's etcd v3 API on (127\.0\.0\.1:\d+) \(etcdctl/.exec(first.output())?.[1]
    expect(etcd).toBeDefined()
    const stored = await promisify(execFile)(
      "/usr/bin/etcdctl",
      [`--endpoints=${etcd}`, "get", "/registry/namespaces/kept", "--print-value-only"],
      { encoding: "utf8", env: { ...plainEnv, ETCDCTL_API: "3" } },
    )
    expect(JSON.parse(stored.stdout).metadata.name).toBe("kept")
    const before = (
      await kubectl("get", "namespace", "kept", "-o", "jsonpath={.metadata.resourceVersion}")
    ).stdout
    const stopped = await first.stop()
    expect(stopped.output).toContain("flotilla: stopping")
    expect(stopped.code).toBe(130)
    const second = await start()
    let stoppedByTerm: { code: number | null; output: string } | undefined
    try {
      expect(second.output()).toMatch(/store: 3 members replicated by Raft/)
      const { stdout } = await kubectl(
        "get",
        "namespace",
        "kept",
        "-o",
        "jsonpath={.status.phase} {.metadata.resourceVersion}",
      )
      expect(stdout).toBe(`Active ${before}`)
      stoppedByTerm = await second.stop("SIGTERM")
    } finally {
      if (stoppedByTerm === undefined) await second.stop()
    }
    expect(stoppedByTerm.output).toContain("flotilla: stopping")
    expect(stoppedByTerm.code).toBe(143)
  })

  it("starts a new store from a snapshot file with --restore (backed up from a running up)", async () => {
    const source = mkdtempSync(join(tmpdir(), "flotilla-up-backup-"))
    const target = mkdtempSync(join(tmpdir(), "flotilla-up-restored-"))
    rmSync(target, { recursive: true, force: true })
    const file = join(source, "backup.db")
    try {
      const first = await start([], source)
      try {
        await kubectlIn(source, "create", "namespace", "backed-up")
        const etcd = /store's etcd v3 API on (127\.0\.0\.1:\d+)/.exec(first.output())?.[1]
        await promisify(execFile)(
          "/usr/bin/etcdctl",
          [`--endpoints=${etcd}`, "snapshot", "save", file],
          {
            env: { ...plainEnv, ETCDCTL_API: "3" },
          },
        )
      } finally {
        await first.stop()
      }
      const restored = await start(["--restore", file], target)
      try {
        expect(restored.output()).toMatch(
          /flotilla: store: started from .*backup\.db, revision \d+/,
        )
        expect((await kubectlIn(target, "get", "namespace", "backed-up")).stdout).toContain(
          "Active",
        )
      } finally {
        await restored.stop()
      }
      // A data directory with a store is not restored over (exit 2); an unreadable file exits 1; nothing is left behind.
      const again = await restoreInto(file, target)
      expect(again.code).toBe(2)
      expect(again.stderr).toContain("--restore: ")
      expect(again.stderr).toContain("already holds a store; restore into a new --data-dir")
      const bad = join(source, "bad.db")
      writeFileSync(bad, "not a snapshot")
      const fresh = join(source, "never-made")
      const damaged = await restoreInto(bad, fresh)
      expect(damaged.code).toBe(1)
      expect(damaged.stderr).toContain("snapshot missing hash")
      expect(existsSync(fresh)).toBe(false)
    } finally {
      rmSync(source, { recursive: true, force: true })
      rmSync(target, { recursive: true, force: true })
    }
  })

  it("takes port 6443, or the next free one, when no --port is given", async () => {
    // Hold 6443 (when nobody else does) so that the search is exercised either way.
    const holder = createServer()
    await new Promise<void>((resolve) => {
      holder.once("error", () => resolve())
      holder.listen(6443, "127.0.0.1", () => resolve())
    })
    const dataDir = mkdtempSync(join(tmpdir(), "flotilla-up-port-"))
    try {
      const up = await start([], dataDir, "default")
      try {
        const port = Number(/API server on http:\/\/127\.0\.0\.1:(\d+)/.exec(up.output())?.[1])
        expect(port).toBeGreaterThan(6443)
        expect(port).toBeLessThanOrEqual(6443 + 50)
        expect(readFileSync(join(dataDir, "kubeconfig"), "utf8")).toContain(
          `server: http://127.0.0.1:${port}`,
        )
        expect((await kubectlIn(dataDir, "get", "namespace", "default")).stdout).toContain("Active")
      } finally {
        await up.stop()
      }
    } finally {
      holder.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it("serves from our own store over the network with --etcd-servers (flotilla store)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "flotilla-up-store-"))
    const store = await startStore(process.execPath, [bin, "store"], dataDir)
    try {
      await upOnStore(store.endpoint, dataDir, "in-store")
    } finally {
      await store.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it("keeps its objects in a real etcd with --etcd-servers", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "flotilla-up-etcd-"))
    const etcd = await startStore("/usr/bin/etcd", [], dataDir)
    try {
      await upOnStore(etcd.endpoint, dataDir, "in-etcd")
    } finally {
      await etcd.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  describe("bad input: one line naming the flag, nothing left behind", () => {
    it("refuses an out-of-range --port or --members before creating anything (exit 2)", async () => {
      const target = join(dir, "never-made")
      for (const [args, message] of [
        [["--port", "70000"], "flotilla up: --port: must be from 0 to 65535, got 70000"],
        [["--port", "-1"], "flotilla up: --port: must be from 0 to 65535, got -1"],
        [["--members", "0"], "flotilla up: --members: must be at least 1, got 0"],
        [["--port", "1e3"], 'flotilla up: --port: must be a decimal integer, got "1e3"'],
        [["--members", "3.0"], 'flotilla up: --members: must be a decimal integer, got "3.0"'],
        [
          ["--etcd-servers", "127.0.0.1"],
          'flotilla up: --etcd-servers: "127.0.0.1": names no port',
        ],
        [
          ["--etcd-servers", "127.0.0.1:2379", "--members", "3"],
          "flotilla up: --members: the embedded store's size; it does not apply with --etcd-servers",
        ],
        [["--etcd-port", "70000"], "flotilla up: --etcd-port: must be from 0 to 65535, got 70000"],
        [
          ["--etcd-servers", "127.0.0.1:2379", "--restore", "backup.db"],
          "flotilla up: --restore: starts the embedded store; it does not apply with --etcd-servers",
        ],
        [
          ["--etcd-servers", "127.0.0.1:2379", "--etcd-port", "2379"],
          "flotilla up: --etcd-port: the embedded store's port; it does not apply with --etcd-servers",
        ],
      ] as const) {
        const r = await refused([...args, "--data-dir", target])
        expect(r.code, args.join(" ")).toBe(2)
        expect(r.stderr).toContain(message)
        expect(r.stderr).not.toMatch(/\n\s+at /)
        expect(existsSync(target)).toBe(false)
      }
    })

    it("names a --data-dir that is a file, or cannot be made (under /proc it hung)", async () => {
      const file = join(dir, "a-file")
      writeFileSync(file, "x")
      const asFile = await refused(["--port", "0", "--data-dir", file])
      expect(asFile.code).toBe(1)
      expect(asFile.stderr.trim()).toBe(
        `flotilla up: --data-dir: ${file} exists and is not a directory`,
      )
      const proc = await refused(["--port", "0", "--data-dir", "/proc/flotilla-nope"])
      expect(proc.code).toBe(1)
      expect(proc.stderr.trim()).toBe(
        "flotilla up: --data-dir: cannot create /proc/flotilla-nope: no such file or directory",
      )
    })

    it("refuses a --members other than the existing store's (fewer hung without a quorum)", async () => {
      const dataDir = join(dir, "three")
      for (const m of ["m1", "m2", "m3"]) mkdirSync(join(dataDir, "store", m), { recursive: true })
      const r = await refused(["--port", "0", "--members", "1", "--data-dir", dataDir])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(
        `flotilla up: --members: ${join(dataDir, "store")} holds a store of 3 members, not 1`,
      )
      expect(existsSync(join(dataDir, "kubeconfig"))).toBe(false)
      expect(existsSync(join(dataDir, "up.pid"))).toBe(false)
    })

    it("fails at once on --etcd-servers that do not answer (it hung after writing the kubeconfig)", async () => {
      const port = await freePort()
      const target = join(dir, "remote-down")
      const r = await refused([
        "--port",
        "0",
        "--etcd-servers",
        `127.0.0.1:${port}`,
        "--data-dir",
        target,
      ])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(
        new RegExp(
          `^flotilla up: --etcd-servers 127\\.0\\.0\\.1:${port}: the store does not answer: .*ECONNREFUSED`,
        ),
      )
      // The run made the directory, so it takes it away again.
      expect(existsSync(target)).toBe(false)
    })

    it("names a data directory whose store/ or kubeconfig has the wrong type (both were stack traces)", async () => {
      const storeFile = join(dir, "store-is-a-file")
      mkdirSync(storeFile, { recursive: true })
      writeFileSync(join(storeFile, "store"), "x")
      const a = await refused(["--port", "0", "--data-dir", storeFile])
      expect(a.code).toBe(1)
      expect(a.stderr.trim()).toBe(
        `flotilla up: --data-dir: cannot read ${join(storeFile, "store")}: a component of the path is not a directory`,
      )
      const kubeconfigDir = join(dir, "kubeconfig-is-a-dir")
      mkdirSync(join(kubeconfigDir, "kubeconfig"), { recursive: true })
      const b = await refused(["--port", "0", "--data-dir", kubeconfigDir])
      expect(b.code).toBe(1)
      expect(b.stderr.trim()).toBe(
        `flotilla up: --data-dir: cannot write ${join(kubeconfigDir, "kubeconfig")}: is a directory`,
      )
    })

    it("takes over a lock whose pid is not a flotilla process (pid 1 held it forever)", async () => {
      const dataDir = join(dir, "stale-lock")
      mkdirSync(dataDir, { recursive: true })
      writeFileSync(join(dataDir, "up.pid"), "1\n")
      const up = await start([], dataDir)
      await up.stop()
      expect(existsSync(join(dataDir, "up.pid"))).toBe(false)
    })
  })
})
