import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Event, Service } from "@flotilla/api"
import { Effect, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { InMemoryCluster } from "../src/memory.ts"
import { Scheduler } from "../src/service.ts"
import { node, pod } from "./fixtures.ts"

const run = <A, E>(
  cluster: InMemoryCluster,
  body: (s: Scheduler["Service"]) => Effect.Effect<A, E>,
  options = {},
) =>
  Effect.gen(function* () {
    const s = yield* Scheduler
    return yield* body(s)
  }).pipe(
    Effect.provide(Scheduler.layer({ seed: 7, ...options }).pipe(Layer.provide(cluster.layer))),
  )

const messages = (cluster: InMemoryCluster) =>
  cluster.events.map((e) => `${e.type} ${e.reason} ${e.involvedObject.name}: ${e.message}`)

describe("Scheduler service (in-memory source)", () => {
  it.effect("binds pending pods and records Scheduled events", () => {
    const cluster = new InMemoryCluster()
    cluster.createNode(node("n1", { cpu: "1" })).createNode(node("n2", { cpu: "1" }))
    cluster.createPod(pod("a", { requests: { cpu: "600m" } }))
    return run(cluster, (s) =>
      Effect.gen(function* () {
        yield* s.idle
        cluster.createPod(pod("b", { requests: { cpu: "600m" } }))
        yield* s.idle
        assert.strictEqual(cluster.bindings.length, 2)
        const nodes = new Set([cluster.nodeOf("default", "a"), cluster.nodeOf("default", "b")])
        assert.deepStrictEqual([...nodes].sort(), ["n1", "n2"])
        const events = cluster.events
        assert.deepStrictEqual(
          events.map((e) => [e.type, e.reason, e.involvedObject.kind, e.source?.component]),
          [
            ["Normal", "Scheduled", "Pod", "default-scheduler"],
            ["Normal", "Scheduled", "Pod", "default-scheduler"],
          ],
        )
        assert.match(events[0]!.message ?? "", /^Successfully assigned default\/a to n[12]$/)
        assert.strictEqual(
          s.core.cache.getNode(cluster.nodeOf("default", "a")!)!.requested.milliCPU,
          600,
        )
      }),
    )
  })

  it.effect("records FailedScheduling, then schedules when a node arrives", () => {
    const cluster = new InMemoryCluster()
    cluster.createNode(node("small", { cpu: "500m" }))
    cluster.createPod(pod("big", { requests: { cpu: "2" } }))
    return run(cluster, (s) =>
      Effect.gen(function* () {
        yield* s.idle
        assert.deepStrictEqual(messages(cluster), [
          "Warning FailedScheduling big: 0/1 nodes are available: 1 Insufficient cpu.",
        ])
        assert.strictEqual(s.core.queue.where("default/big"), "unschedulable")
        cluster.createNode(node("large", { cpu: "4" }))
        // The node event moves the pod to backoff; it is retried once its 1 s backoff ends.
        yield* s.idle
        yield* TestClock.adjust(1000)
        yield* s.idle
        assert.strictEqual(cluster.nodeOf("default", "big"), "large")
        assert.strictEqual(
          messages(cluster)[1],
          "Normal Scheduled big: Successfully assigned default/big to large",
        )
      }),
    )
  })

  it.effect("a rejected binding is reported, forgotten and retried", () => {
    const cluster = new InMemoryCluster()
    cluster.createNode(node("n1"))
    let rejections = 1
    cluster.rejectBinding = () => (rejections-- > 0 ? "etcdserver: request timed out" : undefined)
    cluster.createPod(pod("p", { requests: { cpu: "1" } }))
    return run(cluster, (s) =>
      Effect.gen(function* () {
        yield* s.idle
        assert.deepStrictEqual(messages(cluster), [
          "Warning FailedScheduling p: Binding rejected: etcdserver: request timed out",
        ])
        assert.strictEqual(s.core.cache.getNode("n1")!.requested.milliCPU, 0)
        // Unschedulable pods are retried after the 60 s unschedulable timeout at the latest.
        yield* TestClock.adjust(61_000)
        yield* s.idle
        assert.strictEqual(cluster.nodeOf("default", "p"), "n1")
        assert.strictEqual(cluster.bindings.length, 1)
      }),
    )
  })

  it.effect("deleting a pod on a full node lets a pending pod in", () => {
    const cluster = new InMemoryCluster()
    cluster.createNode(node("n1", { pods: "1" }))
    cluster.createPod(pod("first"))
    return run(cluster, (s) =>
      Effect.gen(function* () {
        yield* s.idle
        cluster.createPod(pod("second"))
        yield* s.idle
        assert.strictEqual(cluster.nodeOf("default", "second"), undefined)
        assert.strictEqual(
          messages(cluster)[1],
          "Warning FailedScheduling second: 0/1 nodes are available: 1 Too many pods.",
        )
        cluster.deletePod("default", "first")
        yield* s.idle
        yield* TestClock.adjust(1000)
        yield* s.idle
        assert.strictEqual(cluster.nodeOf("default", "second"), "n1")
      }),
    )
  })

  it.effect("a bad configuration fails the layer with the field path", () =>
    Effect.gen(function* () {
      const cluster = new InMemoryCluster()
      const exit = yield* Effect.exit(
        run(cluster, () => Effect.void, {
          configuration: {
            apiVersion: "kubescheduler.config.k8s.io/v1",
            kind: "KubeSchedulerConfiguration",
            percentageOfNodesToScore: -1,
          },
        }),
      )
      assert.isTrue(exit._tag === "Failure")
      assert.include(String(exit), "percentageOfNodesToScore: not in valid range [0-100]")
    }),
  )
})

describe("Scheduler service: configuration files", () => {
  const withFile = <A, E>(text: string, body: (file: string) => Effect.Effect<A, E>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "scheduler-config-"))),
      (dir) => {
        const file = join(dir, "scheduler.yaml")
        writeFileSync(file, text)
        return body(file)
      },
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
    )

  it.effect("a YAML file configures the profiles; its problems name file, line and field", () =>
    Effect.gen(function* () {
      const cluster = new InMemoryCluster()
      cluster.createNode(node("n1", { cpu: "1" }))
      cluster.createPod(pod("a", { schedulerName: "batch" }))
      const good = [
        "apiVersion: kubescheduler.config.k8s.io/v1",
        "kind: KubeSchedulerConfiguration",
        "profiles:",
        "  - schedulerName: batch",
        "",
      ].join("\n")
      yield* withFile(good, (file) => run(cluster, (s) => s.idle, { configurationFile: file }))
      assert.strictEqual(cluster.nodeOf("default", "a"), "n1")
      assert.strictEqual(cluster.events[0]?.source?.component, "batch")

      const bad = good.replace("schedulerName: batch", "schedulerName: batch\n    plugins: 3")
      const message = yield* withFile(bad, (file) =>
        Effect.map(
          Effect.flip(run(new InMemoryCluster(), () => Effect.void, { configurationFile: file })),
          (e) => ({ file, message: e.message }),
        ),
      )
      assert.strictEqual(message.message, `${message.file}:5: profiles[0].plugins: Expected object`)
      const missing = yield* Effect.flip(
        run(new InMemoryCluster(), () => Effect.void, { configurationFile: "/nonexistent.yaml" }),
      )
      assert.strictEqual(
        missing.message,
        "/nonexistent.yaml: cannot read: no such file or directory",
      )
    }),
  )
})

describe("Scheduler service: Events and spreading", () => {
  it.effect("records Events that decode as @flotilla/api Events", () => {
    const cluster = new InMemoryCluster()
    cluster.createNode(node("n1"))
    cluster.createPod(pod("a"))
    cluster.createPod(pod("b", { nodeSelector: { missing: "x" } }))
    return run(cluster, (s) =>
      Effect.gen(function* () {
        yield* s.idle
        assert.strictEqual(cluster.events.length, 2)
        for (const e of cluster.events) {
          const decoded = Schema.decodeUnknownSync(Event)(JSON.parse(JSON.stringify(e)))
          assert.strictEqual(decoded.involvedObject.kind, "Pod")
          assert.strictEqual(decoded.count, 1)
          assert.match(decoded.firstTimestamp ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
        }
      }),
    )
  })

  it.effect("spreads the pods of a Service across nodes", () => {
    // One big node the resource scores prefer, two small ones.
    const place = (withService: boolean) => {
      const cluster = new InMemoryCluster()
      cluster.createNode(node("big", { cpu: "64", memory: "256Gi" }))
      cluster.createNode(node("small-1", { cpu: "1", memory: "2Gi" }))
      cluster.createNode(node("small-2", { cpu: "1", memory: "2Gi" }))
      if (withService) {
        cluster.createService(
          Schema.decodeUnknownSync(Service)({
            metadata: { name: "web", namespace: "default" },
            spec: { selector: { app: "web" } },
          }),
        )
      }
      return run(cluster, (s) =>
        Effect.gen(function* () {
          for (let i = 0; i < 6; i++) cluster.createPod(pod(`web-${i}`, { labels: { app: "web" } }))
          yield* s.idle
          const perNode: Record<string, number> = {}
          for (let i = 0; i < 6; i++) {
            const n = cluster.nodeOf("default", `web-${i}`)!
            perNode[n] = (perNode[n] ?? 0) + 1
          }
          return perNode
        }),
      )
    }
    return Effect.gen(function* () {
      assert.deepStrictEqual(yield* place(false), { big: 6 })
      assert.deepStrictEqual(yield* place(true), { big: 2, "small-1": 2, "small-2": 2 })
    })
  })
})

describe("Scheduler service: pod conditions", () => {
  it.effect(
    "sets PodScheduled=False with reason Unschedulable, without retrying the pod for it",
    () => {
      const cluster = new InMemoryCluster()
      cluster.createNode(node("n1", { cpu: "1" }))
      cluster.createPod(pod("big", { requests: { cpu: "2" } }))
      return run(cluster, (s) =>
        Effect.gen(function* () {
          yield* s.idle
          const conditions = cluster.pods.get("default/big")!.status.conditions ?? []
          assert.deepStrictEqual(
            conditions.map((c) => [c.type, c.status, c.reason, c.message]),
            [
              [
                "PodScheduled",
                "False",
                "Unschedulable",
                "0/1 nodes are available: 1 Insufficient cpu.",
              ],
            ],
          )
          // The condition update is not a spec change: the pod stays parked, with one event.
          assert.strictEqual(s.core.queue.where("default/big"), "unschedulable")
          assert.strictEqual(cluster.events.length, 1)
        }),
      )
    },
  )
})
