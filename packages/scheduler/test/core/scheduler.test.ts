import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { decodeConfiguration, defaultConfiguration } from "../../src/core/config.ts"
import { defaultRegistry, define } from "../../src/core/registry.ts"
import { type Command, SchedulerCore } from "../../src/core/scheduler.ts"
import { node, pod, rawPod } from "../fixtures.ts"

const core = (seed = 1) =>
  new SchedulerCore({
    registry: defaultRegistry(),
    configuration: defaultConfiguration(defaultRegistry()),
    seed,
  })

/** Runs cycles until the queue has no active pod, binding every bind command successfully. */
const drain = (s: SchedulerCore, now: number): Array<Command> => {
  const out: Array<Command> = []
  while (s.hasActivePods) {
    for (const c of s.scheduleOne(now)) {
      out.push(c)
      if (c.kind === "bind") out.push(...s.bindingSucceeded(c.pod.key, now))
    }
  }
  return out
}

const events = (cs: ReadonlyArray<Command>) =>
  cs.flatMap((c) =>
    c.kind === "event"
      ? [`${c.type} ${c.reason} ${c.pod.namespace}/${c.pod.name}: ${c.message}`]
      : [],
  )

describe("SchedulerCore", () => {
  it("prints Kubernetes' FailedScheduling message for a mix of reasons", () => {
    const s = core()
    s.onNodeAdd(node("small", { cpu: "1", labels: { disk: "ssd" } }), 0)
    s.onNodeAdd(node("hdd-1", { labels: { disk: "hdd" } }), 0)
    s.onNodeAdd(node("hdd-2", { labels: { disk: "hdd" } }), 0)
    s.onNodeAdd(
      node("tainted", {
        labels: { disk: "ssd" },
        cpu: "8",
        taints: [{ key: "gpu", value: "true", effect: "NoSchedule" }],
      }),
      0,
    )
    s.onPodAdd(pod("big", { requests: { cpu: "2" }, nodeSelector: { disk: "ssd" } }), 0)
    expect(events(drain(s, 0))).toEqual([
      "Warning FailedScheduling default/big: 0/4 nodes are available: 1 Insufficient cpu, 1 node(s) had taint {gpu: true}, that the pod didn't tolerate, 2 node(s) didn't match node selector.",
    ])
    expect(s.queue.where("default/big")).toBe("unschedulable")
  })

  it("binds, records Scheduled, and accounts the pod on its node", () => {
    const s = core()
    s.onNodeAdd(node("n1", { cpu: "2" }), 0)
    s.onPodAdd(pod("a", { requests: { cpu: "1500m" } }), 0)
    const out = s.scheduleOne(0)
    expect(out).toHaveLength(1)
    const bind = out[0]!
    expect(bind.kind).toBe("bind")
    if (bind.kind !== "bind") return
    expect(bind.nodeName).toBe("n1")
    expect(bind.binder).toBe("DefaultBinder")
    expect(s.cache.isAssumed("default/a")).toBe(true)
    expect(events(s.bindingSucceeded("default/a", 5))).toEqual([
      "Normal Scheduled default/a: Successfully assigned default/a to n1",
    ])
    // The informer confirms the binding.
    s.onPodUpdate(pod("a", { requests: { cpu: "1500m" }, nodeName: "n1" }), 6)
    expect(s.cache.isAssumed("default/a")).toBe(false)
    expect(s.cache.getNode("n1")!.requested.milliCPU).toBe(1500)
    // The next pod no longer fits.
    s.onPodAdd(pod("b", { requests: { cpu: "1" } }), 7)
    expect(events(drain(s, 7))).toEqual([
      "Warning FailedScheduling default/b: 0/1 nodes are available: 1 Insufficient cpu.",
    ])
  })

  it("an assumed pod counts before its binding is confirmed", () => {
    const s = core()
    s.onNodeAdd(node("n1", { cpu: "1" }), 0)
    s.onPodAdd(pod("a", { requests: { cpu: "600m" } }), 0)
    s.onPodAdd(pod("b", { requests: { cpu: "600m" } }), 0)
    const first = s.scheduleOne(0)
    expect(first[0]?.kind).toBe("bind")
    expect(events(s.scheduleOne(0))).toEqual([
      "Warning FailedScheduling default/b: 0/1 nodes are available: 1 Insufficient cpu.",
    ])
  })

  it("a failed binding forgets the assumption and retries after backoff", () => {
    const s = core()
    s.onNodeAdd(node("n1", { cpu: "1" }), 0)
    s.onPodAdd(pod("a", { requests: { cpu: "600m" } }), 0)
    expect(s.scheduleOne(0)[0]?.kind).toBe("bind")
    expect(events(s.bindingFailed("default/a", "connection refused", 10))).toEqual([
      "Warning FailedScheduling default/a: Binding rejected: connection refused",
    ])
    expect(s.cache.getNode("n1")!.requested.milliCPU).toBe(0)
    expect(s.queue.where("default/a")).toBe("unschedulable")
    // A node event moves it to backoff (1 s after the failure), then to active.
    s.onNodeAdd(node("n2"), 20)
    expect(s.queue.where("default/a")).toBe("backoff")
    s.tick(1010)
    expect(s.queue.where("default/a")).toBe("active")
    expect(s.scheduleOne(1010)[0]?.kind).toBe("bind")
  })

  it("deleting an assigned pod makes room and wakes unschedulable pods", () => {
    const s = core()
    s.onNodeAdd(node("n1", { cpu: "1" }), 0)
    s.onPodAdd(pod("old", { requests: { cpu: "800m" }, nodeName: "n1" }), 0)
    s.onPodAdd(pod("new", { requests: { cpu: "800m" } }), 0)
    expect(events(drain(s, 0))).toHaveLength(1)
    s.onPodDelete(pod("old", { nodeName: "n1" }), 30_000)
    expect(s.queue.where("default/new")).toBe("active")
    const out = drain(s, 30_000)
    expect(events(out)).toEqual([
      "Normal Scheduled default/new: Successfully assigned default/new to n1",
    ])
  })

  it("ignores pods for other schedulers and terminated pods", () => {
    const s = core()
    s.onNodeAdd(node("n1"), 0)
    s.onPodAdd(pod("x", { schedulerName: "other" }), 0)
    s.onPodAdd(pod("y", { phase: "Succeeded" }), 0)
    expect(s.hasActivePods).toBe(false)
    s.onPodAdd(pod("done", { nodeName: "n1", phase: "Failed", requests: { cpu: "4" } }), 0)
    expect(s.cache.getNode("n1")!.pods).toHaveLength(0)
  })

  it("never schedules a pending pod being deleted, at its add or once it is marked", () => {
    const s = core()
    s.onNodeAdd(node("small", { cpu: "1" }), 0)
    s.onPodAdd(pod("doomed", { deleting: true }), 0)
    expect(s.queue.where("default/doomed")).toBeUndefined()
    s.onPodAdd(pod("big", { requests: { cpu: "2" } }), 0)
    expect(events(drain(s, 0))).toHaveLength(1)
    expect(s.queue.where("default/big")).toBe("unschedulable")
    // The deletion is marked (a finalizer keeps the object); a fitting node then arrives.
    s.onPodUpdate(pod("big", { requests: { cpu: "2" }, deleting: true }), 10)
    expect(s.queue.where("default/big")).toBeUndefined()
    s.onNodeAdd(node("large", { cpu: "8" }), 20)
    s.tick(60_000)
    expect(drain(s, 60_000)).toEqual([])
  })

  it("events name the profile that scheduled the pod as their component", () => {
    const registry = defaultRegistry()
    const cfg = decodeConfiguration(
      {
        apiVersion: "kubescheduler.config.k8s.io/v1",
        kind: "KubeSchedulerConfiguration",
        profiles: [{ schedulerName: "default-scheduler" }, { schedulerName: "batch" }],
      },
      registry,
    )
    if (Result.isFailure(cfg)) throw cfg.failure
    const s = new SchedulerCore({ registry, configuration: cfg.success, seed: 3 })
    s.onNodeAdd(node("n1", { cpu: "1" }), 0)
    s.onPodAdd(pod("a", { requests: { cpu: "500m" } }), 0)
    s.onPodAdd(pod("b", { requests: { cpu: "2" }, schedulerName: "batch" }), 0)
    const out = drain(s, 0).flatMap((c) =>
      c.kind === "event" ? [`${c.component} ${c.reason} ${c.pod.name}`] : [],
    )
    expect(out.sort()).toEqual(["batch FailedScheduling b", "default-scheduler Scheduled a"])
  })

  it("reports a pod with an invalid quantity, naming the field", () => {
    const s = core()
    const out = s.onPodAdd(rawPod("bad", { requests: { cpu: "lots" } }), 0)
    expect(events(out)).toEqual([
      expect.stringMatching(
        /^Warning FailedScheduling default\/bad: spec\.containers\[0\]\.resources\.requests\[cpu\]: Invalid value: "lots": /,
      ),
    ])
  })

  it("prefers higher priority pods", () => {
    const s = core()
    s.onNodeAdd(node("n1", { cpu: "1" }), 0)
    s.onPodAdd(pod("low", { requests: { cpu: "1" } }), 0)
    s.onPodAdd(pod("high", { requests: { cpu: "1" }, priority: 100 }), 1)
    const out = s.scheduleOne(2)
    expect(out[0]?.kind === "bind" && out[0].pod.name).toBe("high")
  })

  it("NO nodes at all", () => {
    const s = core()
    s.onPodAdd(pod("p"), 0)
    expect(events(s.scheduleOne(0))).toEqual([
      "Warning FailedScheduling default/p: no nodes available to schedule pods",
    ])
  })

  it("profiles by schedulerName with their own plugins", () => {
    const registry = defaultRegistry()
    const cfg = decodeConfiguration(
      {
        apiVersion: "kubescheduler.config.k8s.io/v1beta1",
        kind: "KubeSchedulerConfiguration",
        profiles: [
          { schedulerName: "default-scheduler" },
          {
            schedulerName: "no-fit-check",
            plugins: { filter: { disabled: [{ name: "NodeResourcesFit" }] } },
          },
        ],
      },
      registry,
    )
    if (Result.isFailure(cfg)) throw cfg.failure
    const s = new SchedulerCore({ registry, configuration: cfg.success, seed: 3 })
    s.onNodeAdd(node("n1", { cpu: "1" }), 0)
    s.onPodAdd(pod("a", { requests: { cpu: "2" } }), 0)
    s.onPodAdd(pod("b", { requests: { cpu: "2" }, schedulerName: "no-fit-check" }), 0)
    const out = events(drain(s, 0))
    expect(out).toContain(
      "Warning FailedScheduling default/a: 0/1 nodes are available: 1 Insufficient cpu.",
    )
    expect(out).toContain("Normal Scheduled default/b: Successfully assigned default/b to n1")
  })
})

describe("node updates", () => {
  it("a heartbeat does not wake unschedulable pods; a label change does", () => {
    const s = core()
    s.onNodeAdd(node("n1", { conditions: [{ type: "Ready", status: "True" }] }), 0)
    s.onPodAdd(pod("p", { nodeSelector: { disk: "ssd" } }), 0)
    drain(s, 0)
    expect(s.queue.where("default/p")).toBe("unschedulable")
    s.onNodeUpdate(node("n1", { conditions: [{ type: "Ready", status: "True" }] }), 10)
    expect(s.queue.where("default/p")).toBe("unschedulable")
    s.onNodeUpdate(
      node("n1", { labels: { disk: "ssd" }, conditions: [{ type: "Ready", status: "True" }] }),
      20,
    )
    expect(s.queue.where("default/p")).toBe("backoff")
    s.tick(1020)
    expect(events(drain(s, 1020))).toEqual([
      "Normal Scheduled default/p: Successfully assigned default/p to n1",
    ])
  })

  it("refuses profiles with different queue sort plugins", () => {
    const registry = defaultRegistry().register(
      define({
        name: "Fifo",
        factory: () => ({
          name: "Fifo",
          less: (a: { timestamp: number }, b: { timestamp: number }) => a.timestamp < b.timestamp,
        }),
      }),
    )
    const cfg = decodeConfiguration(
      {
        apiVersion: "kubescheduler.config.k8s.io/v1",
        kind: "KubeSchedulerConfiguration",
        profiles: [
          {},
          {
            schedulerName: "fifo",
            plugins: { queueSort: { disabled: [{ name: "*" }], enabled: [{ name: "Fifo" }] } },
          },
        ],
      },
      registry,
    )
    if (Result.isFailure(cfg)) throw cfg.failure
    expect(() => new SchedulerCore({ registry, configuration: cfg.success, seed: 1 })).toThrow(
      'profiles: different queue sort plugins for profile "fifo": "Fifo", first: "PrioritySort"',
    )
  })
})

describe("deletions during a cycle", () => {
  it("a pod deleted while its binding is in flight leaves the node and is not requeued", () => {
    const s = core()
    s.onNodeAdd(node("n1", { cpu: "1" }), 0)
    s.onPodAdd(pod("a", { requests: { cpu: "1" } }), 0)
    expect(s.scheduleOne(0)[0]?.kind).toBe("bind")
    s.onPodDelete(pod("a", { requests: { cpu: "1" } }), 5)
    expect(s.cache.getNode("n1")!.requested.milliCPU).toBe(0)
    expect(s.bindingFailed("default/a", 'pods "a" not found', 6)).toEqual([])
    expect(s.queue.has("default/a")).toBe(false)
  })
})
