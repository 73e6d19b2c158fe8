// The API server's update path for a Pod, piece by piece: the body as a client
// sends it back (the stored pod with managedFields and status, one annotation
// changed), its duplicate-key count, its decoding, and `validateUpdate`
// against the stored version. Prints a table, then one JSON line of ops/s.
import { Result } from "effect"
import { decodeJson, decodeObject, type KubeObject } from "../src/codec.ts"
import type { Pod } from "../src/core/v1.ts"
import { applyDefaults } from "../src/defaults.ts"
import { duplicateFields } from "../src/duplicates.ts"
import { validate, validateUpdate } from "../src/validation/index.ts"
import { makeTable } from "./table.ts"

const N = Number(process.env.N ?? 20_000)

const table = makeTable()
let sink = 0
const measure = (name: string, f: () => void): void => table.measure(name, N, f)

// A pod as the API server stores it after a create by a client: defaulted,
// with a managedFields entry (fieldsV1 as Kubernetes writes it) and a status.
const stored = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "web-5d4f8c7b9-abcde",
    namespace: "default",
    uid: "6c1f0e3a-8a4b-4c1e-9d2f-0a1b2c3d4e5f",
    resourceVersion: "1042",
    creationTimestamp: "2026-11-28T22:00:00Z",
    labels: { app: "web", "pod-template-hash": "5d4f8c7b9" },
    managedFields: [
      {
        manager: "kubectl-client-side-apply",
        operation: "Update",
        apiVersion: "v1",
        time: "2026-11-28T22:00:00Z",
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:metadata": { "f:labels": { ".": {}, "f:app": {}, "f:pod-template-hash": {} } },
          "f:spec": {
            "f:containers": {
              'k:{"name":"web"}': {
                ".": {},
                "f:image": {},
                "f:imagePullPolicy": {},
                "f:name": {},
                "f:ports": {
                  ".": {},
                  'k:{"containerPort":80,"protocol":"TCP"}': {
                    ".": {},
                    "f:containerPort": {},
                    "f:name": {},
                    "f:protocol": {},
                  },
                },
                "f:resources": {
                  ".": {},
                  "f:limits": { ".": {}, "f:cpu": {}, "f:memory": {} },
                  "f:requests": { ".": {}, "f:cpu": {}, "f:memory": {} },
                },
                "f:terminationMessagePath": {},
                "f:terminationMessagePolicy": {},
              },
            },
            "f:dnsPolicy": {},
            "f:enableServiceLinks": {},
            "f:restartPolicy": {},
            "f:schedulerName": {},
            "f:securityContext": {},
            "f:terminationGracePeriodSeconds": {},
          },
        },
      },
    ],
  },
  spec: {
    containers: [
      {
        name: "web",
        image: "nginx:1.27",
        ports: [{ containerPort: 80, name: "http" }],
        resources: {
          requests: { cpu: "250m", memory: "128Mi" },
          limits: { cpu: "1", memory: "256Mi" },
        },
      },
    ],
    nodeSelector: { "kubernetes.io/os": "linux" },
  },
  status: { phase: "Pending", qosClass: "Burstable" },
}

const previous = applyDefaults(
  Result.getOrThrow(decodeObject(stored)).value as Pod,
) as unknown as KubeObject
if (validate(previous).length !== 0) throw new Error("the stored pod must be valid")
const sent = JSON.parse(JSON.stringify(previous))
sent.metadata.annotations = { "bench/update": "1" }
const text = JSON.stringify(sent)
const parsed = JSON.parse(text)
const next = Result.getOrThrow(decodeJson(text)).value

measure("duplicateFields (update body)", () => {
  for (let i = 0; i < N; i++) sink += duplicateFields(text, parsed).length
})
measure("decode Pod update body (parsed JSON)", () => {
  for (let i = 0; i < N; i++) sink += Result.isSuccess(decodeObject(parsed)) ? 1 : 0
})
measure("decode Pod update body (JSON text)", () => {
  for (let i = 0; i < N; i++) sink += Result.isSuccess(decodeJson(text)) ? 1 : 0
})
measure("validate Pod (create rules)", () => {
  for (let i = 0; i < N; i++) sink += validate(next).length
})
measure("validateUpdate Pod (annotation changed)", () => {
  for (let i = 0; i < N; i++) sink += validateUpdate(next, previous).length
})
if (validateUpdate(next, previous).length !== 0) throw new Error("the update must be valid")

if (sink === 42) console.log("")
table.print("api-update", N)
