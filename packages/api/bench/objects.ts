// The object model on the API server's per-request path: decoding a Pod body
// (parsed JSON, and JSON text), encoding it, defaulting and validating it, and
// the whole manifest pipeline on the seed's YAML. Prints a table, then one JSON
// line of ops/s.
import { readFileSync } from "node:fs"
import { Result } from "effect"
import { decodeJson, decodeObject, encode } from "../src/codec.ts"
import type { Pod } from "../src/core/v1.ts"
import { applyDefaults } from "../src/defaults.ts"
import { processManifests } from "../src/manifest.ts"
import { validate } from "../src/validation/index.ts"
import { makeTable } from "./table.ts"

const N = Number(process.env.N ?? 20_000)

const { measure, print } = makeTable()
let sink = 0

// A Pod as a controller or kubectl sends it: labels, two containers with ports,
// env, resources and a probe, tolerations and a node selector.
const podJson = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "web-5d4f8c7b9-abcde",
    namespace: "default",
    labels: { app: "web", "pod-template-hash": "5d4f8c7b9" },
    ownerReferences: [
      {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "web-5d4f8c7b9",
        uid: "3f1c",
        controller: true,
      },
    ],
  },
  spec: {
    containers: [
      {
        name: "web",
        image: "nginx:1.27",
        ports: [{ containerPort: 80, name: "http" }],
        env: [{ name: "MODE", value: "prod" }],
        resources: {
          requests: { cpu: "250m", memory: "128Mi" },
          limits: { cpu: "1", memory: "256Mi" },
        },
        readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5 },
      },
      { name: "sidecar", image: "busybox:1.36", command: ["sh", "-c", "sleep 3600"] },
    ],
    nodeSelector: { "kubernetes.io/os": "linux" },
    tolerations: [
      {
        key: "node.kubernetes.io/not-ready",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 300,
      },
    ],
  },
}
const podText = JSON.stringify(podJson)

measure("decode Pod (parsed JSON)", N, () => {
  for (let i = 0; i < N; i++) sink += Result.isSuccess(decodeObject(podJson)) ? 1 : 0
})
measure("decode Pod (JSON text)", N, () => {
  for (let i = 0; i < N; i++) sink += Result.isSuccess(decodeJson(podText)) ? 1 : 0
})
const pod = Result.getOrThrow(decodeObject(podJson)).value as Pod
measure("encode Pod", N, () => {
  for (let i = 0; i < N; i++) sink += Result.isSuccess(encode(pod)) ? 1 : 0
})
measure("default Pod", N, () => {
  for (let i = 0; i < N; i++) sink += applyDefaults(pod).spec.containers.length
})
const defaulted = applyDefaults(pod)
measure("validate Pod", N, () => {
  for (let i = 0; i < N; i++) sink += validate(defaulted).length
})
const seed = readFileSync(
  new URL("../../../docs/examples/hello-kubecon.yaml", import.meta.url),
  "utf8",
)
const MANIFESTS = Math.max(1, Math.floor(N / 10))
measure("seed manifests: YAML -> validated apps/v1", MANIFESTS, () => {
  for (let i = 0; i < MANIFESTS; i++) sink += processManifests(seed).objects.length
})

if (sink === 42) console.log("")
print("api-objects", N)
