/**
 * Properties over random clusters and pod sequences:
 * - no pod is placed on a node failing an enabled filter (checked by a plain,
 *   independent re-implementation of the filters), and node capacity is never
 *   exceeded across a sequence of placements and deletions;
 * - scores stay in 0..100;
 * - the same seed gives the same placements;
 * - the optimized scheduler (incremental cache, affinity index, assumed pods)
 *   agrees with a plain reference that rebuilds everything from scratch for
 *   every pod and evaluates every node: same feasibility, the same
 *   FailedScheduling message, and a chosen node with the reference's top score.
 */
import { type Node, type Pod, parseQuantity } from "@flotilla/api"
import { Result } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Cache } from "../../src/core/cache.ts"
import { compileNode, compilePod } from "../../src/core/compile.ts"
import { defaultConfiguration, instantiateProfile } from "../../src/core/config.ts"
import { fitErrorMessage } from "../../src/core/fit-error.ts"
import { CycleState, type SpreadSelectorSource } from "../../src/core/framework.ts"
import { andMatchers, selectorFromSet } from "../../src/core/labels.ts"
import { defaultRegistry } from "../../src/core/registry.ts"
import { type Command, SchedulerCore } from "../../src/core/scheduler.ts"
import { Code } from "../../src/core/status.ts"
import { node as makeNode, pod as makePod } from "../fixtures.ts"

const spread: SpreadSelectorSource = {
  selectorFor: (p) =>
    p.labels.app === undefined
      ? andMatchers([])
      : andMatchers([selectorFromSet({ app: p.labels.app })]),
}

const nodeArb = fc.record({
  cpu: fc.constantFrom("500m", "1", "2", "4"),
  memory: fc.constantFrom("1Gi", "2Gi", "4Gi"),
  pods: fc.constantFrom("1", "2", "3", "110"),
  zone: fc.option(fc.constantFrom("a", "b", "c"), { nil: undefined }),
  disk: fc.constantFrom("ssd", "hdd"),
  taint: fc.option(fc.constantFrom("NoSchedule", "PreferNoSchedule", "NoExecute"), {
    nil: undefined,
  }),
  unschedulable: fc.constantFrom(false, false, false, false, true),
  image: fc.option(fc.constantFrom("big:v1", "small:v1"), { nil: undefined }),
})
type NodeSpec = typeof nodeArb extends fc.Arbitrary<infer T> ? T : never

const podArb = fc.record({
  cpu: fc.option(fc.constantFrom("100m", "300m", "1", "2"), { nil: undefined }),
  memory: fc.option(fc.constantFrom("256Mi", "1Gi"), { nil: undefined }),
  ssd: fc.boolean(),
  tolerates: fc.boolean(),
  hostPort: fc.option(fc.constantFrom(8080, 9090), { nil: undefined }),
  app: fc.constantFrom("a", "b", "c"),
  antiAffinity: fc.boolean(),
  preferZone: fc.option(fc.constantFrom("a", "b"), { nil: undefined }),
  /** Preferred pod (anti-)affinity to another app, per zone: weights of either sign. */
  near: fc.option(
    fc.record({
      app: fc.constantFrom("a", "b", "c"),
      weight: fc.integer({ min: 1, max: 100 }),
      anti: fc.boolean(),
    }),
    {
      nil: undefined,
    },
  ),
  image: fc.option(fc.constantFrom("big:v1", "small:v1"), { nil: undefined }),
  priority: fc.integer({ min: 0, max: 2 }),
})
type PodSpec = typeof podArb extends fc.Arbitrary<infer T> ? T : never

const buildNode = (i: number, s: NodeSpec): Node =>
  makeNode(`n${i}`, {
    cpu: s.cpu,
    memory: s.memory,
    pods: s.pods,
    labels: {
      disk: s.disk,
      ...(s.zone !== undefined ? { "topology.kubernetes.io/zone": s.zone } : {}),
    },
    ...(s.taint !== undefined
      ? { taints: [{ key: "dedicated", value: "x", effect: s.taint }] }
      : {}),
    ...(s.unschedulable ? { unschedulable: true } : {}),
    ...(s.image !== undefined
      ? {
          images: [
            {
              names: [s.image],
              sizeBytes: s.image.startsWith("big") ? 800 * 2 ** 20 : 30 * 2 ** 20,
            },
          ],
        }
      : {}),
  })

const nearTerm = (n: { app: string; weight: number }) => ({
  weight: n.weight,
  podAffinityTerm: {
    labelSelector: { matchLabels: { app: n.app } },
    topologyKey: "topology.kubernetes.io/zone",
  },
})

const buildPod = (i: number, s: PodSpec): Pod =>
  makePod(`p${i}`, {
    labels: { app: s.app },
    requests: {
      ...(s.cpu !== undefined ? { cpu: s.cpu } : {}),
      ...(s.memory !== undefined ? { memory: s.memory } : {}),
    },
    ...(s.ssd ? { nodeSelector: { disk: "ssd" } } : {}),
    ...(s.tolerates ? { tolerations: [{ key: "dedicated", operator: "Exists" }] } : {}),
    ...(s.hostPort !== undefined ? { ports: [{ hostPort: s.hostPort }] } : {}),
    ...(s.image !== undefined ? { image: s.image } : {}),
    priority: s.priority,
    affinity: {
      ...(s.antiAffinity || s.near?.anti
        ? {
            podAntiAffinity: {
              ...(s.antiAffinity
                ? {
                    requiredDuringSchedulingIgnoredDuringExecution: [
                      {
                        labelSelector: { matchLabels: { app: s.app } },
                        topologyKey: "kubernetes.io/hostname",
                      },
                    ],
                  }
                : {}),
              ...(s.near?.anti
                ? { preferredDuringSchedulingIgnoredDuringExecution: [nearTerm(s.near)] }
                : {}),
            },
          }
        : {}),
      ...(s.near !== undefined && !s.near.anti
        ? { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [nearTerm(s.near)] } }
        : {}),
      ...(s.preferZone !== undefined
        ? {
            nodeAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 5,
                  preference: {
                    matchExpressions: [
                      {
                        key: "topology.kubernetes.io/zone",
                        operator: "In",
                        values: [s.preferZone],
                      },
                    ],
                  },
                },
              ],
            },
          }
        : {}),
    },
  })

const q = (s: string | undefined, milli: boolean): number => {
  if (s === undefined) return 0
  const r = parseQuantity(s)
  if (Result.isFailure(r)) throw new Error(s)
  return milli ? r.success.milliValue() : r.success.value()
}

/** An independent check of the default filters for pods the generator can make. */
const plainFits = (p: Pod, n: Node, others: ReadonlyArray<Pod>): boolean => {
  const alloc = n.status.allocatable ?? {}
  const all = [...others, p]
  const sum = (r: string, milli: boolean) =>
    all.reduce(
      (acc, x) =>
        acc + x.spec.containers.reduce((a, c) => a + q(c.resources?.requests?.[r], milli), 0),
      0,
    )
  if (all.length > q(alloc.pods, false)) return false
  if (sum("cpu", true) > q(alloc.cpu, true)) return false
  if (sum("memory", false) > q(alloc.memory, false)) return false
  const labels = n.metadata.labels ?? {}
  for (const [k, v] of Object.entries(p.spec.nodeSelector ?? {})) if (labels[k] !== v) return false
  for (const t of n.spec.taints ?? []) {
    if (t.effect === "PreferNoSchedule") continue
    if (
      !(p.spec.tolerations ?? []).some(
        (tol) => tol.operator === "Exists" && (tol.key ?? "") === t.key,
      )
    )
      return false
  }
  if (n.spec.unschedulable) return false
  const ports = all
    .flatMap((x) => x.spec.containers.flatMap((c) => (c.ports ?? []).map((pp) => pp.hostPort ?? 0)))
    .filter((x) => x > 0)
  if (new Set(ports).size !== ports.length) return false
  // Required hostname anti-affinity, both ways.
  const app = (x: Pod) => x.metadata.labels?.app
  const anti = (x: Pod) =>
    (x.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length ??
      0) > 0
  for (const o of others) if (app(o) === app(p) && (anti(o) || anti(p))) return false
  return true
}

interface Step {
  readonly add: PodSpec | undefined
  readonly deleteIndex: number | undefined
}

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: podArb.map((add) => ({ add, deleteIndex: undefined })) },
  { weight: 1, arbitrary: fc.nat(30).map((deleteIndex) => ({ add: undefined, deleteIndex })) },
)

/** Drives a core through the steps; calls `onCycle` for each scheduling decision. */
const simulate = (
  nodes: ReadonlyArray<Node>,
  steps: ReadonlyArray<Step>,
  seed: number,
  onCycle?: (
    pod: Pod,
    result: Command,
    assigned: ReadonlyMap<string, { pod: Pod; node: string }>,
  ) => void,
) => {
  const registry = defaultRegistry()
  const core = new SchedulerCore({
    registry,
    configuration: defaultConfiguration(registry),
    seed,
    spreadSelectors: spread,
  })
  for (const n of nodes) core.onNodeAdd(n, 0)
  const pods = new Map<string, Pod>()
  const assigned = new Map<string, { pod: Pod; node: string }>()
  const trace: Array<string> = []
  let now = 0
  steps.forEach((step, i) => {
    now += 100
    if (step.add !== undefined) {
      const p = buildPod(i, step.add)
      pods.set(`default/${p.metadata.name}`, p)
      core.onPodAdd(p, now)
    } else {
      const keys = [...assigned.keys()]
      if (keys.length === 0) return
      const key = keys[step.deleteIndex! % keys.length]!
      const a = assigned.get(key)!
      assigned.delete(key)
      pods.delete(key)
      core.onPodDelete({ ...a.pod, spec: { ...a.pod.spec, nodeName: a.node } }, now)
    }
    core.tick(now)
    while (core.hasActivePods) {
      for (const c of core.scheduleOne(now)) {
        if (c.kind === "condition") continue
        const key = c.kind === "bind" ? c.pod.key : `${c.pod.namespace}/${c.pod.name}`
        const p = pods.get(key)!
        onCycle?.(p, c, assigned)
        if (c.kind === "bind") {
          trace.push(`${key}->${c.nodeName}`)
          core.bindingSucceeded(key, now)
          const bound = { ...p, spec: { ...p.spec, nodeName: c.nodeName } }
          core.onPodUpdate(bound, now)
          assigned.set(key, { pod: p, node: c.nodeName })
        } else {
          trace.push(`${key}: ${c.message}`)
        }
      }
    }
  })
  return { core, assigned, trace }
}

const clusterArb = fc
  .array(nodeArb, { minLength: 1, maxLength: 5 })
  .map((specs) => specs.map((s, i) => buildNode(i, s)))

describe("scheduler properties", () => {
  it("never places a pod on a node failing a filter, and never exceeds capacity", () => {
    fc.assert(
      fc.property(
        clusterArb,
        fc.array(stepArb, { maxLength: 40 }),
        fc.integer(),
        (nodes, steps, seed) => {
          const byName = new Map(nodes.map((n) => [n.metadata.name!, n]))
          simulate(nodes, steps, seed, (pod, c, assigned) => {
            if (c.kind !== "bind") return
            const others = [...assigned.values()]
              .filter((a) => a.node === c.nodeName)
              .map((a) => a.pod)
            expect(plainFits(pod, byName.get(c.nodeName)!, others)).toBe(true)
          })
        },
      ),
      { numRuns: 150 },
    )
  })

  it("the same seed gives the same placements", () => {
    fc.assert(
      fc.property(
        clusterArb,
        fc.array(stepArb, { maxLength: 25 }),
        fc.integer(),
        (nodes, steps, seed) => {
          expect(simulate(nodes, steps, seed).trace).toEqual(simulate(nodes, steps, seed).trace)
        },
      ),
      { numRuns: 60 },
    )
  })

  it("agrees with a plain reference that recomputes everything per pod; every score is within 0..100", () => {
    fc.assert(
      fc.property(
        clusterArb,
        fc.array(stepArb, { maxLength: 40 }),
        fc.integer(),
        (nodes, steps, seed) => {
          simulate(nodes, steps, seed, (pod, c, assigned) => {
            if (c.kind === "condition") return
            // Rebuild the world from scratch.
            const registry = defaultRegistry()
            const cache = new Cache()
            for (const n of nodes) cache.addNode(compileNode(n))
            for (const a of assigned.values())
              cache.addPod(compilePod({ ...a.pod, spec: { ...a.pod.spec, nodeName: a.node } }))
            const profile = instantiateProfile(
              defaultConfiguration(registry).profiles[0]!,
              registry,
              {
                snapshot: cache,
                spreadSelectors: spread,
              },
            )
            const info = compilePod(pod)
            const state = new CycleState()
            expect(profile.runPreFilterPlugins(state, info)).toBeUndefined()
            const feasible = []
            const reasons = new Map<string, number>()
            for (const n of cache.nodeInfoList()) {
              const s = profile.runFilterPlugins(state, info, n)
              if (s === undefined) feasible.push(n)
              else {
                expect(s.code).not.toBe(Code.Error)
                for (const r of s.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1)
              }
            }
            if (c.kind === "event") {
              expect(feasible).toHaveLength(0)
              expect(c.message).toBe(fitErrorMessage(nodes.length, reasons))
              return
            }
            expect(feasible.map((n) => n.name)).toContain(c.nodeName)
            if (feasible.length === 1) return
            expect(profile.runPreScorePlugins(state, info, feasible)).toBeUndefined()
            const totals = new Map<string, number>(feasible.map((n) => [n.name, 0]))
            for (const { plugin, weight, normalize } of profile.score) {
              const scores = Float64Array.from(feasible.map((n) => plugin.score(state, info, n)))
              normalize?.normalizeScore(state, info, feasible, scores)
              feasible.forEach((n, i) => {
                expect(scores[i]).toBeGreaterThanOrEqual(0)
                expect(scores[i]).toBeLessThanOrEqual(100)
                totals.set(n.name, totals.get(n.name)! + scores[i]! * weight)
              })
            }
            const best = Math.max(...totals.values())
            expect(totals.get(c.nodeName)).toBe(best)
          })
        },
      ),
      { numRuns: 150 },
    )
  })
})
