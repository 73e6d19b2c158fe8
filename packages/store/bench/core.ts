// The state machine's hot paths, in-process: applying puts (as the Raft apply
// loop would, from encoded log entries), point and prefix ranges, txns, watch
// dispatch, compaction and snapshots. Prints a table, then one JSON line.
import {
  decodeRequest,
  decodeSnapshot,
  encodeRequest,
  encodeSnapshot,
  encodeSnapshotSteps,
  MvccStore,
  WatchHub,
} from "../src/core/index.ts"
import type { RangeResponse } from "../src/core/types.ts"

const N = Number(process.env.N ?? 200_000)
const value = new Uint8Array(256).fill(120)
// etcd's benchmark tool: sequential 8-byte keys.
const keyOf = (i: number): Uint8Array => {
  const k = new Uint8Array(8)
  let x = i
  for (let j = 7; j >= 0; j--) {
    k[j] = x & 0xff
    x = Math.floor(x / 256)
  }
  return k
}
const keys = Array.from({ length: N }, (_, i) => keyOf(i))

const time = (f: () => void): number => {
  const t0 = performance.now()
  f()
  return performance.now() - t0
}

const rows: Array<{ name: string; ops: number; ms: number }> = []
const measure = (name: string, ops: number, f: () => void): void => {
  const ms = time(f)
  rows.push({ name, ops, ms })
}

// Warm up the JIT on a throwaway store.
{
  const s = new MvccStore()
  for (let i = 0; i < 20_000; i++) s.put({ key: keys[i % 1000]!, value })
}

const store = new MvccStore()
measure("put (new keys)", N, () => {
  for (let i = 0; i < N; i++) store.put({ key: keys[i]!, value })
})
measure("put (overwrite)", N, () => {
  for (let i = 0; i < N; i++) store.put({ key: keys[(i * 7919) % N]!, value })
})

const entries: Uint8Array[] = []
measure("encode put entries", N, () => {
  for (let i = 0; i < N; i++)
    entries.push(encodeRequest({ header: { ID: i + 1, now: i }, put: { key: keys[i]!, value } }))
})
const replica = new MvccStore()
measure("decode + apply put entries", N, () => {
  for (const e of entries) replica.apply(decodeRequest(e))
})

measure("range (single key)", N, () => {
  for (let i = 0; i < N; i++) store.range({ key: keys[(i * 7919) % N]! })
})
// A 7-byte prefix: 256 keys.
const prefix = keys[1000]!.slice(0, 7)
const prefixEnd = keys[1000]!.slice(0, 7)
prefixEnd[6]! += 1
const RANGES = 2_000
measure("range (256 keys, prefix)", RANGES, () => {
  for (let i = 0; i < RANGES; i++) store.range({ key: prefix, range_end: prefixEnd })
})
measure("range (limit 500 of 200,000 keys)", 200, () => {
  for (let i = 0; i < 200; i++)
    store.range({ key: new Uint8Array([0]), range_end: new Uint8Array([0]), limit: 500 })
})
measure("range (count only, 200,000 keys)", 200, () => {
  for (let i = 0; i < 200; i++)
    store.range({ key: new Uint8Array([0]), range_end: new Uint8Array([0]), count_only: true })
})
const old = Math.floor(store.rev / 2)
measure("range (limit 500, old revision)", 200, () => {
  for (let i = 0; i < 200; i++)
    store.range({
      key: keys[(i * 7919) % N]!,
      range_end: new Uint8Array([0]),
      limit: 500,
      revision: old,
    })
})
measure("range (single key, old revision)", N, () => {
  for (let i = 0; i < N; i++) store.range({ key: keys[(i * 7919) % N]!, revision: old })
})

const TXNS = 100_000
measure("txn (compare mod_revision + put)", TXNS, () => {
  for (let i = 0; i < TXNS; i++) {
    const key = keys[i % N]!
    const cur = store.range({ key }) as RangeResponse
    store.txn({
      compare: [{ key, target: "MOD", result: "EQUAL", mod_revision: cur.kvs[0]!.mod_revision }],
      success: [{ request_put: { key, value } }],
      failure: [{ request_range: { key } }],
    })
  }
})

// Watch dispatch: 1,000 single-key watchers and 10 prefix watchers, all on one stream.
{
  let delivered = 0
  const hub = new WatchHub(store, (_, r) => {
    delivered += r.events.length
  })
  const stream = hub.openStream()
  for (let i = 0; i < 1000; i++) hub.request(stream, { create_request: { key: keys[i * 10]! } })
  for (let i = 0; i < 10; i++)
    hub.request(stream, { create_request: { key: prefix, range_end: prefixEnd } })
  measure("put + watch dispatch (1,010 watchers)", N, () => {
    for (let i = 0; i < N; i++) {
      store.put({ key: keys[i]!, value })
      hub.sync()
    }
  })
  if (delivered === 0) throw new Error("no events delivered")
}

let snapshot: Uint8Array = new Uint8Array(0)
measure("snapshot encode (all revisions)", 1, () => {
  snapshot = encodeSnapshot(store)
})
// What a member's apply path feels: the capture, then the longest of the
// steps that run between its other work.
const stepped = (label: string): void => {
  let steps: Generator<void, Uint8Array, void> | undefined
  measure(`${label}: capture`, 1, () => {
    steps = encodeSnapshotSteps(store.exportState())
  })
  let longest = 0
  let count = 0
  for (;;) {
    const t0 = performance.now()
    const r = steps!.next()
    longest = Math.max(longest, performance.now() - t0)
    count++
    if (r.done === true) break
  }
  rows.push({ name: `${label}: longest of ${count} steps`, ops: 1, ms: longest })
}
stepped("snapshot in steps (all revisions)")
measure("snapshot restore", 1, () => {
  decodeSnapshot(snapshot)
})
measure("compact to head", 1, () => {
  store.compact({ revision: store.rev })
})
let compacted: Uint8Array = new Uint8Array(0)
measure("snapshot encode (compacted)", 1, () => {
  compacted = encodeSnapshot(store)
})
stepped("snapshot in steps (compacted)")

const fmt = (n: number): string => n.toLocaleString("en-US", { maximumFractionDigits: 0 })
console.log(
  `MVCC core, ${N.toLocaleString("en-US")} keys of 8 bytes, 256-byte values, node ${process.version}`,
)
console.log(
  `${"operation".padEnd(40)} ${"ops".padStart(9)} ${"ms".padStart(9)} ${"ops/s".padStart(12)}`,
)
for (const r of rows) {
  console.log(
    `${r.name.padEnd(40)} ${fmt(r.ops).padStart(9)} ${r.ms.toFixed(1).padStart(9)} ${fmt((r.ops / r.ms) * 1000).padStart(12)}`,
  )
}
console.log(
  `snapshot: ${fmt(snapshot.length)} bytes with history, ${fmt(compacted.length)} bytes compacted; heap ${fmt(process.memoryUsage().heapUsed / 2 ** 20)} MiB`,
)
console.log(
  JSON.stringify({
    bench: "store-core",
    keys: N,
    opsPerSec: Object.fromEntries(rows.map((r) => [r.name, Math.round((r.ops / r.ms) * 1000)])),
    snapshotBytes: snapshot.length,
    compactedSnapshotBytes: compacted.length,
  }),
)
