// `flotilla up` as a real process: it serves kubectl, stops on SIGINT, and a
// second `up` on the same data directory finds the objects of the first.
import { execFile, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"

const bin = fileURLToPath(new URL("../bin/flotilla.js", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "flotilla-up-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Starts `flotilla up` (on a free port, or with no --port when `port` is "default") and resolves once it prints the kubectl line. */
const start = (extra: ReadonlyArray<string> = [], dataDir = dir, port: string | undefined = "0") =>
  new Promise<{
    readonly stop: () => Promise<{ code: number | null; output: string }>
    readonly output: () => string
  }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [bin, "up", ...(port === "default" ? [] : ["--port", port]), "--data-dir", dataDir, ...extra],
      {
        env: { ...process.env, NO_COLOR: "1" },
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
          stop: () =>
            new Promise((done) => {
              child.once("exit", (code) => done({ code, output }))
              child.kill("SIGINT")
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

describe("flotilla up", () => {
  it("serves kubectl, stops on SIGINT and keeps its objects for the next up", async () => {
    const first = await start()
    expect(first.output()).toMatch(/API server on http:\/\/127\.0\.0\.1:\d+/)
    expect(readFileSync(join(dir, "kubeconfig"), "utf8")).toMatch(
      /server: http:\/\/127\.0\.0\.1:\d+/,
    )
    expect((await kubectl("create", "namespace", "kept")).stdout.trim()).toBe(
      "namespace/kept created",
    )
    const before = (
      await kubectl("get", "namespace", "kept", "-o", "jsonpath={.metadata.resourceVersion}")
    ).stdout
    const stopped = await first.stop()
    expect(stopped.output).toContain("flotilla: stopping")
    const second = await start()
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
    } finally {
      await second.stop()
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
})
