// Informers against a real API server, and the reflector's relist on 410
// against a scripted client.

import { assert, describe, it } from "@effect/vitest"
import type { Pod } from "@flotilla/api"
import { Effect, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { List, ResourceClient, WatchEvent } from "../src/client.ts"
import { keyOf, labelsIndex, nodeNameIndex } from "../src/core/indexer.ts"
import { makeInformer } from "../src/informer.ts"
import { makeWorkQueue } from "../src/workqueue.ts"
import { goneEvent, pod, withServer } from "./support.ts"

describe("informer", () => {
  it.live("lists, then watches, keeping an indexed cache; handlers only enqueue", () =>
    Effect.gen(function* () {
      const { client } = yield* withServer
      yield* client.pods.create("default", pod("a", { app: "web" }))
      const informer = yield* makeInformer(client.pods, {
        indexers: { labels: labelsIndex, node: nodeNameIndex },
      })
      const queue = yield* makeWorkQueue<string>()
      const seen: Array<string> = []
      yield* informer.addEventHandler({
        onAdd: (p) => {
          seen.push(`add ${p.metadata.name}`)
          queue.addUnsafe(keyOf(p))
        },
        onUpdate: (_, p) => {
          seen.push(`update ${p.metadata.name}`)
          queue.addUnsafe(keyOf(p))
        },
        onDelete: (p) => {
          seen.push(`delete ${p.metadata.name}`)
          queue.addUnsafe(keyOf(p))
        },
      })
      yield* informer.waitForSync
      assert.strictEqual(yield* queue.get, "default/a")
      yield* queue.done("default/a")
      yield* client.pods.create("default", pod("b", { app: "web" }))
      yield* client.pods.bind("default", "b", "n1")
      yield* client.pods.delete("default", "a")
      const keys: Array<string> = []
      while (keys.length < 2) {
        const k = (yield* queue.get) as string
        keys.push(k)
        yield* queue.done(k)
      }
      // Wait for the last change to reach the handlers before reading the cache.
      while (!seen.includes("delete a")) {
        const k = (yield* queue.get) as string
        yield* queue.done(k)
      }
      assert.deepStrictEqual(
        seen.filter((s) => s.startsWith("add")),
        ["add a", "add b"],
      )
      assert.include(seen, "update b")
      assert.deepStrictEqual(informer.indexer.keys(), ["default/b"])
      assert.deepStrictEqual(informer.indexer.byIndex("node", "n1").map(keyOf), ["default/b"])
      assert.deepStrictEqual(informer.indexer.byIndex("labels", "app=web").map(keyOf), [
        "default/b",
      ])
      assert.strictEqual(yield* informer.lists, 1)
    }),
  )

  it.effect("lists again when the watch says 410 Gone, and tells handlers what changed", () =>
    Effect.gen(function* () {
      const p = (name: string, rv: string): Pod => ({
        ...pod(name),
        metadata: { name, namespace: "default", resourceVersion: rv },
      })
      const lists: Array<List<Pod>> = [
        { items: [p("a", "5")], resourceVersion: "5", continue: undefined },
        { items: [p("b", "9")], resourceVersion: "9", continue: undefined },
      ]
      let listCalls = 0
      const watches: Array<Stream.Stream<WatchEvent<Pod>>> = [
        Stream.make(goneEvent<Pod>("too old resource version: 5 (8)")),
        Stream.never,
      ]
      const fake = {
        listAll: () =>
          Effect.sync(() => lists[Math.min(listCalls++, lists.length - 1)] as List<Pod>),
        watch: () => watches.shift() ?? Stream.never,
      } as unknown as ResourceClient<Pod>
      const informer = yield* makeInformer(fake)
      const queue = yield* makeWorkQueue<string>()
      const seen: Array<string> = []
      yield* informer.addEventHandler({
        onAdd: (o) => {
          seen.push(`add ${o.metadata.name}`)
          queue.addUnsafe(`add ${o.metadata.name}`)
        },
        onDelete: (o) => {
          seen.push(`delete ${o.metadata.name}`)
          queue.addUnsafe(`delete ${o.metadata.name}`)
        },
      })
      // The relist waits the first backoff step (0.8 s).
      for (let i = 0; i < 50; i++) yield* Effect.yieldNow
      yield* TestClock.adjust("800 millis")
      const got: Array<string> = []
      while (got.length < 3) {
        const item = (yield* queue.get) as string
        got.push(item)
        yield* queue.done(item)
      }
      assert.deepStrictEqual(seen, ["add a", "add b", "delete a"])
      assert.deepStrictEqual(informer.indexer.keys(), ["default/b"])
      assert.strictEqual(yield* informer.lists, 2)
      assert.strictEqual(yield* informer.resourceVersion, "9")
    }),
  )
})

describe("informer resync", () => {
  it.effect("re-delivers every cached object as an update each period", () =>
    Effect.gen(function* () {
      const p = (name: string): Pod => ({
        ...pod(name),
        metadata: { name, namespace: "default", resourceVersion: "1" },
      })
      const fake = {
        listAll: () =>
          Effect.succeed({
            items: [p("a"), p("b")],
            resourceVersion: "1",
            continue: undefined,
          } as List<Pod>),
        watch: () => Stream.never,
      } as unknown as ResourceClient<Pod>
      const informer = yield* makeInformer(fake, { resyncPeriod: "30 seconds" })
      const updates: Array<string> = []
      yield* informer.addEventHandler({
        onUpdate: (old, o) => updates.push(`${old === o ? "same" : "changed"} ${o.metadata.name}`),
      })
      yield* informer.waitForSync
      assert.deepStrictEqual(updates, [])
      for (let i = 0; i < 20 && updates.length < 2; i++) {
        yield* TestClock.adjust("30 seconds")
        yield* Effect.yieldNow
      }
      assert.deepStrictEqual(updates.sort(), ["same a", "same b"])
    }),
  )
})
