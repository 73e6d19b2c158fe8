// The write path stores the object model's decoded values without an
// encoding pass. That holds only while decoding leaves objects in their wire
// shape; this test fails if a schema of @flotilla/api starts transforming.
import { applyDefaults, decodeObject, encode } from "@flotilla/api"
import { Result } from "effect"
import { describe, expect, it } from "vitest"

const samples: ReadonlyArray<Record<string, unknown>> = [
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", labels: { a: "b" } },
    spec: {
      containers: [
        {
          name: "c",
          image: "i",
          resources: { requests: { cpu: 0.5, memory: "64Mi" }, limits: { cpu: "1" } },
          ports: [{ containerPort: 80 }],
          livenessProbe: { httpGet: { port: "http" } },
        },
      ],
      tolerations: [{ key: "k", operator: "Exists" }],
      affinity: { nodeAffinity: {} },
    },
    status: { phase: "Running", startTime: "2026-01-01T00:00:00Z" },
  },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", annotations: { x: "y" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { a: "b" } },
      template: {
        metadata: { labels: { a: "b" } },
        spec: { containers: [{ name: "c", image: "i" }] },
      },
      strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: "25%" } },
    },
    status: {
      conditions: [{ type: "Available", status: "True", lastUpdateTime: "2026-01-01T00:00:00Z" }],
    },
  },
  {
    apiVersion: "apps/v1beta1",
    kind: "Deployment",
    metadata: { name: "old" },
    spec: {
      template: {
        metadata: { labels: { a: "b" } },
        spec: { containers: [{ name: "c", image: "i" }] },
      },
      rollbackTo: { revision: 3 },
    },
  },
  {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: "r",
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "Deployment", name: "d", uid: "u", controller: true },
      ],
    },
    spec: {
      selector: { matchLabels: { a: "b" } },
      template: {
        metadata: { labels: { a: "b" } },
        spec: { containers: [{ name: "c", image: "i" }] },
      },
    },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s" },
    spec: { type: "LoadBalancer", ports: [{ port: 80, targetPort: "http" }], selector: { a: "b" } },
  },
  {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n" },
    spec: { taints: [{ key: "k", effect: "NoSchedule" }] },
    status: {
      capacity: { cpu: 4, memory: "8Gi" },
      conditions: [{ type: "Ready", status: "True" }],
      addresses: [{ type: "InternalIP", address: "127.0.0.2" }],
    },
  },
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "ns" } },
  {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "e" },
    subsets: [{ addresses: [{ ip: "10.0.0.1" }], ports: [{ port: 80 }] }],
  },
  {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "ev" },
    involvedObject: { kind: "Pod", name: "p" },
    reason: "r",
    message: "m",
    count: 2,
    eventTime: "2026-01-01T00:00:00.123456Z",
  },
  {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "l" },
    spec: {
      holderIdentity: "h",
      renewTime: "2026-01-01T00:00:00.123456Z",
      leaseDurationSeconds: 40,
    },
  },
]

describe("decoded objects are already in the wire shape", () => {
  it.each(samples.map((s) => [`${s.apiVersion} ${s.kind}`, s] as const))("%s", (_, sample) => {
    const decoded = decodeObject(sample)
    if (Result.isFailure(decoded)) throw new Error(decoded.failure.message)
    const defaulted = applyDefaults(decoded.success.value)
    const encoded = encode(defaulted)
    if (Result.isFailure(encoded)) throw new Error(encoded.failure.message)
    expect(JSON.parse(JSON.stringify(defaulted))).toEqual(encoded.success)
  })
})
