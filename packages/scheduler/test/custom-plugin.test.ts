import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { NodeCost, NodeCostName, UnderMaintenance } from "../examples/node-cost.ts"
import { defaultRegistry, define } from "../src/core/registry.ts"
import { InMemoryCluster } from "../src/memory.ts"
import { Scheduler } from "../src/service.ts"
import { node, pod } from "./fixtures.ts"

/** The configuration file a user would write (kube-scheduler's format). */
const configFile = JSON.stringify({
  apiVersion: "kubescheduler.config.k8s.io/v1",
  kind: "KubeSchedulerConfiguration",
  profiles: [
    {
      schedulerName: "default-scheduler",
      plugins: {
        filter: { enabled: [{ name: "NodeCost" }] },
        score: { enabled: [{ name: "NodeCost", weight: 5 }] },
      },
      pluginConfig: [{ name: "NodeCost", args: { maxCost: 10 } }],
    },
  ],
})

const registry = defaultRegistry().register(
  define({
    name: NodeCostName,
    args: Schema.Struct({ maxCost: Schema.Number.check(Schema.isGreaterThan(0)) }),
    defaultArgs: { maxCost: 100 },
    factory: (args) => new NodeCost(args),
  }),
)

const cluster = () => {
  const c = new InMemoryCluster()
  // "busy" is emptier on paper but expensive; "cheap" already runs a pod; "repair" is the cheapest but in maintenance.
  c.createNode(node("busy", { cpu: "8", labels: { "example.com/cost": "9" } }))
  c.createNode(node("cheap", { cpu: "4", labels: { "example.com/cost": "2" } }))
  c.createNode(
    node("repair", {
      cpu: "8",
      labels: { "example.com/cost": "0", "example.com/maintenance": "true" },
    }),
  )
  c.createPod(pod("existing", { requests: { cpu: "2", memory: "8Gi" }, nodeName: "cheap" }))
  return c
}

describe("a custom filter + score plugin enabled from a configuration file", () => {
  it.effect("changes placements", () =>
    Effect.gen(function* () {
      const run = (configuration: unknown) =>
        Effect.gen(function* () {
          const c = cluster()
          const nodeOf = yield* Effect.gen(function* () {
            const s = yield* Scheduler
            c.createPod(pod("web", { requests: { cpu: "1", memory: "1Gi" } }))
            yield* s.idle
            return c.nodeOf("default", "web")
          }).pipe(
            Effect.provide(
              Scheduler.layer({ registry, configuration, seed: 1 }).pipe(Layer.provide(c.layer)),
            ),
          )
          return { nodeOf, c }
        })
      // Without the plugin: the default scores favour the big empty nodes.
      const plain = yield* run(undefined)
      assert.oneOf(plain.nodeOf, ["busy", "repair"])
      // With it (weight 5): the cheap node wins and the node in maintenance is filtered out.
      const custom = yield* run(JSON.parse(configFile))
      assert.strictEqual(custom.nodeOf, "cheap")
      assert.notStrictEqual(plain.nodeOf, custom.nodeOf)
      assert.deepStrictEqual(custom.c.bindings, [{ pod: "default/web", node: "cheap" }])
    }),
  )

  it.effect("its filter reason shows in FailedScheduling", () =>
    Effect.gen(function* () {
      const c = new InMemoryCluster()
      c.createNode(node("repair", { labels: { "example.com/maintenance": "true" } }))
      c.createNode(node("tiny", { cpu: "100m" }))
      yield* Effect.gen(function* () {
        const s = yield* Scheduler
        c.createPod(pod("web", { requests: { cpu: "1" } }))
        yield* s.idle
      }).pipe(
        Effect.provide(
          Scheduler.layer({ registry, configuration: JSON.parse(configFile) }).pipe(
            Layer.provide(c.layer),
          ),
        ),
      )
      assert.strictEqual(
        c.events[0]?.message,
        `0/2 nodes are available: 1 Insufficient cpu, 1 ${UnderMaintenance}.`,
      )
    }),
  )
})
