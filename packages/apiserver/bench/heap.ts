// Summarizes a V8 heap snapshot (`BENCH_HEAP_SNAPSHOT` of the API server
// benchmark, or any `.heapsnapshot`): what the live heap is made of, by
// constructor, and who owns it, as the dominator tree's biggest subtrees
// with the path that reaches them. Objects are counted as well as bytes: a
// full collection's marking visits every object and follows its pointers,
// so its cost follows the count more than the bytes.
//
//   node packages/apiserver/bench/heap.ts <file.heapsnapshot> [min share %, default 1]
import { readFileSync } from "node:fs"

const file = process.argv[2]
if (file === undefined) {
  console.error("usage: node bench/heap.ts <file.heapsnapshot> [min share %]")
  process.exit(2)
}
const minShare = Number(process.argv[3] ?? 1) / 100

const raw = readFileSync(file)

/** Parses the flat number array that starts after `"<name>":[` (snapshots are too big for one JSON.parse). */
const numbers = (name: string): Uint32Array => {
  const start = raw.indexOf(`"${name}":[`)
  if (start < 0) throw new Error(`no ${name} in ${file}`)
  let i = start + name.length + 4
  let out = new Uint32Array(1 << 20)
  let n = 0
  let v = 0
  let inNumber = false
  for (; ; i++) {
    const c = raw[i] as number
    if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48)
      inNumber = true
      continue
    }
    if (inNumber) {
      if (n === out.length) {
        const grown = new Uint32Array(out.length * 2)
        grown.set(out)
        out = grown
      }
      out[n++] = v
      v = 0
      inNumber = false
    }
    if (c === 93) break // ]
  }
  return out.subarray(0, n)
}

const metaEnd = raw.indexOf('"nodes":[')
const head = JSON.parse(`${raw.subarray(0, metaEnd).toString().replace(/,\s*$/, "")}}`) as {
  snapshot: {
    meta: {
      node_fields: Array<string>
      node_types: [Array<string>]
      edge_fields: Array<string>
      edge_types: [Array<string>]
    }
  }
}
const meta = head.snapshot.meta
const nodes = numbers("nodes")
const edges = numbers("edges")
const stringsAt = raw.indexOf('"strings":[')
const stringsEnd = raw.lastIndexOf("]")
const strings = JSON.parse(raw.subarray(stringsAt + 10, stringsEnd + 1).toString()) as Array<string>

const nf = meta.node_fields.length
const ef = meta.edge_fields.length
const nType = meta.node_fields.indexOf("type")
const nName = meta.node_fields.indexOf("name")
const nSize = meta.node_fields.indexOf("self_size")
const nEdges = meta.node_fields.indexOf("edge_count")
const eType = meta.edge_fields.indexOf("type")
const eName = meta.edge_fields.indexOf("name_or_index")
const eTo = meta.edge_fields.indexOf("to_node")
const nodeTypes = meta.node_types[0]
const edgeTypes = meta.edge_types[0]
const weak = edgeTypes.indexOf("weak")
const shortcut = edgeTypes.indexOf("shortcut")
const element = edgeTypes.indexOf("element")
const hidden = edgeTypes.indexOf("hidden")
const N = nodes.length / nf

const firstEdge = new Uint32Array(N + 1)
for (let i = 0; i < N; i++)
  firstEdge[i + 1] = (firstEdge[i] as number) + (nodes[i * nf + nEdges] as number) * ef

const typeOf = (i: number) => nodeTypes[nodes[i * nf + nType] as number] ?? "?"
const nameOf = (i: number) => strings[nodes[i * nf + nName] as number] ?? "?"
const sizeOf = (i: number) => nodes[i * nf + nSize] as number
/** A node's class: the constructor for objects, the type otherwise (strings, arrays, code, ...). */
const classOf = (i: number) => {
  const t = typeOf(i)
  if (t === "object" || t === "native") return nameOf(i)
  if (t === "hidden" || t === "synthetic") return `(${t}) ${nameOf(i).slice(0, 40)}`
  return `(${t})`
}
const edgeName = (e: number) => {
  const t = edges[e + eType] as number
  const n = edges[e + eName] as number
  return t === element || t === hidden ? `[${n}]` : (strings[n] ?? "?")
}
const strong = (e: number) => {
  const t = edges[e + eType] as number
  return t !== weak && t !== shortcut
}

/** Calls `f` with each strong edge of `v` and the node it points to. */
const eachStrongEdge = (v: number, f: (e: number, to: number) => void) => {
  const end = firstEdge[v + 1] as number
  for (let e = firstEdge[v] as number; e < end; e += ef)
    if (strong(e)) f(e, (edges[e + eTo] as number) / nf)
}

// Depth-first postorder from the root (node 0) over strong edges.
const postorder = new Uint32Array(N)
const postIndex = new Uint32Array(N).fill(0xffffffff)
const visited = new Uint8Array(N)
let reachable = 0
{
  const stack = new Uint32Array(N)
  const edgeAt = new Uint32Array(N)
  let sp = 0
  let count = 0
  stack[sp++] = 0
  visited[0] = 1
  edgeAt[0] = firstEdge[0] as number
  while (sp > 0) {
    const v = stack[sp - 1] as number
    const end = firstEdge[v + 1] as number
    let pushed = false
    while ((edgeAt[v] as number) < end) {
      const e = edgeAt[v] as number
      edgeAt[v] = e + ef
      if (!strong(e)) continue
      const w = (edges[e + eTo] as number) / nf
      if (visited[w]) continue
      visited[w] = 1
      edgeAt[w] = firstEdge[w] as number
      stack[sp++] = w
      pushed = true
      break
    }
    if (!pushed) {
      sp--
      postIndex[v] = count
      postorder[count++] = v
    }
  }
  reachable = count
}

// Predecessors (strong edges between reachable nodes).
const predCount = new Uint32Array(N + 1)
for (let v = 0; v < N; v++)
  if (visited[v])
    eachStrongEdge(v, (_, w) => {
      predCount[w + 1] = (predCount[w + 1] as number) + 1
    })
for (let i = 0; i < N; i++)
  predCount[i + 1] = (predCount[i + 1] as number) + (predCount[i] as number)
const preds = new Uint32Array(predCount[N] as number)
{
  const fill = predCount.slice(0, N)
  for (let v = 0; v < N; v++)
    if (visited[v])
      eachStrongEdge(v, (_, w) => {
        const at = fill[w] as number
        fill[w] = at + 1
        preds[at] = v
      })
}

// Dominators: Cooper, Harvey and Kennedy's iteration over reverse postorder.
const idom = new Uint32Array(N).fill(0xffffffff)
idom[0] = 0
const intersect = (a: number, b: number) => {
  while (a !== b) {
    while ((postIndex[a] as number) < (postIndex[b] as number)) a = idom[a] as number
    while ((postIndex[b] as number) < (postIndex[a] as number)) b = idom[b] as number
  }
  return a
}
// The root is the last node the walk finished.
const rootPost = reachable - 1
for (let changed = true; changed; ) {
  changed = false
  for (let k = rootPost - 1; k >= 0; k--) {
    const v = postorder[k] as number
    if (!visited[v]) continue
    let d = 0xffffffff
    for (let p = predCount[v] as number; p < (predCount[v + 1] as number); p++) {
      const u = preds[p] as number
      if (idom[u] === 0xffffffff) continue
      d = d === 0xffffffff ? u : intersect(u, d)
    }
    if (d !== 0xffffffff && idom[v] !== d) {
      idom[v] = d
      changed = true
    }
  }
}

// Retained size and count: each node's own plus what it dominates (postorder sums).
const retainedSize = new Float64Array(N)
const retainedCount = new Uint32Array(N)
for (let k = 0; k < rootPost; k++) {
  const v = postorder[k] as number
  retainedSize[v] = (retainedSize[v] as number) + sizeOf(v)
  retainedCount[v] = (retainedCount[v] as number) + 1
  const d = idom[v] as number
  retainedSize[d] = (retainedSize[d] as number) + (retainedSize[v] as number)
  retainedCount[d] = (retainedCount[d] as number) + (retainedCount[v] as number)
}
retainedSize[0] = (retainedSize[0] as number) + sizeOf(0)
retainedCount[0] = (retainedCount[0] as number) + 1

const totalSize = retainedSize[0] as number
const totalCount = retainedCount[0] as number
const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`
const k = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(0)} k` : String(n))
const pointers = (() => {
  let n = 0
  for (let v = 0; v < N; v++)
    if (visited[v])
      eachStrongEdge(v, () => {
        n++
      })
  return n
})()
console.log(
  `${file}: ${k(reachable)} live objects (${k(N - reachable)} unreachable in the file), ${mb(totalSize)}, ${k(pointers)} strong edges`,
)

// By class.
const byClass = new Map<string, { count: number; size: number; edges: number }>()
for (let v = 0; v < N; v++) {
  if (!visited[v]) continue
  const c = classOf(v)
  const x = byClass.get(c) ?? { count: 0, size: 0, edges: 0 }
  x.count++
  x.size += sizeOf(v)
  x.edges += ((firstEdge[v + 1] as number) - (firstEdge[v] as number)) / ef
  byClass.set(c, x)
}
console.log("\nby class (objects, self size, outgoing edges), the top 30 by objects:")
for (const [c, x] of [...byClass].sort((a, b) => b[1].count - a[1].count).slice(0, 30))
  console.log(
    `  ${k(x.count).padStart(8)} ${((100 * x.count) / totalCount).toFixed(1).padStart(5)} %  ${mb(x.size).padStart(9)}  ${k(x.edges).padStart(8)} edges  ${c}`,
  )

// The dominator tree's subtrees over the threshold (objects or bytes), with
// the edge from the dominator that reaches each.
const children = new Map<number, Array<number>>()
for (let v = 1; v < N; v++) {
  if (!visited[v]) continue
  const d = idom[v] as number
  if (
    (retainedCount[v] as number) < minShare * totalCount &&
    (retainedSize[v] as number) < minShare * totalSize
  )
    continue
  const list = children.get(d) ?? []
  list.push(v)
  children.set(d, list)
}
// Shortest paths from the root (breadth first over strong edges): every path
// to a node passes through its dominator, so the names from the dominator
// down to the node say how it is reached.
const bfsParent = new Uint32Array(N).fill(0xffffffff)
const bfsEdge = new Uint32Array(N)
const bfsOrder = new Uint32Array(N)
bfsParent[0] = 0
let bfsTail = 1
for (let at = 0; at < bfsTail; at++) {
  const v = bfsOrder[at] as number
  eachStrongEdge(v, (e, w) => {
    if (bfsParent[w] !== 0xffffffff) return
    bfsParent[w] = v
    bfsEdge[w] = e
    bfsOrder[bfsTail++] = w
  })
}
const viaEdge = (from: number, to: number) => {
  const names: Array<string> = []
  for (let v = to; v !== from && v !== 0 && names.length < 6; v = bfsParent[v] as number)
    names.push(edgeName(bfsEdge[v] as number))
  return names.reverse().join(".")
}
console.log(
  `\nowners (dominator subtrees holding >= ${minShare * 100} % of the objects or bytes): objects, bytes, class, edge from its dominator`,
)
// Each object's nearest listed owner (dominators come later in postorder).
const listed = new Uint8Array(N)
for (const list of children.values()) for (const c of list) listed[c] = 1
const ownerOf = new Uint32Array(N)
for (let i = rootPost - 1; i >= 0; i--) {
  const v = postorder[i] as number
  ownerOf[v] = listed[v] ? v : (ownerOf[idom[v] as number] as number)
}
const ownClasses = new Map<number, Map<string, number>>()
for (let i = 0; i < rootPost; i++) {
  const v = postorder[i] as number
  const o = ownerOf[v] as number
  if (o === 0) continue
  const m = ownClasses.get(o) ?? new Map<string, number>()
  const c = classOf(v)
  m.set(c, (m.get(c) ?? 0) + 1)
  ownClasses.set(o, m)
}
const show = (v: number, depth: number) => {
  const list = (children.get(v) ?? []).sort(
    (a, b) => (retainedCount[b] as number) - (retainedCount[a] as number),
  )
  for (const c of list) {
    const pad = "  ".repeat(depth)
    console.log(
      `${pad}${k(retainedCount[c] as number).padStart(8)} ${((100 * (retainedCount[c] as number)) / totalCount).toFixed(1).padStart(5)} %  ${mb(retainedSize[c] as number).padStart(9)}  ${classOf(c).slice(0, 50)}  <- ${viaEdge(v, c).slice(-60)}`,
    )
    // What it holds itself (not through a listed owner below it), by class.
    const own = [...(ownClasses.get(c) ?? [])].sort((a, b) => b[1] - a[1])
    const ownCount = own.reduce((n, [, x]) => n + x, 0)
    if (ownCount >= minShare * totalCount)
      console.log(
        `${pad}  ${"".padStart(8)} own objects: ${own
          .slice(0, 8)
          .map(([name, x]) => `${k(x)} ${name.slice(0, 30)}`)
          .join(", ")}`,
      )
    if (depth < 24) show(c, depth + 1)
  }
}
show(0, 1)
