// The api primitives on the paths that run per object: label selector matching (the scheduler
// and every controller), field selector matching (list/watch filtering), quantity parsing,
// printing and arithmetic (resource accounting), and name validation. Prints a table, then one
// JSON line of ops/s.
import { Result } from "effect"
import { compileFieldSelector, parseFieldSelector, podSelectableFields } from "../src/fields.ts"
import { type Labels, parseSelector, selectorFromSet } from "../src/labels.ts"
import { isDNS1123Subdomain, isQualifiedName } from "../src/names.ts"
import { mustParseQuantity, parseQuantity } from "../src/quantity.ts"
import { makeTable } from "./table.ts"

const N = Number(process.env.N ?? 1_000_000)

const { measure, print } = makeTable()
let sink = 0

// Label maps as pods carry them: a few labels, some matching.
const labelSets: Array<Labels> = Array.from({ length: 1024 }, (_, i) => ({
  app: i % 3 === 0 ? "web" : "db",
  tier: i % 2 === 0 ? "frontend" : "backend",
  "pod-template-hash": `h${i % 17}`,
  ...(i % 5 === 0 ? { canary: "true" } : {}),
}))

const setBased = Result.getOrThrow(parseSelector("app=web,tier in (frontend,backend),!canary"))
measure("label selector match (3 requirements)", N, () => {
  for (let i = 0; i < N; i++) if (setBased.matches(labelSets[i & 1023]!)) sink++
})
const serviceSelector = selectorFromSet({ app: "web", tier: "frontend" })
measure("label selector match (service map)", N, () => {
  for (let i = 0; i < N; i++) if (serviceSelector.matches(labelSets[i & 1023]!)) sink++
})
const PARSES = N / 10
measure("label selector parse", PARSES, () => {
  for (let i = 0; i < PARSES; i++) {
    sink += parseSelector("app=web,tier in (frontend,backend),!canary").pipe(Result.isSuccess)
      ? 1
      : 0
  }
})

const pods = Array.from({ length: 1024 }, (_, i) => ({
  metadata: { name: `p${i}`, namespace: "default" },
  spec: { nodeName: `node-${i % 50}` },
  status: { phase: i % 4 === 0 ? "Pending" : "Running" },
}))
const byNode = Result.getOrThrow(
  compileFieldSelector(
    Result.getOrThrow(parseFieldSelector("spec.nodeName=node-7,status.phase!=Succeeded")),
    podSelectableFields,
  ),
)
measure("field selector match (2 requirements)", N, () => {
  for (let i = 0; i < N; i++) if (byNode(pods[i & 1023]!)) sink++
})

const texts = ["100m", "128Mi", "1.5", "2Gi", "500m", "1", "0.25", "64Ki"]
measure("quantity parse", N, () => {
  for (let i = 0; i < N; i++) if (Result.isSuccess(parseQuantity(texts[i & 7]!))) sink++
})
const quantities = texts.map(mustParseQuantity)
measure("quantity add + toString", N / 10, () => {
  for (let i = 0; i < N / 10; i++) {
    sink += quantities[i & 7]!.add(quantities[(i + 3) & 7]!).toString().length
  }
})
measure("quantity milliValue (cached)", N, () => {
  for (let i = 0; i < N; i++) sink += quantities[i & 7]!.milliValue()
})

const names = ["web-1", "kube-system", "example.com/app", "a".repeat(60), "Bad_Name"]
measure("isDNS1123Subdomain", N, () => {
  for (let i = 0; i < N; i++) sink += isDNS1123Subdomain(names[i % 5]!).length
})
measure("isQualifiedName", N, () => {
  for (let i = 0; i < N; i++) sink += isQualifiedName(names[i % 5]!).length
})

if (sink === 42) console.log("")
print("api-primitives", N)
