// Writes of one object with a long keyed list (a pod of n containers) through
// the handler: create, strategic merge patch of every container, server-side
// apply of every container. Each request holds the one event loop for its
// whole time, so this must grow linearly with n (a scan per item made it
// quadratic: a 1.4 MB patch of 20,000 containers held the loop for tens of
// seconds). Wall milliseconds per request, for n = 3,000, 6,000, 12,000.
//
//   tsx --conditions=@flotilla/source bench/lists.ts
import { KV } from "@flotilla/store"
import { Context, Effect, Layer } from "effect"
import { makeHandler } from "../src/handler.ts"
import { bootstrap } from "../src/server.ts"
import { makeObjectStore } from "../src/storage.ts"

const sizes = [3000, 6000, 12000]
const encoder = new TextEncoder()

const program = Effect.scoped(
  Effect.gen(function* () {
    const context = yield* Layer.build(KV.layerMemory())
    const handle = makeHandler(makeObjectStore(Context.get(context, KV)), {})
    yield* bootstrap(handle, 6443)
    const request = (
      method: string,
      path: string,
      body: unknown,
      contentType: string,
      query = "",
    ) =>
      Effect.gen(function* () {
        const t = performance.now()
        const r = yield* handle({
          method,
          path,
          query: new URLSearchParams(query),
          headers: {
            "content-type": contentType,
            accept: "application/json",
            "user-agent": "bench",
          },
          body: encoder.encode(JSON.stringify(body)),
        })
        if (r._tag !== "Body" || r.status >= 300) throw new Error(`${method} ${path}: ${r.status}`)
        return Math.round(performance.now() - t)
      })
    const rows: Array<Record<string, number>> = []
    for (const n of sizes) {
      const name = `big-${n}`
      const path = `/api/v1/namespaces/default/pods/${name}`
      const containers = Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image: "x" }))
      const pod = (image: string) => ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name },
        spec: { containers: containers.map((c) => ({ ...c, image })) },
      })
      const create = yield* request(
        "POST",
        "/api/v1/namespaces/default/pods",
        pod("x"),
        "application/json",
      )
      const patch = yield* request(
        "PATCH",
        path,
        { spec: { containers: containers.map((c) => ({ name: c.name, image: "y" })) } },
        "application/strategic-merge-patch+json",
      )
      const apply = yield* request(
        "PATCH",
        path,
        pod("z"),
        "application/apply-patch+yaml",
        "fieldManager=bench&force=true",
      )
      // One manager applies n env vars to one container, then applies 2: it drops n - 2 items.
      const envPod = (k: number) => ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `env-${n}` },
        spec: {
          containers: [
            {
              name: "main",
              image: "x",
              env: Array.from({ length: k }, (_, i) => ({ name: `E${i}`, value: "v" })),
            },
          ],
        },
      })
      const envPath = `/api/v1/namespaces/default/pods/env-${n}`
      yield* request(
        "PATCH",
        envPath,
        envPod(n),
        "application/apply-patch+yaml",
        "fieldManager=bench",
      )
      // The pod's env is immutable, so the apply ends in a 422 (nothing written): the time is the dropping.
      const t0 = performance.now()
      yield* Effect.exit(
        request("PATCH", envPath, envPod(2), "application/apply-patch+yaml", "fieldManager=bench"),
      )
      const dropMs = Math.round(performance.now() - t0)
      rows.push({
        containers: n,
        createMs: create,
        strategicPatchMs: patch,
        applyMs: apply,
        applyDroppingMs: dropMs,
      })
      console.log(
        `${String(n).padStart(6)} containers  create ${String(create).padStart(5)} ms  strategic patch ${String(patch).padStart(5)} ms  apply ${String(apply).padStart(5)} ms  apply dropping ${n - 2} env vars ${String(dropMs).padStart(5)} ms`,
      )
    }
    console.log(JSON.stringify({ lists: rows }))
  }),
)
Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exit(1)
})
