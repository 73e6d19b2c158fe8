// etcdctl (Debian's etcd-client, 3.4) for end-to-end tests: installed once
// when missing (needs root and apt), then run against a test server.
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync } from "node:fs"

const ETCDCTL = "/usr/bin/etcdctl"
const ETCD = "/usr/bin/etcd"

const ensured = new Set<string>()

/** Installs Debian package `pkg` with apt-get if `binary` is missing; throws if that is impossible. */
const ensureDebianBinary = (binary: string, pkg: string): string => {
  if (ensured.has(binary) || existsSync(binary)) {
    ensured.add(binary)
    return binary
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`${binary} is missing and this is not root: install Debian's ${pkg}`)
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  const install = () => execFileSync("apt-get", ["install", "-y", pkg], { env, stdio: "pipe" })
  try {
    install()
  } catch {
    // The package lists may be missing or stale on a fresh machine.
    execFileSync("apt-get", ["update"], { env, stdio: "pipe" })
    install()
  }
  if (!existsSync(binary)) throw new Error(`apt-get install ${pkg} did not provide ${binary}`)
  ensured.add(binary)
  return binary
}

/** etcdctl (Debian's etcd-client), installed when missing. */
export const ensureEtcdctl = (): string => ensureDebianBinary(ETCDCTL, "etcd-client")

/** The etcd server (Debian's etcd-server), installed when missing. */
export const ensureEtcd = (): string => ensureDebianBinary(ETCD, "etcd-server")

export interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs one etcdctl command against `endpoint`, with optional stdin. */
export const etcdctl = (
  endpoint: string,
  args: ReadonlyArray<string>,
  stdin?: string,
): Promise<Result> =>
  new Promise((resolve, reject) => {
    const child = spawn(ETCDCTL, [`--endpoints=${endpoint}`, "--command-timeout=10s", ...args], {
      env: { ...process.env, ETCDCTL_API: "3" },
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }))
    child.stdin.end(stdin ?? "")
  })

/**
 * A member add or remove, asked again while the member that serves it answers
 * "etcdserver: unhealthy cluster" (it has not been connected to every voter
 * for etcd's 5 s health interval yet, e.g. right after a start or restart),
 * as an operator would; any other failure, or the deadline, throws.
 */
export const etcdctlMemberChange = async (
  endpoint: string,
  args: ReadonlyArray<string>,
  ms = 20_000,
): Promise<string> => {
  const deadline = performance.now() + ms
  for (;;) {
    const r = await etcdctl(endpoint, args)
    if (r.code === 0) return r.stdout
    if (!r.stderr.includes("etcdserver: unhealthy cluster") || performance.now() > deadline)
      throw new Error(`etcdctl ${args.join(" ")}: ${r.stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Starts a long-running etcdctl command (watch, keep-alive); its output accumulates in `out()`. */
export const etcdctlStream = (
  endpoint: string,
  args: ReadonlyArray<string>,
): { readonly child: ChildProcess; readonly out: () => string } => {
  const child = spawn(ETCDCTL, [`--endpoints=${endpoint}`, ...args], {
    env: { ...process.env, ETCDCTL_API: "3" },
  })
  let out = ""
  child.stdout.on("data", (d) => (out += d))
  child.stderr.on("data", (d) => (out += d))
  return { child, out: () => out }
}

export interface RealEtcd {
  readonly endpoint: string
  readonly peerURL: string
  readonly stop: () => void
}

/**
 * Starts a one-member real etcd on `dataDir` (made by etcd, or by a restore
 * with this `name` and `peerPort`), and waits until it serves clients.
 */
export const startEtcd = async (
  dataDir: string,
  ports: { readonly client: number; readonly peer: number },
  name = "e",
): Promise<RealEtcd> => {
  const endpoint = `127.0.0.1:${ports.client}`
  const peerURL = `http://127.0.0.1:${ports.peer}`
  const child = spawn(ensureEtcd(), [
    `--data-dir=${dataDir}`,
    `--name=${name}`,
    `--listen-client-urls=http://${endpoint}`,
    `--advertise-client-urls=http://${endpoint}`,
    `--listen-peer-urls=${peerURL}`,
    `--initial-advertise-peer-urls=${peerURL}`,
    `--initial-cluster=${name}=${peerURL}`,
  ])
  let log = ""
  child.stderr?.on("data", (d) => (log += d))
  child.stdout?.on("data", (d) => (log += d))
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (log.includes("ready to serve client requests")) {
        child.stderr?.off("data", check)
        child.off("exit", exited)
        resolve()
      }
    }
    const exited = (code: number | null) => reject(new Error(`etcd exited (${code}):\n${log}`))
    child.stderr?.on("data", check)
    child.once("exit", exited)
  })
  return { endpoint, peerURL, stop: () => child.kill("SIGKILL") }
}
