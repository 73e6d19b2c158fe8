// The API server on a real etcd (Debian's etcd-server, /usr/bin/etcd)
// through the store's remote KV layer: the same semantics as on the embedded
// store (optimistic concurrency, pages at one revision, watches from a
// revision, 410 after compaction).
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { KV } from "@flotilla/store"
import { Effect, Fiber, Layer, type Scope, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { deployment, makeApi, pod } from "../support-handler.ts"

const etcdBinary = "/usr/bin/etcd"

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

let etcd: ChildProcess | undefined
let dir: string
let endpoint: string

beforeAll(async () => {
  if (!existsSync(etcdBinary))
    throw new Error(`${etcdBinary} is not installed (Debian package etcd-server)`)
  dir = mkdtempSync(join(tmpdir(), "flotilla-etcd-"))
  const client = await freePort()
  const peer = await freePort()
  endpoint = `127.0.0.1:${client}`
  const child = spawn(etcdBinary, [
    "--name=t",
    `--data-dir=${join(dir, "data")}`,
    `--listen-client-urls=http://${endpoint}`,
    `--advertise-client-urls=http://${endpoint}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=t=http://127.0.0.1:${peer}`,
  ])
  etcd = child
  await new Promise<void>((resolve, reject) => {
    let log = ""
    const timer = setTimeout(() => reject(new Error(`etcd did not start:\n${log}`)), 30_000)
    const onData = (d: Buffer) => {
      log += d.toString("utf8")
      if (log.includes("ready to serve client requests")) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stderr?.on("data", onData)
    child.stdout?.on("data", onData)
    child.once("exit", (code) => reject(new Error(`etcd exited (${code}):\n${log}`)))
  })
})

afterAll(() => {
  etcd?.kill()
  rmSync(dir, { recursive: true, force: true })
})

const onEtcd = <A, E>(effect: Effect.Effect<A, E, KV | Scope.Scope>) =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(Layer.fresh(KV.layerRemote({ endpoints: [endpoint] }))),
      Effect.scoped,
    ),
  )

describe("the API server on a real etcd", () => {
  it("creates, reads and refuses stale writes", async () => {
    await onEtcd(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const created = yield* api.call("POST", "/apis/apps/v1/namespaces/default/deployments", {
          body: deployment("web"),
        })
        expect(created.status).toBe(201)
        const got = yield* api.call("GET", "/apis/apps/v1/namespaces/default/deployments/web")
        expect(got.body.metadata.resourceVersion).toBe(created.body.metadata.resourceVersion)
        const fresh = yield* api.call("PUT", "/apis/apps/v1/namespaces/default/deployments/web", {
          body: { ...created.body, spec: { ...created.body.spec, replicas: 2 } },
        })
        expect(fresh.body.metadata.generation).toBe(2)
        const stale = yield* api.call("PUT", "/apis/apps/v1/namespaces/default/deployments/web", {
          body: { ...created.body, spec: { ...created.body.spec, replicas: 3 } },
        })
        expect(stale.status).toBe(409)
      }),
    )
  })

  it("pages at one revision and watches from a revision", async () => {
    await onEtcd(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const pods = "/api/v1/namespaces/etcd-test/pods"
        yield* api.call("POST", "/api/v1/namespaces", {
          body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "etcd-test" } },
        })
        for (const n of ["a", "b", "c"]) yield* api.call("POST", pods, { body: pod(n) })
        const first = yield* api.call("GET", pods, { query: { limit: "2" } })
        expect(
          first.body.items.map((p: { metadata: { name: string } }) => p.metadata.name),
        ).toEqual(["a", "b"])
        yield* api.call("POST", pods, { body: pod("bb") })
        const rest = yield* api.call("GET", pods, {
          query: { limit: "2", continue: first.body.metadata.continue },
        })
        expect(rest.body.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(
          ["c"],
        )
        const stream = yield* api.watch(pods, {
          resourceVersion: first.body.metadata.resourceVersion,
        })
        const fiber = yield* Effect.forkChild(Stream.runCollect(Stream.take(stream, 2)))
        yield* api.call("DELETE", `${pods}/a`)
        const events = yield* Fiber.join(fiber)
        expect(
          events.map(
            (e: { type: string; object: { metadata: { name: string } } }) =>
              `${e.type} ${e.object.metadata.name}`,
          ),
        ).toEqual(["ADDED bb", "DELETED a"])
      }),
    )
  })

  it("answers 410 for compacted revisions", async () => {
    await onEtcd(
      Effect.gen(function* () {
        const api = yield* makeApi({ caches: false })
        const pods = "/api/v1/namespaces/default/pods"
        const old = yield* api.call("POST", pods, { body: pod("old") })
        yield* api.call("POST", pods, { body: pod("newer") })
        const latest = yield* api.call("POST", pods, { body: pod("newest") })
        const kv = yield* KV
        yield* Effect.orDie(kv.compact({ revision: Number(latest.body.metadata.resourceVersion) }))
        const list = yield* api.call("GET", pods, {
          query: {
            resourceVersion: old.body.metadata.resourceVersion,
            resourceVersionMatch: "Exact",
          },
        })
        expect(list.status).toBe(410)
        const stream = yield* api.watch(pods, {
          resourceVersion: old.body.metadata.resourceVersion,
        })
        const [event] = yield* Stream.runCollect(Stream.take(stream, 1))
        expect(event.type).toBe("ERROR")
        expect(event.object.code).toBe(410)
      }),
    )
  })
})
