import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { AffinityIndex } from "../../src/core/affinity-index.ts"
import { Cache } from "../../src/core/cache.ts"
import { compileNode, compilePod } from "../../src/core/compile.ts"
import type { PodInfo } from "../../src/core/types.ts"
import { node, pod } from "../fixtures.ts"

const podInfo = (i: number, nodeName: string, anti: boolean, app: string): PodInfo =>
  compilePod(
    pod(`p${i}`, {
      nodeName,
      labels: { app },
      requests: { cpu: `${100 * (1 + (i % 3))}m`, memory: "64Mi" },
      ...(i % 4 === 0 ? { ports: [{ hostPort: 8000 + (i % 2) }] } : {}),
      ...(anti
        ? {
            affinity: {
              podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [
                  {
                    labelSelector: { matchLabels: { app } },
                    topologyKey: "topology.kubernetes.io/zone",
                  },
                ],
              },
            },
          }
        : {}),
    }),
  )

const op = fc.oneof(
  fc.record({
    t: fc.constant("node" as const),
    n: fc.nat(3),
    zone: fc.constantFrom("a", "b", "c"),
    image: fc.boolean(),
  }),
  fc.record({ t: fc.constant("rmnode" as const), n: fc.nat(3) }),
  fc.record({
    t: fc.constant("pod" as const),
    i: fc.nat(12),
    n: fc.nat(3),
    anti: fc.boolean(),
    app: fc.constantFrom("x", "y"),
  }),
  fc.record({ t: fc.constant("rmpod" as const), i: fc.nat(12) }),
  fc.record({
    t: fc.constant("assume" as const),
    i: fc.nat(12),
    n: fc.nat(3),
    anti: fc.boolean(),
    app: fc.constantFrom("x", "y"),
  }),
  fc.record({ t: fc.constant("forget" as const), i: fc.nat(12) }),
)

describe("Cache", () => {
  it("keeps NodeInfo aggregates, the node list, image spread and the affinity index equal to a recount", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const cache = new Cache()
        const nodes = new Map<string, { zone: string; image: boolean }>()
        const pods = new Map<string, PodInfo>()
        const assumed = new Set<string>()
        for (const o of ops) {
          if (o.t === "node") {
            const name = `n${o.n}`
            nodes.set(name, { zone: o.zone, image: o.image })
            cache.addNode(
              compileNode(
                node(name, {
                  labels: { "topology.kubernetes.io/zone": o.zone },
                  ...(o.image ? { images: [{ names: ["img:1"], sizeBytes: 100 }] } : {}),
                }),
              ),
            )
          } else if (o.t === "rmnode") {
            nodes.delete(`n${o.n}`)
            cache.removeNode(`n${o.n}`)
          } else if (o.t === "pod" || o.t === "assume") {
            const key = `default/p${o.i}`
            if (pods.has(key)) continue
            const info = podInfo(o.i, `n${o.n}`, o.anti, o.app)
            if (o.t === "pod") cache.addPod(info)
            else {
              cache.assumePod({ ...info, nodeName: "" }, `n${o.n}`)
              assumed.add(key)
            }
            pods.set(key, info)
          } else if (o.t === "rmpod") {
            const key = `default/p${o.i}`
            pods.delete(key)
            assumed.delete(key)
            cache.removePod(key)
          } else {
            const key = `default/p${o.i}`
            if (!assumed.has(key)) continue
            assumed.delete(key)
            pods.delete(key)
            cache.forgetPod(key)
          }

          // The listed nodes are exactly the known ones.
          const list = cache.nodeInfoList()
          expect(list.map((n) => n.name).sort()).toEqual([...nodes.keys()].sort())
          expect(list.map((n) => n.index)).toEqual(list.map((_, i) => i))
          // Aggregates per node.
          for (const n of list) {
            const mine = [...pods.values()].filter((p) => p.nodeName === n.name)
            expect(n.pods.map((p) => p.key).sort()).toEqual(mine.map((p) => p.key).sort())
            expect(n.requested.milliCPU).toBe(mine.reduce((a, p) => a + p.request.milliCPU, 0))
            expect(n.requested.memory).toBe(mine.reduce((a, p) => a + p.request.memory, 0))
            expect(n.nonZeroMilliCPU).toBe(mine.reduce((a, p) => a + p.nonZeroMilliCPU, 0))
            expect(n.podsWithAffinity.length).toBe(
              mine.filter((p) => p.affinity !== undefined).length,
            )
            for (const port of [8000, 8001]) {
              expect(n.usedPorts.checkConflict({ ip: "0.0.0.0", protocol: "TCP", port })).toBe(
                mine.some((p) => p.hostPorts.some((h) => h.port === port)),
              )
            }
            const withImage = [...nodes.values()].filter((x) => x.image).length
            expect(n.imageStates.get("img:1")?.spread.nodes.size).toBe(
              nodes.get(n.name)!.image ? withImage : undefined,
            )
          }
          // The affinity index equals a recount over pods on known nodes.
          const recount = new AffinityIndex()
          for (const p of pods.values()) {
            const zone = nodes.get(p.nodeName)?.zone
            recount.addTerms(
              p,
              zone === undefined ? undefined : { "topology.kubernetes.io/zone": zone },
              1,
            )
          }
          const groups = (i: AffinityIndex) =>
            [...i.requiredAntiAffinity.groups.entries()]
              .map(([k, g]) => [k, g.members, [...g.counts].sort()])
              .sort()
          expect(groups(cache.affinityIndex)).toEqual(groups(recount))
        }
      }),
      { numRuns: 200 },
    )
  })

  it("orders nodes round-robin across zones", () => {
    const cache = new Cache()
    const add = (name: string, zone: string) =>
      cache.addNode(compileNode(node(name, { labels: { "topology.kubernetes.io/zone": zone } })))
    add("a1", "a")
    add("a2", "a")
    add("a3", "a")
    add("b1", "b")
    add("c1", "c")
    add("b2", "b")
    expect(cache.nodeInfoList().map((n) => n.name)).toEqual(["a1", "b1", "c1", "a2", "b2", "a3"])
  })

  it("expires assumed pods whose binding finished but were never confirmed", () => {
    const cache = new Cache({ assumedPodTtlMs: 30_000 })
    cache.addNode(compileNode(node("n1")))
    cache.assumePod(compilePod(pod("a", { requests: { cpu: "1" } })), "n1")
    cache.finishBinding("default/a", 1000)
    expect(cache.cleanupExpiredAssumedPods(30_999)).toEqual([])
    expect(cache.cleanupExpiredAssumedPods(31_000)).toEqual(["default/a"])
    expect(cache.getNode("n1")!.requested.milliCPU).toBe(0)
  })
})
