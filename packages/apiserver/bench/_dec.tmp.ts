import { decodeObject, kinds } from "@flotilla/api"
import * as JIT from "effect/schema/SchemaJITCompiler"
if (process.argv[2] === "jit") for (const k of kinds) JIT.enable(k.schema.ast)
const pod = {
  apiVersion: "v1", kind: "Pod",
  metadata: { name: "p-1", namespace: "bench", labels: { app: "bench" } },
  spec: { containers: [{ name: "main", image: "nginx:1.27", resources: { requests: { cpu: "100m", memory: "64Mi" } } }] },
}
const dep = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" }, spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "main", image: "nginx", ports: [{ containerPort: 80 }] }] } } } }
const time = (name: string, f: () => unknown, n = 20000) => {
  for (let i = 0; i < 3000; i++) f()
  const t = performance.now()
  for (let i = 0; i < n; i++) f()
  console.log(name, (((performance.now() - t) * 1000) / n).toFixed(1), "µs")
}
for (let r = 0; r < 2; r++) {
  time("pod", () => decodeObject(pod, { fieldValidation: "Strict" }))
  time("deployment", () => decodeObject(dep, { fieldValidation: "Strict" }))
}
const r = decodeObject({ ...pod, spec: { ...pod.spec, foo: 1, containers: [{ name: 3 }] } }, { fieldValidation: "Strict" })
console.log(JSON.stringify(r))
console.log(JSON.stringify(decodeObject(pod)))
