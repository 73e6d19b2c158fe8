// An informer against a real API server that stops, misses changes (and a
// compaction) while it is down, and comes back on the same port: the cache
// converges, and the delete it missed reaches the handlers as a delete.
import { assert, describe, it } from "@effect/vitest"
import { serve } from "@flotilla/apiserver"
import { KV } from "@flotilla/store"
import { Context, Duration, Effect, Exit, Layer, Scope } from "effect"
import { makeClient } from "../src/client.ts"
import { makeInformer } from "../src/informer.ts"
import { pod } from "./support.ts"

describe("informer across an API server restart", () => {
  it.live(
    "relists after the restart (410: compacted meanwhile) and reports the missed delete",
    () =>
      Effect.gen(function* () {
        const kv = Context.get(yield* Layer.build(KV.layerMemory()), KV)
        const first = yield* Scope.make()
        const server = yield* Scope.provide(Effect.orDie(serve(kv, {})), first)
        const client = makeClient({ server: server.url })
        for (const name of ["a", "b", "c"]) yield* client.pods.create("default", pod(name))
        const informer = yield* makeInformer(client.pods)
        const seen: Array<string> = []
        yield* informer.addEventHandler({
          onAdd: (p) => seen.push(`add ${p.metadata.name}`),
          onUpdate: (old, p) => {
            if (old !== p) seen.push(`update ${p.metadata.name}`)
          },
          onDelete: (p) => seen.push(`delete ${p.metadata.name}`),
        })
        yield* informer.waitForSync
        yield* Scope.close(first, Exit.void)

        // While it is down: changes through another server on the same store, then a compaction.
        const other = yield* Scope.make()
        const side = makeClient({
          server: (yield* Scope.provide(Effect.orDie(serve(kv, {})), other)).url,
        })
        yield* side.pods.delete("default", "a", { gracePeriodSeconds: 0 })
        yield* side.pods.create("default", pod("d"))
        yield* side.pods.patch("default", "b", { metadata: { labels: { changed: "yes" } } })
        const revision = Number((yield* side.pods.list("")).resourceVersion)
        yield* kv.compact({ revision })
        yield* Scope.close(other, Exit.void)

        yield* Effect.orDie(serve(kv, { port: Number(new URL(server.url).port) }))
        const converged = () =>
          informer.indexer.keys().sort().join() === "default/b,default/c,default/d" &&
          seen.includes("delete a") &&
          seen.includes("update b")
        // Waits on the condition (the reflector backs off 0.8 s, 1.6 s, ...), with a deadline.
        for (let i = 0; i < 300 && !converged(); i++) yield* Effect.sleep(Duration.millis(50))
        assert.isTrue(converged(), `cache ${informer.indexer.keys()} after ${seen}`)
        assert.deepStrictEqual(seen.slice(0, 3), ["add a", "add b", "add c"])
        assert.deepStrictEqual(seen.slice(3).sort(), ["add d", "delete a", "update b"])
        assert.strictEqual(yield* informer.lists, 2)
        assert.strictEqual(informer.indexer.get("default/b")?.metadata.labels?.changed, "yes")
        // The restarted server writes its own objects too: the revision is at least the compacted one.
        assert.isAtLeast(Number(yield* informer.resourceVersion), revision)
      }),
  )
})
