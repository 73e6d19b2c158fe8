// Summarizes a V8 CPU profile (`node --cpu-prof`, e.g. the benchmark's server
// with BENCH_CPU_PROF=<dir>): the functions with the most self time, the
// files (packages) with the most self time, and the functions with the most
// inclusive time, as a flame graph would show them.
//
//   node bench/profile.ts <file.cpuprofile> [rows]
import { readFileSync } from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [file, rowsArg] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: profile.ts <file.cpuprofile> [rows]")
const rows = Number(rowsArg ?? 30)
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const self = new Map<number, number>()
let total = 0
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0
  self.set(id, (self.get(id) ?? 0) + dt)
  total += dt
})

const shortUrl = (url: string) =>
  url
    .replace(/^file:\/\/.*?\/node_modules\//, "")
    .replace(/^file:\/\/.*?\/packages\//, "")
    .replace(/^node:/, "node:")
const label = (f: CallFrame) =>
  `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}${f.url === "" ? "" : `:${f.lineNumber + 1}`}`
const area = (f: CallFrame) => {
  if (f.url === "") return f.functionName.startsWith("(") ? f.functionName : "(native)"
  const u = shortUrl(f.url)
  if (u.startsWith("node:")) return u.split("/").slice(0, 2).join("/")
  const parts = u.split("/")
  return parts[0] === "effect" ? `effect/${parts[parts.length - 1]}` : parts.slice(0, 3).join("/")
}

const selfByLabel = new Map<string, number>()
const selfByArea = new Map<string, number>()
const inclusive = new Map<string, number>()
for (const [id, t] of self) {
  const node = byId.get(id)
  if (node === undefined) continue
  const l = label(node.callFrame)
  selfByLabel.set(l, (selfByLabel.get(l) ?? 0) + t)
  const a = area(node.callFrame)
  selfByArea.set(a, (selfByArea.get(a) ?? 0) + t)
  // Each distinct frame on the stack gets the sample's time once (recursion counted once).
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)
    if (n === undefined) break
    const k = label(n.callFrame)
    if (seen.has(k)) continue
    seen.add(k)
    inclusive.set(k, (inclusive.get(k) ?? 0) + t)
  }
}

const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`)
  for (const [k, t] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    console.log(
      `${((100 * t) / total).toFixed(1).padStart(6)} %  ${(t / 1000).toFixed(0).padStart(7)} ms  ${k}`,
    )
  }
}
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`)
print("self time by area", selfByArea)
print("self time by function", selfByLabel)
print("inclusive time by function", inclusive)
