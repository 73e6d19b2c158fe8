// The Snapshot RPC with the real etcd tools: `etcdctl snapshot save` takes
// our stream, `etcdctl snapshot status` reads the file, and `etcdctl snapshot
// restore` + a real etcd (Debian's etcd-server 3.4) serve from it the same
// keys, versions, revisions, leases and compaction as our store did. etcd's
// own snapshot of the restored data is then read back with our bbolt reader
// and holds, in its key bucket, exactly the entries we wrote.
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readBolt } from "../../src/core/bolt.ts"
import { ensureEtcd, ensureEtcdctl, etcdctl, type RealEtcd, startEtcd } from "../support/etcdctl.ts"
import { freePorts } from "../support/processes.ts"
import { startServer, type TestServer } from "../support/server.ts"

let server: TestServer
let dir: string
let etcd: RealEtcd | undefined

const ok = async (endpoint: string, ...args: string[]): Promise<string> => {
  const r = await etcdctl(endpoint, args)
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(" ")}: ${r.code} ${r.stderr}`)
  return r.stdout
}

beforeAll(async () => {
  ensureEtcdctl()
  ensureEtcd()
  dir = mkdtempSync(join(tmpdir(), "flotilla-snapshot-"))
  server = await startServer({ clientURLs: [] })
})

afterAll(async () => {
  etcd?.stop()
  await server.close()
  rmSync(dir, { recursive: true, force: true })
})

/** The key bucket of a snapshot file (its SHA-256 trailer cut off), as [hex key, hex value]. */
const keyBucket = (file: string): Array<[string, string]> => {
  const bytes = readFileSync(file)
  const db = readBolt(bytes.subarray(0, bytes.length - 32))
  const bucket = db.find((b) => Buffer.from(b.name).toString() === "key")
  if (bucket === undefined) throw new Error(`${file}: no key bucket`)
  return bucket.entries.map(([k, v]) => [
    Buffer.from(k).toString("hex"),
    Buffer.from(v).toString("hex"),
  ])
}

describe("Snapshot with etcdctl and a real etcd", () => {
  it("saves, reports status, and restores into etcd with the same data", async () => {
    const ours = server.endpoint
    await ok(ours, "put", "foo", "bar")
    await ok(ours, "put", "foo", "baz")
    await ok(ours, "put", "gone", "1")
    await ok(ours, "del", "gone")
    const lease = (await ok(ours, "lease", "grant", "600")).split(" ")[1] as string
    await ok(ours, "put", "leased", "v", `--lease=${lease}`)
    // A transaction: two changes at one revision (sub revisions 0 and 1).
    const txn = await etcdctl(ours, ["txn"], "\nput t1 a\nput t2 b\n\n\n")
    expect(txn.code).toBe(0)
    const compactAt = JSON.parse(await ok(ours, "get", "foo", "-w", "json")).header
      .revision as number
    await ok(ours, "put", "foo", "after-compaction-point")
    await ok(ours, "compact", String(compactAt - 1))
    // Values that need overflow pages and keys enough for branch pages.
    await ok(ours, "put", "big", "x".repeat(20_000))
    for (let i = 0; i < 40; i++)
      await ok(ours, "put", `many/${String(i).padStart(3, "0")}`, `v${i}`)

    const file = join(dir, "ours.db")
    const saved = await etcdctl(ours, ["snapshot", "save", file])
    expect(saved.code).toBe(0)
    expect(saved.stdout).toBe(`Snapshot saved at ${file}\n`)

    const head = JSON.parse(await ok(ours, "get", "", "--prefix", "-w", "json"))
    const status = JSON.parse(await ok(ours, "snapshot", "status", file, "-w", "json"))
    expect(status.revision).toBe(head.header.revision)
    // Every entry of every bucket: the key bucket's versions and tombstones
    // (after the compaction), the lease, meta's three keys, the member,
    // authRevision and clusterVersion.
    expect(status.totalKey).toBe(keyBucket(file).length + 1 + 3 + 1 + 2)

    const [client, peer] = await freePorts(2)
    const restored = join(dir, "restored")
    const peerURL = `http://127.0.0.1:${peer}`
    const restore = await etcdctl(ours, [
      "snapshot",
      "restore",
      file,
      `--data-dir=${restored}`,
      "--name=r",
      `--initial-cluster=r=${peerURL}`,
      `--initial-advertise-peer-urls=${peerURL}`,
    ])
    expect(restore.code).toBe(0)
    etcd = await startEtcd(restored, { client: client as number, peer: peer as number }, "r")
    const endpoint = etcd.endpoint
    // The same keys with the same versions and revisions.
    const theirs = JSON.parse(await ok(endpoint, "get", "", "--prefix", "-w", "json"))
    expect(theirs.header.revision).toBe(head.header.revision)
    expect(theirs.kvs).toEqual(head.kvs)
    // History after the compaction is there; before it, compacted on both.
    for (const at of [compactAt - 1, compactAt]) {
      const mine = await etcdctl(ours, ["get", "foo", `--rev=${at}`, "-w", "json"])
      const etcds = await etcdctl(endpoint, ["get", "foo", `--rev=${at}`, "-w", "json"])
      expect(etcds.code).toBe(mine.code)
      if (mine.code === 0) expect(JSON.parse(etcds.stdout).kvs).toEqual(JSON.parse(mine.stdout).kvs)
    }
    const compacted = await etcdctl(endpoint, ["get", "foo", `--rev=${compactAt - 2}`])
    expect(compacted.stderr).toContain("required revision has been compacted")
    // The lease and its key.
    expect(await ok(endpoint, "lease", "list")).toContain(lease)
    expect(await ok(endpoint, "lease", "timetolive", lease, "--keys")).toContain("leased")

    // etcd's own backend now holds, in its key bucket, exactly what we wrote.
    const back = join(dir, "etcd.db")
    await ok(endpoint, "snapshot", "save", back)
    expect(keyBucket(back)).toEqual(keyBucket(file))
  }, 60_000)
})
