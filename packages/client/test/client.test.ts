// The typed client against a real API server (in-memory store, 127.0.0.1).
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { isConflict, isNotFound } from "../src/client.ts"
import { pod, withServer } from "./support.ts"

describe("KubeClient", () => {
  it.live("creates, gets, lists, patches, updates and deletes", () =>
    Effect.gen(function* () {
      const { client } = yield* withServer
      const created = yield* client.pods.create("default", pod("a", { app: "web" }))
      assert.strictEqual(created.metadata.name, "a")
      assert.strictEqual(created.status?.phase, "Pending")
      const got = yield* client.pods.get("default", "a")
      assert.strictEqual(got.metadata.uid, created.metadata.uid)
      yield* client.pods.create("default", pod("b", { app: "db" }))
      const web = yield* client.pods.list("default", { labelSelector: "app=web" })
      assert.deepStrictEqual(
        web.items.map((p) => p.metadata.name),
        ["a"],
      )
      const patched = yield* client.pods.patch("default", "a", {
        metadata: { labels: { tier: "front" } },
      })
      assert.strictEqual(patched.metadata.labels?.tier, "front")
      const stale = yield* Effect.flip(
        client.pods.update({ ...got, metadata: { ...got.metadata, labels: { x: "y" } } }),
      )
      assert.isTrue(isConflict(stale))
      const updated = yield* client.pods.update({
        ...patched,
        metadata: { ...patched.metadata, labels: { x: "y" } },
      })
      assert.deepStrictEqual(updated.metadata.labels, { x: "y" })
      const status = yield* client.pods.updateStatus({
        ...updated,
        status: { ...updated.status, phase: "Running" },
      })
      assert.strictEqual(status.status?.phase, "Running")
      yield* client.pods.delete("default", "a")
      const gone = yield* Effect.flip(client.pods.get("default", "a"))
      assert.isTrue(isNotFound(gone))
      assert.strictEqual(gone._tag, "ApiStatusError")
      assert.strictEqual(gone.message, 'pods "a" not found')
    }),
  )

  it.live("pages through lists and watches changes as a Stream", () =>
    Effect.gen(function* () {
      const { client } = yield* withServer
      for (let i = 0; i < 7; i++) yield* client.pods.create("default", pod(`p${i}`))
      const all = yield* client.pods.listAll("default", { limit: 3 })
      assert.strictEqual(all.items.length, 7)
      const fiber = yield* client.pods
        .watch("default", { resourceVersion: all.resourceVersion })
        .pipe(Stream.take(3), Stream.runCollect, Effect.forkChild)
      yield* client.pods.create("default", pod("new"))
      yield* client.pods.patch("default", "new", { metadata: { labels: { a: "b" } } })
      yield* client.pods.delete("default", "p0")
      const events = yield* Fiber.join(fiber)
      assert.deepStrictEqual(
        events.map((e) =>
          e.type === "ADDED" || e.type === "MODIFIED" || e.type === "DELETED"
            ? `${e.type} ${e.object.metadata.name}`
            : e.type,
        ),
        ["ADDED new", "MODIFIED new", "DELETED p0"],
      )
    }),
  )

  it.live("binds pods, scales deployments and applies server-side", () =>
    Effect.gen(function* () {
      const { client } = yield* withServer
      yield* client.pods.create("default", pod("p"))
      yield* client.pods.bind("default", "p", "node-1")
      assert.strictEqual((yield* client.pods.get("default", "p")).spec.nodeName, "node-1")
      const again = yield* Effect.flip(client.pods.bind("default", "p", "node-2"))
      assert.isTrue(isConflict(again))
      const deployment = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: "default" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "c", image: "nginx" }] },
          },
        },
      }
      const applied = yield* client.deployments.apply(deployment as never, { fieldManager: "test" })
      assert.strictEqual(applied.spec.replicas, 2)
      const scale = yield* client.deployments.scale("default", "web", 4)
      assert.strictEqual(scale.spec.replicas, 4)
      assert.strictEqual(scale.status.selector, "app=web")
      assert.strictEqual((yield* client.deployments.get("default", "web")).spec.replicas, 4)
    }),
  )
})
