// The scheduler against a real API server started in the test process: nodes
// and pods created through the API, bindings through pods/binding, Events and
// the PodScheduled condition written back, and what kubectl shows of them.
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import type { Pod } from "@flotilla/api"
import type { KubeClientShape } from "@flotilla/client"
import { Context, Effect, Layer, Schema } from "effect"
import { NodeCost, NodeCostName } from "../examples/node-cost.ts"
import { defaultRegistry, define } from "../src/core/registry.ts"
import { makeInformerSource } from "../src/informers.ts"
import { Scheduler, type SchedulerOptions } from "../src/service.ts"
import { ClusterSource } from "../src/source.ts"
import {
  apiNode,
  apiPod,
  eventsOf,
  kubectlFor,
  parseTable,
  startCluster,
  waitFor,
  waitForBinding,
  waitForEvent,
} from "./support/cluster.ts"

/** Starts the informer-backed scheduler in the current scope. */
const startScheduler = (client: KubeClientShape, options: SchedulerOptions = {}) =>
  Effect.map(
    Layer.build(Scheduler.layerClient(client, { seed: 1, tickMs: 50, ...options })),
    (context) => Context.get(context, Scheduler),
  )

const scheduledCondition = (p: Pod) => p.status?.conditions?.find((c) => c.type === "PodScheduled")

describe("the scheduler on a real API server", () => {
  it.live("binds pods to nodes created through the API; Scheduled events; kubectl shows both", () =>
    Effect.gen(function* () {
      const { client, url, dir } = yield* startCluster
      yield* client.nodes.create("", apiNode("node-1", { labels: { disktype: "ssd" } }))
      yield* client.nodes.create("", apiNode("node-2", { labels: { disktype: "hdd" } }))
      yield* client.nodes.create(
        "",
        apiNode("node-3", {
          cpu: "8",
          labels: { accelerator: "gpu" },
          taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }],
        }),
      )
      yield* startScheduler(client)
      yield* client.pods.create("default", apiPod("web-0", { nodeSelector: { disktype: "ssd" } }))
      yield* client.pods.create(
        "default",
        apiPod("train-0", {
          cpu: "6",
          tolerations: [
            { key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" },
          ],
        }),
      )
      yield* client.pods.create("default", apiPod("cache-0", { cpu: "3" }))

      const web = yield* waitForBinding(client, "web-0")
      const train = yield* waitForBinding(client, "train-0")
      const cache = yield* waitForBinding(client, "cache-0")
      assert.strictEqual(web.spec.nodeName, "node-1") // the only ssd node
      assert.strictEqual(train.spec.nodeName, "node-3") // 6 CPUs fit only the 8-CPU node it tolerates
      assert.strictEqual(cache.spec.nodeName, "node-2") // node-3's taint is not tolerated; node-1 is busier
      for (const p of [web, train, cache]) assert.strictEqual(scheduledCondition(p)?.status, "True")

      for (const [pod, node] of [
        ["web-0", "node-1"],
        ["train-0", "node-3"],
        ["cache-0", "node-2"],
      ] as const) {
        const e = yield* waitForEvent(client, pod, "Scheduled")
        assert.strictEqual(e.message, `Successfully assigned default/${pod} to ${node}`)
        assert.strictEqual(e.type, "Normal")
        assert.strictEqual(e.source?.component, "default-scheduler")
        assert.strictEqual(e.reportingComponent, "default-scheduler")
        assert.strictEqual(e.count, 1)
        assert.strictEqual(e.involvedObject.kind, "Pod")
        const uid = (yield* client.pods.get("default", pod)).metadata.uid
        assert.strictEqual(e.involvedObject.uid, uid)
      }

      const kubectl = kubectlFor(url, dir)
      const events = yield* Effect.promise(() => kubectl.run("get", "events"))
      for (const [pod, node] of [
        ["web-0", "node-1"],
        ["train-0", "node-3"],
        ["cache-0", "node-2"],
      ] as const) {
        assert.match(
          events,
          new RegExp(
            `Normal\\s+Scheduled\\s+pod/${pod}\\s+Successfully assigned default/${pod} to ${node}\\n`,
          ),
        )
      }
      const pods = parseTable(yield* Effect.promise(() => kubectl.run("get", "pods", "-o", "wide")))
      assert.deepStrictEqual(
        pods.map((r) => [r.NAME, r.NODE]),
        [
          ["cache-0", "node-2"],
          ["train-0", "node-3"],
          ["web-0", "node-1"],
        ],
      )
    }),
  )

  it.live(
    "an unschedulable pod gets Kubernetes' FailedScheduling message and PodScheduled=False, then lands on a node added later",
    () =>
      Effect.gen(function* () {
        const { client, url, dir } = yield* startCluster
        yield* client.nodes.create("", apiNode("small", { cpu: "1" }))
        yield* client.nodes.create(
          "",
          apiNode("tainted", {
            cpu: "8",
            taints: [{ key: "gpu", value: "true", effect: "NoSchedule" }],
          }),
        )
        yield* startScheduler(client)
        yield* client.pods.create("default", apiPod("big", { cpu: "2" }))
        const message =
          "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had taint {gpu: true}, that the pod didn't tolerate."
        const failed = yield* waitForEvent(client, "big", "FailedScheduling")
        assert.strictEqual(failed.message, message)
        assert.strictEqual(failed.type, "Warning")
        assert.strictEqual(failed.source?.component, "default-scheduler")
        const condition = yield* waitFor(
          "PodScheduled=False on big",
          Effect.map(client.pods.get("default", "big"), (p) => {
            const c = scheduledCondition(p as Pod)
            return c?.status === "False" ? c : undefined
          }),
        )
        assert.strictEqual(condition.reason, "Unschedulable")
        assert.strictEqual(condition.message, message)
        const kubectl = kubectlFor(url, dir)
        assert.match(
          yield* Effect.promise(() => kubectl.run("get", "events")),
          /Warning\s+FailedScheduling\s+pod\/big\s+0\/2 nodes are available: 1 Insufficient cpu, 1 node\(s\) had taint \{gpu: true\}, that the pod didn't tolerate\.\n/,
        )

        yield* client.nodes.create("", apiNode("large", { cpu: "8" }))
        const bound = yield* waitForBinding(client, "big")
        assert.strictEqual(bound.spec.nodeName, "large")
        assert.strictEqual(scheduledCondition(bound)?.status, "True")
        const scheduled = yield* waitForEvent(client, "big", "Scheduled")
        assert.strictEqual(scheduled.message, "Successfully assigned default/big to large")
      }),
  )

  it.live(
    "schedules only its own pending pods: not other schedulers', not pods being deleted; assigned pods count",
    () =>
      Effect.gen(function* () {
        const { client } = yield* startCluster
        yield* client.nodes.create("", apiNode("n1", { cpu: "2" }))
        // Placed by someone else before the scheduler starts: it holds 1.5 CPUs of n1.
        yield* client.pods.create("default", apiPod("existing", { cpu: "1500m", nodeName: "n1" }))
        const scheduler = yield* startScheduler(client)
        yield* client.pods.create("default", apiPod("theirs", { schedulerName: "someone-else" }))
        yield* client.pods.create("default", apiPod("second", { cpu: "1" }))
        yield* client.pods.create(
          "default",
          apiPod("doomed", { cpu: "1", finalizers: ["example.com/keep"] }),
        )
        for (const pod of ["second", "doomed"]) {
          const e = yield* waitForEvent(client, pod, "FailedScheduling")
          assert.strictEqual(e.message, "0/1 nodes are available: 1 Insufficient cpu.")
        }
        // The finalizer keeps the pod while it is being deleted.
        yield* client.pods.delete("default", "doomed")
        yield* waitFor(
          "doomed to leave the scheduling queue",
          Effect.sync(() =>
            scheduler.core.queue.where("default/doomed") === undefined ? true : undefined,
          ),
        )
        yield* client.nodes.create("", apiNode("n2", { cpu: "4" }))
        assert.strictEqual((yield* waitForBinding(client, "second")).spec.nodeName, "n2")
        yield* scheduler.idle
        const doomed = yield* client.pods.get("default", "doomed")
        assert.isDefined(doomed.metadata.deletionTimestamp)
        assert.strictEqual(doomed.spec.nodeName ?? "", "")
        const theirs = yield* client.pods.get("default", "theirs")
        assert.strictEqual(theirs.spec.nodeName ?? "", "")
        assert.strictEqual(scheduler.core.queue.where("default/theirs"), undefined)
        assert.deepStrictEqual(yield* eventsOf(client, "theirs"), [])
        assert.strictEqual(scheduler.core.cache.getNode("n1")?.requested.milliCPU, 1500)
        assert.strictEqual(scheduler.core.cache.getNode("n2")?.requested.milliCPU, 1000)
      }),
  )

  it.live(
    "a binding lost to another scheduler (409) is reported and the assumption forgotten",
    () =>
      Effect.gen(function* () {
        const { client } = yield* startCluster
        yield* client.nodes.create("", apiNode("roomy", { cpu: "8" }))
        yield* client.nodes.create("", apiNode("tight", { cpu: "2" }))
        // Another scheduler binds "race" to "tight" just before ours binds it.
        const racing = Layer.effect(
          ClusterSource,
          Effect.map(makeInformerSource(client), (source) =>
            ClusterSource.of({
              ...source,
              bind: (ref, nodeName) =>
                ref.name === "race"
                  ? client.pods
                      .bind(ref.namespace, ref.name, "tight")
                      .pipe(Effect.orDie, Effect.andThen(source.bind(ref, nodeName)))
                  : source.bind(ref, nodeName),
            }),
          ),
        )
        const context = yield* Layer.build(
          Scheduler.layer({ seed: 1, tickMs: 50 }).pipe(Layer.provide(racing)),
        )
        const scheduler = Context.get(context, Scheduler)
        yield* client.pods.create("default", apiPod("race", { cpu: "1" }))
        const failed = yield* waitForEvent(client, "race", "FailedScheduling")
        // Kubernetes names the resource `pods/binding`; the message is the API server's.
        assert.match(
          failed.message ?? "",
          /^Binding rejected: Operation cannot be fulfilled on pods(\/binding)? "race": pod race is already assigned to node "tight"$/,
        )
        // A later pod's event is written after race's condition update (one ordered writer).
        yield* client.pods.create("default", apiPod("after", { cpu: "1" }))
        yield* waitForEvent(client, "after", "Scheduled")
        yield* scheduler.idle
        const race = yield* client.pods.get("default", "race")
        assert.strictEqual(race.spec.nodeName, "tight")
        // The other scheduler's PodScheduled=True is not overwritten by our failure.
        assert.strictEqual(scheduledCondition(race as Pod)?.status, "True")
        assert.isFalse(scheduler.core.cache.isAssumed("default/race"))
        assert.strictEqual(scheduler.core.cache.getPod("default/race")?.nodeName, "tight")
        assert.strictEqual(scheduler.core.queue.where("default/race"), undefined)
        const after = yield* client.pods.get("default", "after")
        const expected = { tight: 1000, roomy: 0 }
        if (after.spec.nodeName === "tight") expected.tight += 1000
        else expected.roomy += 1000
        assert.strictEqual(
          scheduler.core.cache.getNode("tight")?.requested.milliCPU,
          expected.tight,
        )
        assert.strictEqual(
          scheduler.core.cache.getNode("roomy")?.requested.milliCPU,
          expected.roomy,
        )
      }),
  )

  it.live("a custom plugin enabled from a YAML configuration file changes placements", () =>
    Effect.gen(function* () {
      const { client, dir } = yield* startCluster
      const file = join(dir, "scheduler.yaml")
      writeFileSync(
        file,
        [
          "apiVersion: kubescheduler.config.k8s.io/v1",
          "kind: KubeSchedulerConfiguration",
          "profiles:",
          "  - schedulerName: default-scheduler",
          "  - schedulerName: cost-aware",
          "    plugins:",
          "      filter:",
          "        enabled: [{ name: NodeCost }]",
          "      score:",
          "        enabled:",
          "          - name: NodeCost",
          "            weight: 5",
          "    pluginConfig:",
          "      - name: NodeCost",
          "        args: { maxCost: 10 }",
          "",
        ].join("\n"),
      )
      const registry = defaultRegistry().register(
        define({
          name: NodeCostName,
          args: Schema.Struct({ maxCost: Schema.Number }),
          defaultArgs: { maxCost: 100 },
          factory: (args) => new NodeCost(args),
        }),
      )
      // "busy" is empty but expensive; "cheap" already runs 2 of its 4 CPUs; "repair" is free but in maintenance.
      yield* client.nodes.create(
        "",
        apiNode("busy", { cpu: "8", labels: { "example.com/cost": "9" } }),
      )
      yield* client.nodes.create(
        "",
        apiNode("cheap", { cpu: "4", labels: { "example.com/cost": "2" } }),
      )
      yield* client.nodes.create(
        "",
        apiNode("repair", {
          cpu: "8",
          labels: { "example.com/cost": "0", "example.com/maintenance": "true" },
        }),
      )
      yield* client.pods.create("default", apiPod("existing", { cpu: "2", nodeName: "cheap" }))
      yield* startScheduler(client, { registry, configurationFile: file })

      yield* client.pods.create("default", apiPod("plain", { cpu: "1" }))
      yield* client.pods.create(
        "default",
        apiPod("thrifty", { cpu: "1", schedulerName: "cost-aware" }),
      )
      yield* client.pods.create(
        "default",
        apiPod("free-only", {
          schedulerName: "cost-aware",
          nodeSelector: { "example.com/cost": "0" },
        }),
      )
      // The default profile prefers the emptiest nodes; the cost-aware one the cheap node.
      assert.include(["busy", "repair"], (yield* waitForBinding(client, "plain")).spec.nodeName)
      assert.strictEqual((yield* waitForBinding(client, "thrifty")).spec.nodeName, "cheap")
      const scheduled = yield* waitForEvent(client, "thrifty", "Scheduled")
      assert.strictEqual(scheduled.source?.component, "cost-aware")
      // The only free node is in maintenance: the plugin's reason is in the message.
      const failed = yield* waitForEvent(client, "free-only", "FailedScheduling")
      assert.strictEqual(
        failed.message,
        "0/3 nodes are available: 1 node(s) were under maintenance, 2 node(s) didn't match node selector.",
      )
      assert.strictEqual(failed.source?.component, "cost-aware")
    }),
  )
})
