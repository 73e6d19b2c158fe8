import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { Cache } from "../../src/core/cache.ts"
import {
  decodeConfiguration,
  defaultConfiguration,
  instantiateProfile,
  mergePluginSets,
  parseConfigurationJson,
} from "../../src/core/config.ts"
import { everything } from "../../src/core/labels.ts"
import { defaultRegistry, define, Registry, RegistryError } from "../../src/core/registry.ts"

const base = {
  apiVersion: "kubescheduler.config.k8s.io/v1beta1",
  kind: "KubeSchedulerConfiguration",
}
const handle = () => ({ snapshot: new Cache(), spreadSelectors: { selectorFor: () => everything } })

const errorsOf = (input: unknown): Array<string> => {
  const r = decodeConfiguration(input, defaultRegistry())
  if (Result.isSuccess(r)) return []
  return r.failure.issues.map((i) => `${i.path}: ${i.message}`)
}

describe("Registry", () => {
  it("refuses duplicate names and aliases", () => {
    const r = defaultRegistry()
    expect(() =>
      r.register(define({ name: "NodeName", factory: () => ({ name: "NodeName" }) })),
    ).toThrow(new RegistryError("a plugin named NodeName already exists"))
    expect(() =>
      r.register(
        define({ name: "Mine", aliases: ["HostName"], factory: () => ({ name: "Mine" }) }),
      ),
    ).toThrow(RegistryError)
    const fresh = new Registry().register(define({ name: "A", factory: () => ({ name: "A" }) }))
    expect(fresh.names()).toEqual(["A"])
  })

  it("resolves every predicate and priority name of the seed's slides", () => {
    const r = defaultRegistry()
    const seed = {
      HostName: "NodeName",
      MatchNodeSelector: "NodeAffinity",
      InterPodAffinityMatches: "InterPodAffinity",
      PodToleratesNodeTaints: "TaintToleration",
      PodFitsHostPort: "NodePorts",
      PodFitsResources: "NodeResourcesFit",
      CheckNodeMemoryPressure: "NodeMemoryPressure",
      CheckNodeDiskPressure: "NodeDiskPressure",
      CheckNodeCondition: "NodeCondition",
      LeastRequestedPriority: "NodeResourcesLeastAllocated",
      BalancedResourceAllocation: "NodeResourcesBalancedAllocation",
      SelectorSpreadPriority: "DefaultPodTopologySpread",
      ImageLocalityPriority: "ImageLocality",
      NodeAffinityPriority: "NodeAffinity",
      TaintTolerationPriority: "TaintToleration",
    }
    for (const [legacy, plugin] of Object.entries(seed)) expect(r.resolve(legacy)).toEqual([plugin])
  })

  it("resolves legacy predicate and priority names", () => {
    const r = defaultRegistry()
    expect(r.resolve("PodFitsResources")).toEqual(["NodeResourcesFit"])
    expect(r.resolve("HostName")).toEqual(["NodeName"])
    expect(r.resolve("MatchNodeSelector")).toEqual(["NodeAffinity"])
    expect(r.resolve("InterPodAffinityMatches")).toEqual(["InterPodAffinity"])
    expect(r.resolve("PodToleratesNodeTaints")).toEqual(["TaintToleration"])
    expect(r.resolve("PodFitsHostPorts")).toEqual(["NodePorts"])
    expect(r.resolve("LeastRequestedPriority")).toEqual(["NodeResourcesLeastAllocated"])
    expect(r.resolve("SelectorSpreadPriority")).toEqual(["DefaultPodTopologySpread"])
    expect(r.resolve("CheckNodeMemoryPressure")).toEqual(["NodeMemoryPressure"])
    expect(r.resolve("GeneralPredicates")).toEqual([
      "NodeResourcesFit",
      "NodeName",
      "NodePorts",
      "NodeAffinity",
    ])
    expect(r.resolve("Nope")).toBeUndefined()
  })
})

describe("KubeSchedulerConfiguration", () => {
  it("defaults: one default-scheduler profile with v1.18's plugins", () => {
    const cfg = defaultConfiguration(defaultRegistry())
    expect(cfg.percentageOfNodesToScore).toBe(0)
    expect(cfg.podInitialBackoffMs).toBe(1000)
    expect(cfg.podMaxBackoffMs).toBe(10_000)
    const p = instantiateProfile(cfg.profiles[0]!, defaultRegistry(), handle())
    expect(p.schedulerName).toBe("default-scheduler")
    expect(p.filter.map((x) => x.name)).toEqual([
      "NodeUnschedulable",
      "NodeResourcesFit",
      "NodeName",
      "NodePorts",
      "NodeAffinity",
      "TaintToleration",
      "InterPodAffinity",
    ])
    expect(p.score.map((x) => [x.plugin.name, x.weight])).toEqual([
      ["NodeResourcesBalancedAllocation", 1],
      ["ImageLocality", 1],
      ["InterPodAffinity", 1],
      ["NodeResourcesLeastAllocated", 1],
      ["NodeAffinity", 1],
      ["DefaultPodTopologySpread", 1],
      ["TaintToleration", 1],
    ])
    expect(p.preFilter.map((x) => x.name)).toEqual(["InterPodAffinity"])
    expect(p.bind.map((x) => x.name)).toEqual(["DefaultBinder"])
  })

  it("merges enabled and disabled sets like Kubernetes", () => {
    const on = (name: string, weight = 1) => ({ name, weight })
    expect(
      mergePluginSets([on("A"), on("B"), on("C")], [on("B", 5), on("D")], new Set(["C"])),
    ).toEqual([on("A"), on("B", 5), on("D")])
    expect(mergePluginSets([on("A"), on("B")], [on("D")], new Set(["*"]))).toEqual([on("D")])
  })

  it("enables plugins by legacy names, with weights and args", () => {
    const registry = defaultRegistry()
    const r = decodeConfiguration(
      {
        ...base,
        percentageOfNodesToScore: 30,
        profiles: [
          {
            plugins: {
              filter: {
                enabled: [{ name: "CheckNodeCondition" }],
                disabled: [{ name: "TaintToleration" }],
              },
              score: {
                disabled: [{ name: "*" }],
                enabled: [
                  { name: "LeastRequestedPriority", weight: 3 },
                  { name: "InterPodAffinityPriority", weight: 2 },
                ],
              },
            },
            pluginConfig: [{ name: "InterPodAffinity", args: { hardPodAffinityWeight: 7 } }],
          },
        ],
      },
      registry,
    )
    if (Result.isFailure(r)) throw r.failure
    expect(r.success.percentageOfNodesToScore).toBe(30)
    const p = instantiateProfile(r.success.profiles[0]!, registry, handle())
    expect(p.filter.map((x) => x.name)).toContain("NodeCondition")
    expect(p.filter.map((x) => x.name)).not.toContain("TaintToleration")
    expect(p.score.map((x) => [x.plugin.name, x.weight])).toEqual([
      ["NodeResourcesLeastAllocated", 3],
      ["InterPodAffinity", 2],
    ])
    // Score plugins bring their PreScore along.
    expect(p.preScore.map((x) => x.name)).toContain("InterPodAffinity")
    expect(r.success.profiles[0]!.args.get("InterPodAffinity")).toEqual({
      hardPodAffinityWeight: 7,
    })
  })

  it("reports every problem with its field path", () => {
    expect(
      errorsOf({
        ...base,
        percentageOfNodesToScore: 101,
        podInitialBackoffSeconds: 5,
        podMaxBackoffSeconds: 2,
        profiles: [
          {
            plugins: {
              filter: { enabled: [{ name: "NoSuchPlugin" }] },
              score: { enabled: [{ name: "ImageLocality", weight: 1.5 }] },
            },
          },
        ],
      }),
    ).toEqual([
      "percentageOfNodesToScore: not in valid range [0-100]",
      "profiles[0].plugins.score.enabled[0].weight: must be an integer",
    ])
    expect(
      errorsOf({
        ...base,
        podInitialBackoffSeconds: 5,
        podMaxBackoffSeconds: 2,
        profiles: [
          { plugins: { filter: { enabled: [{ name: "NoSuchPlugin" }] } } },
          {
            schedulerName: "default-scheduler",
            pluginConfig: [
              { name: "InterPodAffinity", args: { hardPodAffinityWeight: 101 } },
              { name: "InterPodAffinityPriority", args: {} },
              { name: "NodeName", args: { x: 1 } },
              {
                name: "NodeResourcesLeastAllocated",
                args: { resources: [{ name: "cpu", weight: 0 }], extra: true },
              },
            ],
          },
        ],
      }),
    ).toEqual([
      "podMaxBackoffSeconds: Invalid value: 2: must be greater than or equal to podInitialBackoffSeconds",
      'profiles[0].plugins.filter.enabled[0].name: filter plugin "NoSuchPlugin" does not exist',
      'profiles[1].schedulerName: Duplicate value: "default-scheduler"',
      "profiles[1].pluginConfig[0].args.hardPodAffinityWeight: not in valid range [0-100]",
      'profiles[1].pluginConfig[1].name: Duplicate value: "InterPodAffinityPriority"',
      'profiles[1].pluginConfig[2].args: plugin "NodeName" takes no args',
      'profiles[1].pluginConfig[3].args.extra: unknown field "extra"',
      "profiles[1].pluginConfig[3].args.resources[0].weight: resource weight should be in range 1-100",
    ])
  })

  it("parses a JSON file, reporting syntax errors", () => {
    const ok = parseConfigurationJson(
      JSON.stringify({ ...base, percentageOfNodesToScore: 40 }),
      defaultRegistry(),
    )
    expect(Result.isSuccess(ok) && ok.success.percentageOfNodesToScore).toBe(40)
    const bad = parseConfigurationJson('{"apiVersion": ', defaultRegistry())
    expect(Result.isFailure(bad) && bad.failure.message).toMatch(/^invalid JSON: /)
  })

  it("rejects wrong kinds, versions and unknown fields", () => {
    expect(errorsOf({ apiVersion: "v1", kind: "KubeSchedulerConfiguration" })[0]).toMatch(
      /^apiVersion: /,
    )
    expect(errorsOf({ ...base, kind: "Pod" })[0]).toMatch(/^kind: /)
    expect(errorsOf({ ...base, profiles: [{ schedulerNmae: "x" }] })).toEqual([
      'profiles[0].schedulerNmae: unknown field "schedulerNmae"',
    ])
    expect(errorsOf("not an object")).toHaveLength(1)
  })

  it("a plugin enabled at a point it does not implement is refused", () => {
    const registry = defaultRegistry()
    const r = decodeConfiguration(
      { ...base, profiles: [{ plugins: { score: { enabled: [{ name: "NodeName" }] } } }] },
      registry,
    )
    if (Result.isFailure(r)) throw r.failure
    expect(() => instantiateProfile(r.success.profiles[0]!, registry, handle())).toThrow(
      'profiles[0].plugins.score: plugin "NodeName" does not extend score plugin',
    )
  })
})
