// The api primitives on the paths that run per object: label selector matching (the scheduler
// and every controller), field selector matching (list/watch filtering), quantity parsing,
// printing and arithmetic (resource accounting), and name validation. Prints a table, then one
// JSON line of ops/s.
import { Result } from "effect"
import { compileFieldSelector, parseFieldSelector, podSelectableFields } from "../src/fields.ts"
import { type Labels, parseSelector, selectorFromSet } from "../src/labels.ts"
import { isDNS1123Subdomain, isQualifiedName } from "../src/names.ts"
import { mustParseQuantity, parseQuantity } from "../src/quantity.ts"

const N = Number(process.env.N ?? 1_000_000)

const rows: Array<{ name: string; ops: number; ms: number }> = []
let sink = 0
const measure = (name: string, ops: number, f: () => void): void => {
  f() // warm-up run, also checks that it works
  const t0 = performance.now()
  f()
  rows.push({ name, ops, ms: performance.now() - t0 })
}

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

const pad = (s: string, n: number) => s.padEnd(n)
console.log(
  `${pad("operation", 42)} ${"ops".padStart(10)} ${"ms".padStart(9)} ${"ops/s".padStart(13)}`,
)
const figures: Record<string, number> = {}
for (const r of rows) {
  const perSecond = Math.round((r.ops / r.ms) * 1000)
  figures[r.name] = perSecond
  console.log(
    `${pad(r.name, 42)} ${String(r.ops).padStart(10)} ${r.ms.toFixed(1).padStart(9)} ${perSecond.toLocaleString("en").padStart(13)}`,
  )
}
if (sink === 42) console.log("")
console.log(JSON.stringify({ bench: "api-primitives", N, opsPerSecond: figures }))
