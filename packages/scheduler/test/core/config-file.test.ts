import { Result, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { stringify } from "yaml"
import { type ConfigError, decodeConfiguration } from "../../src/core/config.ts"
import { parseConfiguration } from "../../src/core/config-file.ts"
import { defaultRegistry, define } from "../../src/core/registry.ts"

const failure = (text: string, registry = defaultRegistry()): ConfigError => {
  const r = parseConfiguration(text, registry)
  if (Result.isSuccess(r)) throw new Error("expected the configuration to be refused")
  return r.failure
}

describe("parseConfiguration (YAML files)", () => {
  it("reads a KubeSchedulerConfiguration in YAML, legacy names and weights included", () => {
    const text = [
      "apiVersion: kubescheduler.config.k8s.io/v1",
      "kind: KubeSchedulerConfiguration",
      "percentageOfNodesToScore: 50",
      "podMaxBackoffSeconds: 20",
      "profiles:",
      "  - schedulerName: default-scheduler",
      "    plugins:",
      "      score:",
      "        disabled: [{ name: '*' }]",
      "        enabled:",
      "          - name: LeastRequestedPriority",
      "            weight: 3",
      "    pluginConfig:",
      "      - name: InterPodAffinity",
      "        args:",
      "          hardPodAffinityWeight: 5",
      "",
    ].join("\n")
    const r = parseConfiguration(text, defaultRegistry())
    if (Result.isFailure(r)) throw r.failure
    expect(r.success.percentageOfNodesToScore).toBe(50)
    expect(r.success.podMaxBackoffMs).toBe(20_000)
    expect(r.success.profiles[0]?.plugins.score).toEqual([
      { name: "NodeResourcesLeastAllocated", weight: 3 },
    ])
    expect(r.success.profiles[0]?.args.get("InterPodAffinity")).toEqual({
      hardPodAffinityWeight: 5,
    })
  })

  it("reads scalars as kube-scheduler does (YAML 1.1: 0x10 and 1_0 are numbers, <<: merges)", () => {
    const text = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 0x10
podMaxBackoffSeconds: 1_0
profiles: [{schedulerName: default-scheduler, plugins: {score: {enabled: [
  &least {name: LeastRequestedPriority, weight: 3},
  {<<: *least, name: ImageLocality}]}}}]
`
    const parsed = Result.getOrThrow(parseConfiguration(text, defaultRegistry()))
    expect([parsed.percentageOfNodesToScore, parsed.podMaxBackoffMs]).toEqual([16, 10_000])
    expect(parsed.profiles[0]?.plugins.score).toContainEqual({ name: "ImageLocality", weight: 3 })
  })

  it("places every problem on its line", () => {
    const text = [
      "apiVersion: kubescheduler.config.k8s.io/v1", //  1
      "kind: KubeSchedulerConfiguration", //            2
      "podInitialBackoffSeconds: 5", //                 3
      "podMaxBackoffSeconds: 2", //                     4
      "profiles:", //                                   5
      "  - plugins:", //                                6
      "      filter:", //                               7
      "        enabled:", //                            8
      "          - name: NoSuchPlugin", //              9
      "      score:", //                                10
      "        enabled:", //                            11
      "          - name: ImageLocality", //             12
      "            weight: 1.5", //                     13
      "    pluginConfig:", //                           14
      "      - name: InterPodAffinity", //              15
      "        args:", //                               16
      "          hardPodAffinityWeight: 500", //        17
      "          extra: true", //                       18
      "", //
    ].join("\n")
    expect(failure(text).message.split("\n")).toEqual([
      "line 13: profiles[0].plugins.score.enabled[0].weight: must be an integer",
    ])
    const fixed = text.replace("weight: 1.5", "weight: 2")
    expect(failure(fixed).message.split("\n")).toEqual([
      "line 4: podMaxBackoffSeconds: Invalid value: 2: must be greater than or equal to podInitialBackoffSeconds",
      'line 9: profiles[0].plugins.filter.enabled[0].name: filter plugin "NoSuchPlugin" does not exist',
      "line 17: profiles[0].pluginConfig[0].args.hardPodAffinityWeight: not in valid range [0-100]",
      'line 18: profiles[0].pluginConfig[0].args.extra: unknown field "extra"',
    ])
  })

  it("a missing field is reported on its nearest ancestor; an unknown top-level field on its key", () => {
    expect(failure("kind: KubeSchedulerConfiguration\nprofiles: []\n").issues).toEqual([
      expect.objectContaining({ path: "apiVersion", line: 1 }),
    ])
    const e = failure(
      "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n\nschedulerName: x\n",
    )
    expect(e.message).toBe('line 4: schedulerName: unknown field "schedulerName"')
  })

  it("reports YAML syntax errors and duplicate keys with their line", () => {
    const dup = failure(
      "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nkind: Other\n",
    )
    expect(dup.issues).toHaveLength(1)
    expect(dup.issues[0]?.line).toBe(3)
    expect(dup.message).toMatch(/^line 3: invalid YAML: Map keys must be unique/)
    const bad = failure("apiVersion: v1\nprofiles:\n  - plugins: [\n")
    expect(bad.issues[0]?.line).toBe(3)
    expect(bad.message).toMatch(/^line 3: invalid YAML: /)
    expect(failure("").message).toBe("the file is empty")
    expect(failure("# only a comment\n").message).toBe("the file is empty")
    expect(failure("--- {}\n--- {}\n").message).toMatch(/invalid YAML: .*multiple documents/i)
  })

  it("alias bombs are refused, not expanded", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for (let i = 1; i < 8; i++) {
      const prev = String.fromCharCode(96 + i)
      const ref = `*${prev}`
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(ref).join(", ")}]`,
      )
    }
    expect(failure(`${levels.join("\n")}\n`).message).toMatch(/^invalid YAML: /)
  })

  it("JSON files are read too, with lines", () => {
    const json = JSON.stringify(
      {
        apiVersion: "kubescheduler.config.k8s.io/v1beta1",
        kind: "KubeSchedulerConfiguration",
        profiles: [{ schedulerName: "" }],
      },
      null,
      2,
    )
    expect(failure(json).message).toBe("line 6: profiles[0].schedulerName: must not be empty")
  })

  it("keys with dots in plugin args are located", () => {
    const registry = defaultRegistry().register(
      define({
        name: "Costs",
        args: Schema.Struct({ costs: Schema.Record(Schema.String, Schema.Number) }),
        defaultArgs: { costs: {} },
        factory: () => ({ name: "Costs" }),
      }),
    )
    const text = [
      "apiVersion: kubescheduler.config.k8s.io/v1",
      "kind: KubeSchedulerConfiguration",
      "profiles:",
      "- pluginConfig:",
      "  - name: Costs",
      "    args:",
      "      costs:",
      "        example.com: 1",
      "        example.com/cost: high",
      "",
    ].join("\n")
    const e = failure(text, registry)
    expect(e.issues.map((i) => [i.path, i.line])).toEqual([
      ["profiles[0].pluginConfig[0].args.costs.example.com/cost", 9],
    ])
  })

  it("property: a YAML rendering of any configuration object decodes exactly as the object does", () => {
    const registry = defaultRegistry()
    const names = ["NodeName", "ImageLocality", "HostName", "NoSuchPlugin", "*", "TaintToleration"]
    const ref = fc.record(
      { name: fc.constantFrom(...names), weight: fc.integer({ min: -1, max: 5 }) },
      { requiredKeys: ["name"] },
    )
    const set = fc.record(
      { enabled: fc.array(ref, { maxLength: 3 }), disabled: fc.array(ref, { maxLength: 2 }) },
      { requiredKeys: [] },
    )
    const config = fc.record(
      {
        apiVersion: fc.constantFrom(
          "kubescheduler.config.k8s.io/v1",
          "kubescheduler.config.k8s.io/v1beta1",
          "v1",
        ),
        kind: fc.constantFrom("KubeSchedulerConfiguration", "Pod"),
        percentageOfNodesToScore: fc.integer({ min: -5, max: 120 }),
        podInitialBackoffSeconds: fc.integer({ min: 0, max: 4 }),
        podMaxBackoffSeconds: fc.integer({ min: 0, max: 12 }),
        profiles: fc.array(
          fc.record(
            {
              schedulerName: fc.constantFrom("default-scheduler", "other", ""),
              plugins: fc.record({ filter: set, score: set }, { requiredKeys: [] }),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: ["apiVersion", "kind"] },
    )
    fc.assert(
      fc.property(config, (c) => {
        const fromObject = decodeConfiguration(c, registry)
        const fromYaml = parseConfiguration(stringify(c), registry)
        expect(Result.isSuccess(fromYaml)).toBe(Result.isSuccess(fromObject))
        if (Result.isSuccess(fromObject) && Result.isSuccess(fromYaml)) {
          expect(fromYaml.success).toEqual(fromObject.success)
        }
        if (Result.isFailure(fromObject) && Result.isFailure(fromYaml)) {
          // The same problems, each now on a line of the file.
          const text = (i: { path: string; message: string }) => `${i.path}: ${i.message}`
          expect(fromYaml.failure.issues.map(text).sort()).toEqual(
            fromObject.failure.issues.map(text).sort(),
          )
          const lines = fromYaml.failure.issues.map((i) => i.line ?? 0)
          for (const l of lines) expect(l).toBeGreaterThanOrEqual(1)
          expect(lines).toEqual([...lines].sort((a, b) => a - b))
        }
      }),
      { numRuns: 200 },
    )
  })
})
