// etcdctl 3.4 (a real, unchanged etcd client process) against the in-process store.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureEtcdctl, etcdctl, etcdctlStream } from "../support/etcdctl.ts"
import { eventually, startServer, type TestServer } from "../support/server.ts"

let server: TestServer
const run = (...args: string[]) => etcdctl(server.endpoint, args)
const ok = async (...args: string[]): Promise<string> => {
  const r = await run(...args)
  expect(r.stderr).toBe("")
  expect(r.code).toBe(0)
  return r.stdout
}
const revisionOf = async (key: string): Promise<number> =>
  JSON.parse(await ok("get", key, "-w", "json")).header.revision as number

beforeAll(async () => {
  ensureEtcdctl()
  server = await startServer({ clientURLs: [] })
})

afterAll(async () => {
  await server.close()
})

describe("etcdctl", () => {
  it("puts and gets with prefix, limit, keys-only and an old revision", async () => {
    expect(await ok("put", "greeting", "hello")).toBe("OK\n")
    expect(await ok("get", "greeting")).toBe("greeting\nhello\n")
    for (const i of [1, 2, 3]) await ok("put", `dir/${i}`, `v${i}`)
    expect(await ok("get", "dir/", "--prefix", "--limit=2", "--keys-only")).toBe(
      "dir/1\n\ndir/2\n\n",
    )
    const rev = await revisionOf("dir/1")
    await ok("put", "dir/1", "changed")
    expect(await ok("get", "dir/1", `--rev=${rev}`, "--print-value-only")).toBe("v1\n")
    const json = JSON.parse(await ok("get", "dir/", "--prefix", "--limit=1", "-w", "json"))
    expect(json.more).toBe(true)
    expect(json.count).toBe(3)
    expect(json.header.member_id).toBeDefined()
  })

  it("deletes a prefix", async () => {
    await ok("put", "tmp/a", "1")
    await ok("put", "tmp/b", "2")
    expect(await ok("del", "tmp/", "--prefix")).toBe("2\n")
    expect(await ok("get", "tmp/", "--prefix")).toBe("")
  })

  it("runs a txn read from stdin", async () => {
    await ok("put", "lock", "free")
    const txn = 'value("lock") = "free"\n\nput lock taken\n\nget lock\n\n'
    const r1 = await etcdctl(server.endpoint, ["txn"], txn)
    expect(r1.stdout).toBe("SUCCESS\n\nOK\n")
    const r2 = await etcdctl(server.endpoint, ["txn"], txn)
    expect(r2.stdout).toBe("FAILURE\n\nlock\ntaken\n")
  })

  it("watches from a past revision and then live", async () => {
    await ok("put", "watched", "one")
    const rev = await revisionOf("watched")
    await ok("put", "watched", "two")
    const watch = etcdctlStream(server.endpoint, ["watch", "watched", `--rev=${rev}`])
    let streams = -1
    const poll = setInterval(() => {
      void server.watchStats().then((s) => {
        streams = s.streams
      })
    }, 20)
    try {
      await eventually(() => watch.out().includes("two"), 10_000, "the replayed events")
      await ok("put", "watched", "three")
      await ok("del", "watched")
      await eventually(() => watch.out().endsWith("DELETE\nwatched\n\n"), 10_000, "the live events")
      expect(watch.out()).toBe(
        "PUT\nwatched\none\nPUT\nwatched\ntwo\nPUT\nwatched\nthree\nDELETE\nwatched\n\n",
      )
    } finally {
      watch.child.kill()
    }
    // The server lets go of the watch when the client dies.
    try {
      await eventually(() => streams === 0, 10_000, "the watch stream to close")
    } finally {
      clearInterval(poll)
    }
  })

  it("grants, keeps alive and revokes leases", async () => {
    const granted = await ok("lease", "grant", "60")
    const id = /^lease ([0-9a-f]+) granted with TTL\(60s\)$/m.exec(granted)?.[1]
    expect(id).toBeDefined()
    await ok("put", "session", "alive", `--lease=${id}`)
    expect(await ok("lease", "keep-alive", "--once", id!)).toBe(
      `lease ${id} keepalived with TTL(60)\n`,
    )
    expect(await ok("lease", "list")).toContain(id!)
    expect(await ok("lease", "timetolive", id!, "--keys")).toMatch(/attached keys\(\[session\]\)/)
    expect(await ok("lease", "revoke", id!)).toBe(`lease ${id} revoked\n`)
    expect(await ok("get", "session")).toBe("")
  })

  it("lists members and reports endpoint status", async () => {
    const members = JSON.parse(await ok("member", "list", "-w", "json"))
    expect(members.members).toHaveLength(1)
    expect(members.members[0].name).toBe("test")
    const status = JSON.parse(await ok("endpoint", "status", "-w", "json"))
    expect(status[0].Status.version).toBe("3.4.0")
    expect(status[0].Status.leader).toBe(members.members[0].ID)
    const hash = JSON.parse(await ok("endpoint", "hashkv", "-w", "json"))
    expect(hash[0].HashKV.hash).toBeGreaterThan(0)
  })

  it("compacts, and reads below the compaction fail with etcd's error", async () => {
    await ok("put", "c", "1")
    const rev = await revisionOf("c")
    await ok("put", "c", "2")
    expect(await ok("compaction", String(rev + 1))).toBe(`compacted revision ${rev + 1}\n`)
    const old = await run("get", "c", `--rev=${rev}`)
    expect(old.code).not.toBe(0)
    expect(old.stderr).toContain("Error: etcdserver: mvcc: required revision has been compacted")
  })

  it("reports bad input with etcd's messages", async () => {
    const empty = await run("put", "", "x")
    expect(empty.stderr).toContain("Error: etcdserver: key is not provided")
    const lease = await run("lease", "revoke", "1234")
    expect(lease.stderr).toContain("etcdserver: requested lease not found")
    const future = await run("get", "c", "--rev=1000000")
    expect(future.stderr).toContain("etcdserver: mvcc: required revision is a future revision")
  })
})
