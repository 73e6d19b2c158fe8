// The npm etcd3 client, unchanged, against the in-process store over gRPC.
import { Etcd3, GRPCInvalidArgumentError, GRPCOutOfRangeError } from "etcd3"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually, startServer, type TestServer } from "../support/server.ts"

let server: TestServer
let client: Etcd3

beforeAll(async () => {
  server = await startServer()
  client = new Etcd3({ hosts: server.endpoint })
})

afterAll(async () => {
  client.close()
  await server.close()
})

describe("etcd3 client", () => {
  it("puts and gets: single keys, prefixes, limits and old revisions", async () => {
    await client.put("app/a").value("1")
    await client.put("app/b").value("2")
    await client.put("app/c").value("3")
    await client.put("other").value("x")
    expect(await client.get("app/a").string()).toBe("1")
    expect(await client.getAll().prefix("app/").strings()).toEqual({
      "app/a": "1",
      "app/b": "2",
      "app/c": "3",
    })
    expect(await client.getAll().prefix("app/").limit(2).keys()).toEqual(["app/a", "app/b"])
    expect(await client.getAll().prefix("app/").count()).toBe(3)
    const first = await client.get("app/a").exec()
    const rev = first.kvs[0]!.mod_revision
    await client.put("app/a").value("changed")
    expect(await client.get("app/a").revision(rev).string()).toBe("1")
    expect(await client.get("app/a").string()).toBe("changed")
  })

  it("deletes, with previous values", async () => {
    await client.put("del/1").value("a")
    await client.put("del/2").value("b")
    const res = await client.delete().prefix("del/").getPrevious()
    expect(res.map((kv) => kv.value.toString())).toEqual(["a", "b"])
    expect(await client.getAll().prefix("del/").count()).toBe(0)
  })

  it("runs compare-and-swap transactions", async () => {
    await client.put("cas").value("v1")
    const ok = await client
      .if("cas", "Value", "==", "v1")
      .then(client.put("cas").value("v2"))
      .commit()
    expect(ok.succeeded).toBe(true)
    const no = await client
      .if("cas", "Value", "==", "v1")
      .then(client.put("cas").value("v3"))
      .else(client.get("cas"))
      .commit()
    expect(no.succeeded).toBe(false)
    expect(no.responses[0]!.response_range!.kvs[0]!.value.toString()).toBe("v2")
  })

  it("watches from a past revision, then live", async () => {
    const start = await client.put("w/k").value("0")
    const seen: string[] = []
    const watcher = await client.watch().prefix("w/").startRevision(start.header.revision).create()
    watcher.on("put", (kv) => seen.push(kv.value.toString()))
    watcher.on("delete", (kv) => seen.push(`deleted ${kv.key.toString()}`))
    await client.put("w/k").value("1")
    await client.delete().key("w/k")
    await eventually(() => seen.length >= 3, 10_000, "watch events")
    expect(seen).toEqual(["0", "1", "deleted w/k"])
    expect((await server.watchStats()).watchers).toBe(1)
    await watcher.cancel()
    let watchers = -1
    await eventually(
      () => {
        void server.watchStats().then((s) => {
          watchers = s.watchers
        })
        return watchers === 0
      },
      10_000,
      "the watcher to be cancelled",
    )
  })

  it("grants leases, keeps them alive and revokes them with their keys", async () => {
    const lease = client.lease(60, { autoKeepAlive: false })
    const id = await lease.grant()
    expect(Number(id)).toBeGreaterThan(0)
    await lease.put("leased").value("x")
    const ka = await lease.keepaliveOnce()
    expect(String(ka.TTL)).toBe("60")
    expect(await client.get("leased").string()).toBe("x")
    await lease.revoke()
    expect(await client.get("leased").string()).toBeNull()
  })

  it("reports etcd's errors", async () => {
    await expect(client.put("").value("x")).rejects.toThrow(GRPCInvalidArgumentError)
    await expect(client.put("").value("x")).rejects.toThrow("etcdserver: key is not provided")
    await expect(client.get("app/a").revision(1_000_000).string()).rejects.toThrow(
      GRPCOutOfRangeError,
    )
  })
})
