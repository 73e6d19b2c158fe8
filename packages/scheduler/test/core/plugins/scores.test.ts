import { describe, expect, it } from "vitest"
import { andMatchers, selectorFromSet } from "../../../src/core/labels.ts"
import { ImageLocality, imageLocalityScore } from "../../../src/core/plugins/image-locality.ts"
import { InterPodAffinity } from "../../../src/core/plugins/interpod-affinity.ts"
import { NodeAffinity } from "../../../src/core/plugins/node-affinity.ts"
import {
  leastRequestedScore,
  NodeResourcesBalancedAllocation,
  NodeResourcesLeastAllocated,
  NodeResourcesMostAllocated,
} from "../../../src/core/plugins/node-resources.ts"
import { DefaultPodTopologySpread } from "../../../src/core/plugins/selector-spread.ts"
import { TaintToleration } from "../../../src/core/plugins/taint-toleration.ts"
import { Cluster, node, pod } from "../../fixtures.ts"

const Mi = 1024 * 1024

describe("LeastRequestedPriority (NodeResourcesLeastAllocated)", () => {
  it("the worked example: 4000m allocatable, 1000m requested, the pod asks 500m", () => {
    // Legacy 0..10 scale: (4000-1500)*10/4000 = 6; the framework's 0..100 scale gives 62.
    expect(leastRequestedScore(1500, 4000)).toBe(62)
    const c = new Cluster()
      .addNode(node("n", { cpu: "4000m", memory: "8Gi" }))
      .place(pod("x", { requests: { cpu: "1000m", memory: "2Gi" } }), "n")
    // cpu 62, memory (8-4)/8 -> 50; (62 + 50) / 2 = 56.
    expect(
      c.scores(
        new NodeResourcesLeastAllocated(),
        pod("p", { requests: { cpu: "500m", memory: "2Gi" } }),
      ),
    ).toEqual({ n: 56 })
  })

  it("pods without requests count 100m and 200Mi", () => {
    const c = new Cluster().addNode(node("n", { cpu: "1", memory: "1000Mi" })).place(pod("x"), "n")
    // cpu (1000-200)*100/1000 = 80; memory (1000-400)*100/1000 = 60.
    expect(c.scores(new NodeResourcesLeastAllocated(), pod("p"))).toEqual({ n: 70 })
  })

  it("0 when the request exceeds capacity; weights apply", () => {
    expect(leastRequestedScore(5000, 4000)).toBe(0)
    expect(leastRequestedScore(0, 0)).toBe(0)
    const c = new Cluster().addNode(node("n", { cpu: "4", memory: "4Gi" }))
    const cpuHeavy = new NodeResourcesLeastAllocated({
      resources: [
        { name: "cpu", weight: 3 },
        { name: "memory", weight: 1 },
      ],
    })
    // cpu (4000-1000)*100/4000 = 75, memory (4096-3072)*100/4096 = 25: (75*3 + 25) / 4 = 62.
    expect(c.scores(cpuHeavy, pod("p", { requests: { cpu: "1", memory: "3Gi" } }))).toEqual({
      n: 62,
    })
  })

  it("MostAllocated mirrors it", () => {
    const c = new Cluster().addNode(node("n", { cpu: "4", memory: "4Gi" }))
    expect(
      c.scores(
        new NodeResourcesMostAllocated(),
        pod("p", { requests: { cpu: "1", memory: "3Gi" } }),
      ),
    ).toEqual({ n: 50 })
  })
})

describe("BalancedResourceAllocation", () => {
  it.each([
    // [cpu requested, memory requested, want]
    ["3", "2Gi", 50], // 0.75 vs 0.25
    ["2", "4Gi", 100], // 0.5 vs 0.5
    ["1", "7Gi", 37], // 0.25 vs 0.875 -> (1 - 0.625) * 100 = 37.5 -> 37
    ["4", "1Gi", 0], // cpu fraction 1 -> 0
  ])("cpu %s memory %s on 4 CPU / 8Gi -> %i", (cpu, memory, want) => {
    const c = new Cluster().addNode(node("n", { cpu: "4", memory: "8Gi" }))
    expect(
      c.scores(new NodeResourcesBalancedAllocation(), pod("p", { requests: { cpu, memory } })),
    ).toEqual({ n: want })
  })
})

describe("ImageLocalityPriority", () => {
  it("scales each image by the fraction of nodes that have it, clamped to 23..1000 MiB", () => {
    const c = new Cluster()
      .addNode(node("has", { images: [{ names: ["registry/app:v1"], sizeBytes: 500 * Mi }] }))
      .addNode(node("empty"))
    // 500 MiB * 1/2 = 250 MiB: 100 * (250 - 23) / (1000 - 23) = 23.
    expect(
      c.scores(new ImageLocality(() => c.cache.numNodes), pod("p", { image: "registry/app:v1" })),
    ).toEqual({
      has: 23,
      empty: 0,
    })
  })

  it("adds :latest to untagged names and clamps", () => {
    const c = new Cluster().addNode(
      node("a", { images: [{ names: ["nginx:latest"], sizeBytes: 3000 * Mi }] }),
    )
    expect(
      c.scores(new ImageLocality(() => c.cache.numNodes), pod("p", { image: "nginx" })),
    ).toEqual({ a: 100 })
    expect(imageLocalityScore(10 * Mi)).toBe(0)
    expect(imageLocalityScore(1000 * Mi)).toBe(100)
  })
})

describe("NodeAffinityPriority", () => {
  it("sums matching preferred weights and normalizes to 100", () => {
    const c = new Cluster()
      .addNode(node("both", { labels: { disk: "ssd", zone: "z1" } }))
      .addNode(node("ssd", { labels: { disk: "ssd" } }))
      .addNode(node("none"))
    const p = pod("p", {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 3,
              preference: { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] },
            },
            { weight: 1, preference: { matchExpressions: [{ key: "zone", operator: "Exists" }] } },
          ],
        },
      },
    })
    // raw 4, 3, 0 -> 100, 75, 0
    expect(c.scores(new NodeAffinity(), p)).toEqual({ both: 100, ssd: 75, none: 0 })
  })
})

describe("TaintTolerationPriority", () => {
  it("counts untolerated PreferNoSchedule taints, fewer is better", () => {
    const soft = (key: string) => ({ key, value: "x", effect: "PreferNoSchedule" })
    const c = new Cluster()
      .addNode(node("clean"))
      .addNode(node("one", { taints: [soft("a")] }))
      .addNode(node("two", { taints: [soft("a"), soft("b")] }))
    expect(c.scores(new TaintToleration(), pod("p"))).toEqual({ clean: 100, one: 50, two: 0 })
    // A toleration with no effect covers PreferNoSchedule too.
    expect(
      c.scores(
        new TaintToleration(),
        pod("p", { tolerations: [{ key: "a", operator: "Exists" }] }),
      ),
    ).toEqual({
      clean: 100,
      one: 100,
      two: 0,
    })
  })
})

describe("SelectorSpreadPriority (DefaultPodTopologySpread)", () => {
  const web = { app: "web" }
  const spread = { selectorFor: () => andMatchers([selectorFromSet(web)]) }

  it("without zones: 100 * (max - count) / max", () => {
    const c = new Cluster(spread)
      .addNode(node("n1"))
      .addNode(node("n2"))
      .addNode(node("n3"))
      .place(pod("w1", { labels: web }), "n1")
      .place(pod("w2", { labels: web }), "n1")
      .place(pod("w3", { labels: web }), "n2")
      .place(pod("other", { labels: { app: "db" } }), "n3")
    expect(c.scores(new DefaultPodTopologySpread(c.handle), pod("w4", { labels: web }))).toEqual({
      n1: 0,
      n2: 50,
      n3: 100,
    })
  })

  it("with zones: 1/3 node spread + 2/3 zone spread", () => {
    const z = (zone: string) => ({ "topology.kubernetes.io/zone": zone })
    const c = new Cluster(spread)
      .addNode(node("a1", { labels: z("a") }))
      .addNode(node("a2", { labels: z("a") }))
      .addNode(node("b1", { labels: z("b") }))
      .place(pod("w1", { labels: web }), "a1")
      .place(pod("w2", { labels: web }), "a1")
      .place(pod("w3", { labels: web }), "b1")
    // node counts 2,0,1 (max 2); zone counts a=2, b=1 (max 2).
    // a1: 0/3 + 2/3*0 = 0; a2: 100/3 + 0 = 33.3 -> 33; b1: 50/3 + 2/3*50 = 50.
    expect(c.scores(new DefaultPodTopologySpread(c.handle), pod("w4", { labels: web }))).toEqual({
      a1: 0,
      a2: 33,
      b1: 50,
    })
  })

  it("ignores pods being deleted and other namespaces; no selector gives 100 everywhere", () => {
    const c = new Cluster(spread)
      .addNode(node("n1"))
      .addNode(node("n2"))
      .place(pod("w1", { labels: web, deleting: true }), "n1")
      .place(pod("w2", { labels: web, namespace: "other" }), "n1")
    expect(c.scores(new DefaultPodTopologySpread(c.handle), pod("w", { labels: web }))).toEqual({
      n1: 100,
      n2: 100,
    })
  })
})

describe("InterPodAffinityPriority", () => {
  it("preferred affinity and anti-affinity per topology domain, scaled min..max to 0..100", () => {
    const z = (zone: string) => ({ "topology.kubernetes.io/zone": zone })
    const c = new Cluster()
      .addNode(node("a", { labels: z("a") }))
      .addNode(node("b", { labels: z("b") }))
      .addNode(node("c", { labels: z("c") }))
      .place(pod("db", { labels: { app: "db" } }), "a")
      .place(pod("cache", { labels: { app: "cache" } }), "b")
    const term = (app: string, weight: number) => ({
      weight,
      podAffinityTerm: {
        labelSelector: { matchLabels: { app } },
        topologyKey: "topology.kubernetes.io/zone",
      },
    })
    const p = pod("web", {
      affinity: {
        podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [term("db", 10)] },
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [term("cache", 5)] },
      },
    })
    // raw a=10, b=-5, c=0: min -5, max 10 -> a 100, b 0, c 100*5/15 = 33.
    expect(c.scores(new InterPodAffinity(c.handle), p)).toEqual({ a: 100, b: 0, c: 33 })
  })

  it("an existing pod's required affinity attracts the pod with hardPodAffinityWeight", () => {
    const c = new Cluster()
      .addNode(node("n1"))
      .addNode(node("n2"))
      .place(
        pod("sidecar-host", {
          affinity: {
            podAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                {
                  labelSelector: { matchLabels: { app: "web" } },
                  topologyKey: "kubernetes.io/hostname",
                },
              ],
            },
          },
        }),
        "n1",
      )
    expect(c.scores(new InterPodAffinity(c.handle), pod("w", { labels: { app: "web" } }))).toEqual({
      n1: 100,
      n2: 0,
    })
    expect(
      c.scores(
        new InterPodAffinity(c.handle, { hardPodAffinityWeight: 0 }),
        pod("w", { labels: { app: "web" } }),
      ),
    ).toEqual({
      n1: 0,
      n2: 0,
    })
  })
})
