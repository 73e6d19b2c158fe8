import { describe, expect, it } from "vitest"
import {
  ErrReasonAffinityNotMatch,
  ErrReasonAffinityRulesNotMatch,
  ErrReasonAntiAffinityRulesNotMatch,
  ErrReasonExistingAntiAffinityRulesNotMatch,
  InterPodAffinity,
} from "../../../src/core/plugins/interpod-affinity.ts"
import { NodeAffinity } from "../../../src/core/plugins/node-affinity.ts"
import {
  NodeCondition,
  NodeDiskPressure,
  NodeMemoryPressure,
} from "../../../src/core/plugins/node-conditions.ts"
import { NodeName } from "../../../src/core/plugins/node-name.ts"
import { NodePorts } from "../../../src/core/plugins/node-ports.ts"
import { NodeResourcesFit } from "../../../src/core/plugins/node-resources.ts"
import { NodeUnschedulable } from "../../../src/core/plugins/node-unschedulable.ts"
import { TaintToleration } from "../../../src/core/plugins/taint-toleration.ts"
import { Code, type Result } from "../../../src/core/status.ts"
import { Cluster, node, pod } from "../../fixtures.ts"

const outcome = (r: Result): string | [string, ...Array<string>] =>
  r === undefined
    ? "fits"
    : [
        r.code === Code.Unschedulable
          ? "Unschedulable"
          : r.code === Code.UnschedulableAndUnresolvable
            ? "Unresolvable"
            : "Error",
        ...r.reasons,
      ]

describe("NodeName (HostName)", () => {
  const c = new Cluster().addNode(node("a")).addNode(node("b"))
  it.each([
    ["no nodeName", pod("p"), "a", "fits"],
    ["matching nodeName", pod("p", { nodeName: "a" }), "a", "fits"],
    [
      "other nodeName",
      pod("p", { nodeName: "b" }),
      "a",
      ["Unresolvable", "node(s) didn't match the requested hostname"],
    ],
  ] as const)("%s", (_n, p, n, want) => {
    expect(outcome(c.filter(new NodeName(), p, n))).toEqual(want)
  })
})

describe("NodeUnschedulable", () => {
  const c = new Cluster().addNode(node("cordoned", { unschedulable: true })).addNode(node("ok"))
  it.each([
    ["schedulable node", pod("p"), "ok", "fits"],
    ["cordoned node", pod("p"), "cordoned", ["Unresolvable", "node(s) were unschedulable"]],
    [
      "cordoned node, pod tolerates the unschedulable taint",
      pod("p", {
        tolerations: [
          { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
        ],
      }),
      "cordoned",
      "fits",
    ],
  ] as const)("%s", (_n, p, n, want) => {
    expect(outcome(c.filter(new NodeUnschedulable(), p, n))).toEqual(want)
  })
})

describe("NodeResourcesFit (PodFitsResources)", () => {
  const c = new Cluster()
    .addNode(node("n", { cpu: "4", memory: "8Gi", pods: "3" }))
    .place(pod("x", { requests: { cpu: "3", memory: "2Gi" } }), "n")
  const fit = new NodeResourcesFit()
  it.each([
    ["fits", pod("p", { requests: { cpu: "1", memory: "6Gi" } }), "fits"],
    [
      "one millicore too much",
      pod("p", { requests: { cpu: "1001m" } }),
      ["Unschedulable", "Insufficient cpu"],
    ],
    ["memory", pod("p", { requests: { memory: "6Gi", cpu: "100m" } }), "fits"],
    [
      "memory over",
      pod("p", { requests: { memory: "6145Mi" } }),
      ["Unschedulable", "Insufficient memory"],
    ],
    [
      "both",
      pod("p", { requests: { cpu: "2", memory: "7Gi" } }),
      ["Unschedulable", "Insufficient cpu", "Insufficient memory"],
    ],
    ["no requests always fits resources", pod("p"), "fits"],
    [
      "init container larger than the sum of containers",
      pod("p", { requests: { cpu: "500m" }, initContainers: [{ requests: { cpu: "1500m" } }] }),
      ["Unschedulable", "Insufficient cpu"],
    ],
    [
      "init container smaller than the sum",
      pod("p", {
        containers: [{ requests: { cpu: "500m" } }, { requests: { cpu: "400m" } }],
        initContainers: [{ requests: { cpu: "1" } }],
      }),
      "fits",
    ],
    [
      "overhead counts",
      pod("p", { requests: { cpu: "900m" }, overhead: { cpu: "200m" } }),
      ["Unschedulable", "Insufficient cpu"],
    ],
    [
      "extended resource missing on the node",
      pod("p", { requests: { "example.com/gpu": "1" } }),
      ["Unschedulable", "Insufficient example.com/gpu"],
    ],
    [
      "ephemeral storage",
      pod("p", { requests: { "ephemeral-storage": "1Gi" } }),
      ["Unschedulable", "Insufficient ephemeral-storage"],
    ],
  ] as const)("%s", (_n, p, want) => {
    expect(outcome(c.filter(fit, p, "n"))).toEqual(want)
  })

  it("counts pods against allowedPodNumber, even with no requests", () => {
    const full = new Cluster()
      .addNode(node("n", { pods: "2" }))
      .place(pod("a"), "n")
      .place(pod("b"), "n")
    expect(outcome(full.filter(fit, pod("p"), "n"))).toEqual(["Unschedulable", "Too many pods"])
    expect(outcome(full.filter(fit, pod("p", { requests: { cpu: "5" } }), "n"))).toEqual([
      "Unschedulable",
      "Too many pods",
      "Insufficient cpu",
    ])
  })

  it("ignores configured extended resources", () => {
    const f = new NodeResourcesFit({ ignoredResources: ["example.com/gpu"] })
    expect(outcome(c.filter(f, pod("p", { requests: { "example.com/gpu": "1" } }), "n"))).toBe(
      "fits",
    )
  })
})

describe("NodePorts (PodFitsHostPorts)", () => {
  const c = new Cluster().addNode(node("n")).place(
    pod("x", {
      ports: [{ hostPort: 8080 }, { hostPort: 53, protocol: "UDP", hostIP: "127.0.0.1" }],
    }),
    "n",
  )
  const reason = ["Unschedulable", "node(s) didn't have free ports for the requested pod ports"]
  it.each([
    ["no host ports", pod("p"), "fits"],
    ["same port, TCP on all addresses", pod("p", { ports: [{ hostPort: 8080 }] }), reason],
    [
      "same port, other protocol",
      pod("p", { ports: [{ hostPort: 8080, protocol: "UDP" }] }),
      "fits",
    ],
    [
      "same port on a specific IP conflicts with 0.0.0.0",
      pod("p", { ports: [{ hostPort: 8080, hostIP: "10.0.0.1" }] }),
      reason,
    ],
    [
      "UDP 53 on another IP",
      pod("p", { ports: [{ hostPort: 53, protocol: "UDP", hostIP: "127.0.0.2" }] }),
      "fits",
    ],
    [
      "UDP 53 on 0.0.0.0 conflicts with 127.0.0.1",
      pod("p", { ports: [{ hostPort: 53, protocol: "UDP" }] }),
      reason,
    ],
  ] as const)("%s", (_n, p, want) => {
    expect(outcome(c.filter(new NodePorts(), p, "n"))).toEqual(want)
  })
})

describe("NodeAffinity (MatchNodeSelector)", () => {
  const c = new Cluster()
    .addNode(node("a", { labels: { disk: "ssd", zone: "z1", gen: "5" } }))
    .addNode(node("b", { labels: { disk: "hdd" } }))
  const reason = ["Unresolvable", "node(s) didn't match node selector"]
  const required = (terms: Array<object>) => ({
    nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
  })
  it.each([
    ["nodeSelector matches", pod("p", { nodeSelector: { disk: "ssd" } }), "a", "fits"],
    ["nodeSelector mismatch", pod("p", { nodeSelector: { disk: "ssd" } }), "b", reason],
    ["nodeSelector key absent", pod("p", { nodeSelector: { zone: "z1" } }), "b", reason],
    [
      "In",
      pod("p", {
        affinity: required([
          { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd", "nvme"] }] },
        ]),
      }),
      "a",
      "fits",
    ],
    [
      "NotIn on a missing key matches",
      pod("p", {
        affinity: required([
          { matchExpressions: [{ key: "zone", operator: "NotIn", values: ["z1"] }] },
        ]),
      }),
      "b",
      "fits",
    ],
    [
      "Gt",
      pod("p", {
        affinity: required([{ matchExpressions: [{ key: "gen", operator: "Gt", values: ["4"] }] }]),
      }),
      "a",
      "fits",
    ],
    [
      "Lt fails",
      pod("p", {
        affinity: required([{ matchExpressions: [{ key: "gen", operator: "Lt", values: ["4"] }] }]),
      }),
      "a",
      reason,
    ],
    [
      "terms are ORed",
      pod("p", {
        affinity: required([
          { matchExpressions: [{ key: "disk", operator: "In", values: ["nvme"] }] },
          { matchExpressions: [{ key: "disk", operator: "Exists" }] },
        ]),
      }),
      "b",
      "fits",
    ],
    ["an empty term matches nothing", pod("p", { affinity: required([{}]) }), "a", reason],
    ["no terms match nothing", pod("p", { affinity: required([]) }), "a", reason],
    [
      "matchFields metadata.name",
      pod("p", {
        affinity: required([
          { matchFields: [{ key: "metadata.name", operator: "In", values: ["b"] }] },
        ]),
      }),
      "b",
      "fits",
    ],
    [
      "matchFields other node",
      pod("p", {
        affinity: required([
          { matchFields: [{ key: "metadata.name", operator: "In", values: ["b"] }] },
        ]),
      }),
      "a",
      reason,
    ],
    [
      "selector and affinity both needed",
      pod("p", {
        nodeSelector: { disk: "hdd" },
        affinity: required([
          { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] },
        ]),
      }),
      "a",
      reason,
    ],
  ] as const)("%s", (_n, p, n, want) => {
    expect(outcome(c.filter(new NodeAffinity(), p, n))).toEqual(want)
  })
})

describe("TaintToleration (PodToleratesNodeTaints)", () => {
  const c = new Cluster()
    .addNode(node("ns", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }))
    .addNode(node("ne", { taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoExecute" }] }))
    .addNode(node("pref", { taints: [{ key: "spot", value: "true", effect: "PreferNoSchedule" }] }))
  it.each([
    [
      "untolerated NoSchedule",
      pod("p"),
      "ns",
      ["Unresolvable", "node(s) had taint {dedicated: gpu}, that the pod didn't tolerate"],
    ],
    [
      "untolerated NoExecute",
      pod("p"),
      "ne",
      [
        "Unresolvable",
        "node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't tolerate",
      ],
    ],
    ["PreferNoSchedule does not filter", pod("p"), "pref", "fits"],
    [
      "Equal toleration",
      pod("p", {
        tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
      }),
      "ns",
      "fits",
    ],
    [
      "wrong value",
      pod("p", { tolerations: [{ key: "dedicated", value: "cpu" }] }),
      "ns",
      ["Unresolvable", "node(s) had taint {dedicated: gpu}, that the pod didn't tolerate"],
    ],
    [
      "Exists with empty key tolerates everything",
      pod("p", { tolerations: [{ operator: "Exists" }] }),
      "ne",
      "fits",
    ],
    [
      "effect must match",
      pod("p", { tolerations: [{ key: "dedicated", operator: "Exists", effect: "NoExecute" }] }),
      "ns",
      ["Unresolvable", "node(s) had taint {dedicated: gpu}, that the pod didn't tolerate"],
    ],
  ] as const)("%s", (_n, p, n, want) => {
    expect(outcome(c.filter(new TaintToleration(), p, n))).toEqual(want)
  })
})

describe("legacy node-condition predicates", () => {
  const c = new Cluster()
    .addNode(node("ready", { conditions: [{ type: "Ready", status: "True" }] }))
    .addNode(
      node("down", {
        conditions: [
          { type: "Ready", status: "Unknown" },
          { type: "NetworkUnavailable", status: "True" },
        ],
        unschedulable: true,
      }),
    )
    .addNode(
      node("mem", {
        conditions: [
          { type: "MemoryPressure", status: "True" },
          { type: "DiskPressure", status: "True" },
        ],
      }),
    )
  it("CheckNodeCondition lists every failing condition", () => {
    expect(outcome(c.filter(new NodeCondition(), pod("p"), "ready"))).toBe("fits")
    expect(outcome(c.filter(new NodeCondition(), pod("p"), "down"))).toEqual([
      "Unschedulable",
      "node(s) were not ready",
      "node(s) had unavailable network",
      "node(s) were unschedulable",
    ])
  })
  it("CheckNodeMemoryPressure only keeps BestEffort pods off", () => {
    expect(outcome(c.filter(new NodeMemoryPressure(), pod("p"), "mem"))).toEqual([
      "Unschedulable",
      "node(s) had memory pressure",
    ])
    expect(
      outcome(c.filter(new NodeMemoryPressure(), pod("p", { requests: { memory: "1Mi" } }), "mem")),
    ).toBe("fits")
    expect(
      outcome(c.filter(new NodeMemoryPressure(), pod("p", { limits: { cpu: "1" } }), "mem")),
    ).toBe("fits")
  })
  it("CheckNodeDiskPressure keeps every pod off", () => {
    expect(
      outcome(c.filter(new NodeDiskPressure(), pod("p", { requests: { memory: "1Mi" } }), "mem")),
    ).toEqual(["Unschedulable", "node(s) had disk pressure"])
    expect(outcome(c.filter(new NodeDiskPressure(), pod("p"), "ready"))).toBe("fits")
  })
})

describe("InterPodAffinity (MatchInterPodAffinity)", () => {
  const zone = (z: string) => ({ "topology.kubernetes.io/zone": z })
  const term = (labels: Record<string, string>, topologyKey = "topology.kubernetes.io/zone") => ({
    labelSelector: { matchLabels: labels },
    topologyKey,
  })
  const c = () =>
    new Cluster()
      .addNode(node("a1", { labels: zone("a") }))
      .addNode(node("a2", { labels: zone("a") }))
      .addNode(node("b1", { labels: zone("b") }))
  const ipa = (cl: Cluster) => new InterPodAffinity(cl.handle)

  it("required affinity: only nodes in the zone of a matching pod", () => {
    const cl = c().place(pod("db", { labels: { app: "db" } }), "a1")
    const p = pod("web", {
      affinity: {
        podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: "db" })] },
      },
    })
    expect(outcome(cl.filter(ipa(cl), p, "a2"))).toBe("fits")
    expect(outcome(cl.filter(ipa(cl), p, "b1"))).toEqual([
      "Unresolvable",
      ErrReasonAffinityNotMatch,
      ErrReasonAffinityRulesNotMatch,
    ])
  })

  it("the first pod of a self-affine group may go anywhere, but not a pod that does not match its own term", () => {
    const cl = c()
    const self = pod("web", {
      labels: { app: "web" },
      affinity: {
        podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: "web" })] },
      },
    })
    expect(outcome(cl.filter(ipa(cl), self, "b1"))).toBe("fits")
    const other = pod("web", {
      labels: { app: "x" },
      affinity: {
        podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: "web" })] },
      },
    })
    expect(outcome(cl.filter(ipa(cl), other, "b1"))).toEqual([
      "Unresolvable",
      ErrReasonAffinityNotMatch,
      ErrReasonAffinityRulesNotMatch,
    ])
  })

  it("required anti-affinity of the pod", () => {
    const cl = c().place(pod("w1", { labels: { app: "web" } }), "a1")
    const p = pod("w2", {
      labels: { app: "web" },
      affinity: {
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: "web" })] },
      },
    })
    expect(outcome(cl.filter(ipa(cl), p, "a2"))).toEqual([
      "Unschedulable",
      ErrReasonAffinityNotMatch,
      ErrReasonAntiAffinityRulesNotMatch,
    ])
    expect(outcome(cl.filter(ipa(cl), p, "b1"))).toBe("fits")
  })

  it("existing pods' required anti-affinity (symmetry)", () => {
    const cl = c().place(
      pod("loner", {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              term({ app: "web" }, "kubernetes.io/hostname"),
            ],
          },
        },
      }),
      "a1",
    )
    expect(outcome(cl.filter(ipa(cl), pod("w", { labels: { app: "web" } }), "a1"))).toEqual([
      "Unschedulable",
      ErrReasonAffinityNotMatch,
      ErrReasonExistingAntiAffinityRulesNotMatch,
    ])
    expect(outcome(cl.filter(ipa(cl), pod("w", { labels: { app: "web" } }), "a2"))).toBe("fits")
    expect(outcome(cl.filter(ipa(cl), pod("w", { labels: { app: "api" } }), "a1"))).toBe("fits")
  })

  it("terms only see their namespaces", () => {
    const cl = c().place(pod("db", { namespace: "other", labels: { app: "db" } }), "a1")
    const p = pod("web", {
      labels: { app: "x" },
      affinity: {
        podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: "db" })] },
      },
    })
    expect(outcome(cl.filter(ipa(cl), p, "a1"))[0]).toBe("Unresolvable")
    const withNs = pod("web", {
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { ...term({ app: "db" }), namespaces: ["other"] },
          ],
        },
      },
    })
    expect(outcome(cl.filter(ipa(cl), withNs, "a2"))).toBe("fits")
  })
})
