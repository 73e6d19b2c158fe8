// Restoring snapshot files into `flotilla store` members (restoreSnapshot,
// what `flotilla snapshot restore` runs): a real etcd's snapshot becomes a
// three-member cluster of ours serving the same keys, versions, revisions,
// history and leases (lease IDs above 2^53 renumbered), our own snapshot of
// it restores again, and damaged files are refused with nothing written.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RestoreOptions, restoreSnapshot } from "../../src/restore.ts"
import { ensureEtcdctl, etcdctl, type RealEtcd, startEtcd } from "../support/etcdctl.ts"
import { FAST, freePorts, ProcessCluster, type StoreProcess } from "../support/processes.ts"

let dir: string
let etcd: RealEtcd | undefined
const clusters: Array<ProcessCluster> = []

beforeAll(() => {
  ensureEtcdctl()
  dir = mkdtempSync(join(tmpdir(), "flotilla-restore-"))
})

afterAll(async () => {
  etcd?.stop()
  await Promise.all(clusters.map((c) => c.close()))
  rmSync(dir, { recursive: true, force: true })
})

const ok = async (endpoint: string, ...args: string[]): Promise<string> => {
  const r = await etcdctl(endpoint, args)
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(" ")}: ${r.code} ${r.stderr}`)
  return r.stdout
}

/** The restore flags of a member, from its own command line. */
const restoreFlags = (m: StoreProcess): RestoreOptions["flags"] => {
  const flag = (name: string) =>
    m
      .args("new")
      .find((a) => a.startsWith(`--${name}=`))
      ?.slice(name.length + 3)
  return {
    name: flag("name"),
    "data-dir": flag("data-dir"),
    "initial-cluster": flag("initial-cluster"),
    "initial-cluster-token": flag("initial-cluster-token"),
    "initial-advertise-peer-urls": flag("initial-advertise-peer-urls"),
  }
}

/** A cluster of `members` restored from `file`, started. */
const restoredCluster = async (file: string, members: number): Promise<ProcessCluster> => {
  const cluster = await ProcessCluster.start({ members, flags: FAST, deferStart: true })
  clusters.push(cluster)
  for (const m of cluster.members)
    await Effect.runPromise(restoreSnapshot({ file, flags: restoreFlags(m) }))
  await Promise.all(cluster.members.map((m) => m.start("new")))
  return cluster
}

const everything = async (endpoint: string) =>
  JSON.parse(await ok(endpoint, "get", "", "--prefix", "-w", "json")) as {
    header: { revision: number }
    kvs: Array<{ key: string; lease?: number }>
  }

describe("restoring snapshot files into flotilla store members", () => {
  it("takes a real etcd's snapshot, and its own", async () => {
    const [client, peer] = (await freePorts(2)) as [number, number]
    etcd = await startEtcd(join(dir, "etcd"), { client, peer })
    const e = etcd.endpoint
    await ok(e, "put", "foo", "bar")
    const compactAt = JSON.parse(await ok(e, "put", "foo", "baz", "-w", "json")).header
      .revision as number
    await ok(e, "put", "gone", "1")
    await ok(e, "del", "gone")
    const lease = (await ok(e, "lease", "grant", "600")).split(" ")[1] as string
    await ok(e, "put", "leased", "v", `--lease=${lease}`)
    expect((await etcdctl(e, ["txn"], "\nput t1 a\nput t2 b\n\n\n")).code).toBe(0)
    await ok(e, "put", "big", "x".repeat(20_000))
    await ok(e, "compact", String(compactAt))
    const file = join(dir, "etcd.db")
    await ok(e, "snapshot", "save", file)
    const before = await everything(e)

    const cluster = await restoredCluster(file, 3)
    const ours = cluster.members[0]?.endpoint as string
    const after = await everything(ours)
    expect(after.header.revision).toBe(before.header.revision)
    // etcd's lease ID is above 2^53: ours is renumbered, the rest is the same.
    const [leasedBefore] = before.kvs.filter((kv) => kv.lease !== undefined)
    const [leasedAfter] = after.kvs.filter((kv) => kv.lease !== undefined)
    expect(leasedAfter?.key).toBe(leasedBefore?.key)
    const strip = (kvs: typeof before.kvs) => kvs.map(({ lease: _, ...rest }) => rest)
    expect(strip(after.kvs)).toEqual(strip(before.kvs))
    const ourLease = (await ok(ours, "lease", "list")).trim().split("\n")[1] as string
    expect(await ok(ours, "lease", "timetolive", ourLease, "--keys")).toContain(
      "attached keys([leased])",
    )
    // History from the compaction on; below it, compacted.
    expect(await ok(ours, "get", "foo", `--rev=${compactAt}`, "--print-value-only")).toBe("baz\n")
    const below = await etcdctl(ours, ["get", "foo", `--rev=${compactAt - 1}`])
    expect(below.stderr).toContain("required revision has been compacted")
    // Every member serves it, and writes go on from the restored revision.
    for (const m of cluster.members)
      expect((await everything(m.endpoint)).header.revision).toBe(before.header.revision)
    const next = JSON.parse(await ok(ours, "put", "new", "1", "-w", "json")).header.revision
    expect(next).toBe(before.header.revision + 1)

    // Our own snapshot of the restored cluster restores again, to the same data.
    const again = join(dir, "ours.db")
    await ok(ours, "snapshot", "save", again)
    const second = await restoredCluster(again, 1)
    const restoredAgain = await everything(second.members[0]?.endpoint as string)
    expect(restoredAgain.header.revision).toBe(next)
    expect(restoredAgain.kvs).toEqual((await everything(ours)).kvs)
  }, 120_000)

  it("refuses a damaged file or an existing data directory, writing nothing", async () => {
    const source = await restoredClusterSource()
    const target = join(dir, "refused")
    const flags = {
      name: "r",
      "data-dir": target,
      "initial-cluster": "r=http://127.0.0.1:1",
      "initial-advertise-peer-urls": "http://127.0.0.1:1",
    }
    const refusal = async (options: Omit<RestoreOptions, "flags">): Promise<string> => {
      const exit = await Effect.runPromiseExit(restoreSnapshot({ ...options, flags }))
      expect(exit._tag).toBe("Failure")
      expect(existsSync(target)).toBe(false)
      return Exit.isFailure(exit) ? String(exit.cause) : ""
    }
    const flipped = join(dir, "flipped.db")
    const bytes = readFileSync(source)
    bytes[5000] = (bytes[5000] as number) ^ 1
    writeFileSync(flipped, bytes)
    expect(await refusal({ file: flipped })).toContain("expected sha256")
    const bare = join(dir, "bare.db")
    writeFileSync(bare, readFileSync(source).subarray(0, bytes.length - 32))
    expect(await refusal({ file: bare })).toContain("snapshot missing hash")
    const garbage = join(dir, "garbage.db")
    writeFileSync(garbage, Buffer.alloc(8192, 7))
    expect(await refusal({ file: garbage, skipHashCheck: true })).toContain("not a bbolt database")
    expect(await refusal({ file: join(dir, "missing.db") })).toContain("ENOENT")
    // A copied database file without its hash is taken with --skip-hash-check.
    await Effect.runPromise(restoreSnapshot({ file: bare, flags, skipHashCheck: true }))
    expect(existsSync(target)).toBe(true)
    const exit = await Effect.runPromiseExit(restoreSnapshot({ file: source, flags }))
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain(`data-dir "${target}" exists`)
  })
})

/** A small snapshot file of ours (from a one-member cluster of a fresh restore chain). */
const restoredClusterSource = async (): Promise<string> => {
  const cluster = await ProcessCluster.start({ members: 1, flags: FAST })
  clusters.push(cluster)
  const endpoint = cluster.members[0]?.endpoint as string
  for (let i = 0; i < 20; i++) await ok(endpoint, "put", `k${i}`, "v".repeat(500))
  const file = join(dir, "small.db")
  await ok(endpoint, "snapshot", "save", file)
  return file
}
