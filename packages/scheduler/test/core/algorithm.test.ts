import { describe, expect, it } from "vitest"
import { GenericScheduler } from "../../src/core/algorithm.ts"
import { Cache } from "../../src/core/cache.ts"
import { compileNode, compilePod } from "../../src/core/compile.ts"
import { defaultConfiguration, instantiateProfile } from "../../src/core/config.ts"
import { FitError } from "../../src/core/fit-error.ts"
import {
  CycleState,
  type FilterPlugin,
  type PermitPlugin,
  type ReservePlugin,
} from "../../src/core/framework.ts"
import { everything } from "../../src/core/labels.ts"
import { Profile } from "../../src/core/profile.ts"
import { defaultRegistry } from "../../src/core/registry.ts"
import { Rng } from "../../src/core/rng.ts"
import { type Command, SchedulerCore } from "../../src/core/scheduler.ts"
import * as S from "../../src/core/status.ts"
import { node, pod } from "../fixtures.ts"

const setup = (n: number, percentage = 0) => {
  const cache = new Cache()
  for (let i = 0; i < n; i++) cache.addNode(compileNode(node(`n${i}`)))
  const registry = defaultRegistry()
  const profile = instantiateProfile(defaultConfiguration(registry).profiles[0]!, registry, {
    snapshot: cache,
    spreadSelectors: { selectorFor: () => everything },
  })
  return { cache, profile, algorithm: new GenericScheduler(cache, new Rng(1), percentage) }
}

describe("GenericScheduler", () => {
  it("filters until percentageOfNodesToScore feasible nodes, starting where the last cycle stopped", () => {
    const { profile, algorithm } = setup(500)
    const r1 = algorithm.schedule(profile, new CycleState(), compilePod(pod("a")))
    expect(r1).toMatchObject({ evaluatedNodes: 230, feasibleNodes: 230 })
    expect(algorithm.nextStartNodeIndex).toBe(230)
    const r2 = algorithm.schedule(profile, new CycleState(), compilePod(pod("b")))
    expect(r2).toMatchObject({ evaluatedNodes: 230 })
    expect(algorithm.nextStartNodeIndex).toBe(460)
    algorithm.schedule(profile, new CycleState(), compilePod(pod("c")))
    expect(algorithm.nextStartNodeIndex).toBe(190) // wraps around
  })

  it("examines every node when fewer than needed fit, and counts infeasible ones", () => {
    const { cache, profile, algorithm } = setup(300, 10)
    cache.addNode(compileNode(node("ssd", { labels: { disk: "ssd" } })))
    const r = algorithm.schedule(
      profile,
      new CycleState(),
      compilePod(pod("p", { nodeSelector: { disk: "ssd" } })),
    )
    expect(r).toMatchObject({ suggestedHost: "ssd", evaluatedNodes: 301, feasibleNodes: 1 })
    const none = algorithm.schedule(
      profile,
      new CycleState(),
      compilePod(pod("q", { nodeSelector: { disk: "nvme" } })),
    )
    expect(none).toBeInstanceOf(FitError)
    expect((none as FitError).message).toBe(
      "0/301 nodes are available: 301 node(s) didn't match node selector.",
    )
  })

  it("a configured percentage applies above 100 nodes", () => {
    const { profile, algorithm } = setup(1000, 30)
    expect(algorithm.schedule(profile, new CycleState(), compilePod(pod("a")))).toMatchObject({
      evaluatedNodes: 300,
    })
  })

  it("reports a plugin error instead of a FitError", () => {
    const { cache, profile } = setup(3)
    const broken: FilterPlugin = {
      name: "Broken",
      filter: () => {
        throw new Error("boom")
      },
    }
    const p = new Profile("x", { ...profile, filter: [broken] })
    const r = new GenericScheduler(cache, new Rng(1)).schedule(
      p,
      new CycleState(),
      compilePod(pod("a")),
    )
    expect(r).toMatchObject({ message: 'running "Broken" filter plugin for pod "a": boom' })
  })
})

describe("Reserve and Permit", () => {
  const core = (reserve: ReservePlugin | undefined, permit: PermitPlugin | undefined) => {
    const registry = defaultRegistry()
    const s = new SchedulerCore({
      registry,
      configuration: defaultConfiguration(registry),
      seed: 1,
    })
    const p = s.profiles.get("default-scheduler")!
    s.profiles.set(
      "default-scheduler",
      new Profile("default-scheduler", {
        ...p,
        reserve: reserve ? [reserve] : [],
        permit: permit ? [permit] : [],
      }),
    )
    s.onNodeAdd(node("n1"), 0)
    return s
  }
  const kinds = (cs: ReadonlyArray<Command>) =>
    cs.flatMap((c) =>
      c.kind === "bind" ? [`bind ${c.nodeName}`] : c.kind === "event" ? [c.message] : [],
    )

  it("Unreserve runs when Permit denies, and the pod is requeued", () => {
    const log: Array<string> = []
    const reserve: ReservePlugin = {
      name: "R",
      reserve: (_s, p, n) => {
        log.push(`reserve ${p.name} ${n}`)
        return undefined
      },
      unreserve: (_s, p, n) => {
        log.push(`unreserve ${p.name} ${n}`)
      },
    }
    const permit: PermitPlugin = { name: "P", permit: () => S.unschedulable("quota exceeded") }
    const s = core(reserve, permit)
    s.onPodAdd(pod("a"), 0)
    expect(kinds(s.scheduleOne(0))).toEqual(["quota exceeded"])
    expect(log).toEqual(["reserve a n1", "unreserve a n1"])
    expect(s.cache.getNode("n1")!.pods).toHaveLength(0)
    expect(s.queue.where("default/a")).toBe("unschedulable")
  })

  it("a waiting pod binds once allowed, and is rejected when its wait times out", () => {
    const permit: PermitPlugin = { name: "Gang", permit: () => ({ wait: true, timeoutMs: 5000 }) }
    const s = core(undefined, permit)
    s.onPodAdd(pod("a"), 0)
    s.onPodAdd(pod("b"), 0)
    expect(s.scheduleOne(0)).toEqual([])
    expect(s.scheduleOne(0)).toEqual([])
    expect(s.podsInFlight).toBe(2)
    // Waiting pods hold their place on the node.
    expect(s.cache.getNode("n1")!.pods).toHaveLength(2)
    expect(kinds(s.allow("default/a", "Gang", 100))).toEqual(["bind n1"])
    expect(kinds(s.tick(4999))).toEqual([])
    expect(kinds(s.tick(5000))).toEqual(["rejected due to timeout after waiting at plugin Gang"])
    expect(s.cache.getPod("default/b")).toBeUndefined()
  })
})

describe("plugins that throw", () => {
  it("a throwing Reserve, Permit or Bind plugin fails the cycle, not the scheduler", () => {
    const registry = defaultRegistry()
    const s = new SchedulerCore({
      registry,
      configuration: defaultConfiguration(registry),
      seed: 1,
    })
    const p = s.profiles.get("default-scheduler")!
    const boom = (): never => {
      throw new Error("boom")
    }
    s.profiles.set(
      "default-scheduler",
      new Profile("default-scheduler", {
        ...p,
        reserve: [{ name: "R", reserve: boom, unreserve: boom }],
      }),
    )
    s.onNodeAdd(node("n1"), 0)
    s.onPodAdd(pod("a"), 0)
    const out = s.scheduleOne(0)
    expect(out.flatMap((c) => (c.kind === "event" ? [c.message] : []))).toEqual([
      'error while running Reserve in "R" reserve plugin for pod "a": boom',
    ])
    expect(s.cache.getNode("n1")!.pods).toHaveLength(0)
    s.profiles.set(
      "default-scheduler",
      new Profile("default-scheduler", { ...p, permit: [{ name: "P", permit: boom }] }),
    )
    s.tick(100_000)
    expect(s.scheduleOne(100_000).flatMap((c) => (c.kind === "event" ? [c.message] : []))).toEqual([
      'running Permit plugin "P": boom',
    ])
    s.profiles.set(
      "default-scheduler",
      new Profile("default-scheduler", { ...p, bind: [{ name: "B", bind: boom }] }),
    )
    s.tick(200_000)
    expect(s.scheduleOne(200_000).flatMap((c) => (c.kind === "event" ? [c.message] : []))).toEqual([
      "Binding rejected: boom",
    ])
    expect(s.cache.getNode("n1")!.pods).toHaveLength(0)
  })
})
