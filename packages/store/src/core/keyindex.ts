// The key index: for each key, its versions in revision order (etcd's keyIndex
// with generations flattened: a tombstone, version 0, ends a generation), and
// an ordered set of keys for ranges that counts live keys per chunk, so a
// range with a limit counts the rest of its keys without visiting them.
import type { KeyValue } from "./types.ts"

/** One key and its retained versions. */
export class KeyIndex {
  readonly key: string
  readonly bytes: Uint8Array
  /**
   * Versions in increasing mod_revision, tombstones included. After a compaction
   * at C the first entry is the latest version at or below C (dropped when it is
   * a tombstone below C), so reads at any revision >= C are answered exactly.
   */
  revs: KeyValue[] = []
  /** The tree chunk holding this key (maintained by KeyTree). */
  chunk: Chunk | undefined = undefined
  constructor(key: string, bytes: Uint8Array) {
    this.key = key
    this.bytes = bytes
  }

  /** The version visible at `rev` (tombstones included), or undefined if none. */
  at(rev: number): KeyValue | undefined {
    const revs = this.revs
    let hi = revs.length - 1
    if (hi < 0) return undefined
    // Fast path: reads at the head revision see the latest version.
    if (revs[hi]!.mod_revision <= rev) return revs[hi]
    let lo = 0
    if (revs[0]!.mod_revision > rev) return undefined
    // Invariant: revs[lo].mod_revision <= rev < revs[hi].mod_revision.
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1
      if (revs[mid]!.mod_revision <= rev) lo = mid
      else hi = mid
    }
    return revs[lo]
  }

  /** Whether the latest version (at the head revision) is live, not a tombstone. */
  get liveAtHead(): boolean {
    const revs = this.revs
    return revs.length > 0 && revs[revs.length - 1]!.version !== 0
  }

  /** The live version at `rev` (undefined if absent or deleted). */
  live(rev: number): KeyValue | undefined {
    const kv = this.at(rev)
    return kv === undefined || kv.version === 0 ? undefined : kv
  }

  /** The version just before `kv` (which must be in `revs`), if retained. */
  before(kv: KeyValue): KeyValue | undefined {
    const revs = this.revs
    let lo = 0
    let hi = revs.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const m = revs[mid]!
      if (m === kv) return mid > 0 ? revs[mid - 1] : undefined
      if (m.mod_revision < kv.mod_revision) lo = mid + 1
      else if (m.mod_revision > kv.mod_revision) hi = mid - 1
      else {
        // Same revision (only possible for unvalidated duplicate writes in one txn): scan.
        const i = revs.indexOf(kv)
        return i > 0 ? revs[i - 1] : undefined
      }
    }
    return undefined
  }
}

const MAX_CHUNK = 512

/**
 * A run of consecutive keys with a summary of how many are live at each
 * revision: `base` live keys before the first recorded change, then each
 * change of liveness (a key created or re-created: +rev; deleted: -rev) with
 * the live count after it. Overwrites change nothing here. The summary
 * answers for any revision >= `validFrom` without visiting the keys.
 */
export interface Chunk {
  keys: KeyIndex[]
  base: number
  /** Signed revisions of the liveness changes, in revision order. */
  changes: number[]
  /** Live keys after each change (parallel to `changes`). */
  liveAfter: number[]
  validFrom: number
}

const lastRev = (ki: KeyIndex): number => {
  const revs = ki.revs
  return revs.length === 0 ? 0 : revs[revs.length - 1]!.mod_revision
}

/** Index of the first entry of a sorted chunk whose key is >= key. */
const lowerBound = (keys: ReadonlyArray<KeyIndex>, key: string): number => {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid]!.key < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** A fresh summary of `keys`: exact from their latest revision on (history before it is not kept). */
const summarize = (keys: KeyIndex[]): Chunk => {
  const chunk: Chunk = { keys, base: 0, changes: [], liveAfter: [], validFrom: 0 }
  for (const ki of keys) {
    ki.chunk = chunk
    if (ki.liveAtHead) chunk.base++
    const r = lastRev(ki)
    if (r > chunk.validFrom) chunk.validFrom = r
  }
  return chunk
}

const liveAtHead = (c: Chunk): number =>
  c.liveAfter.length === 0 ? c.base : c.liveAfter[c.liveAfter.length - 1]!

/** Live keys of the chunk at `rev`, or -1 when its summary does not reach back that far. */
const liveAt = (c: Chunk, rev: number): number => {
  if (rev < c.validFrom) return -1
  const changes = c.changes
  // The last change at or below rev.
  let lo = 0
  let hi = changes.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (Math.abs(changes[mid]!) <= rev) lo = mid + 1
    else hi = mid
  }
  return lo === 0 ? c.base : c.liveAfter[lo - 1]!
}

/**
 * The keys in byte order: a list of sorted chunks (each at most MAX_CHUNK
 * entries), like a B-tree of height two. Insertion and deletion move at most a
 * chunk; ranges walk chunks in order. The owner reports every change of a
 * key's latest version (`changed`) so the chunk summaries stay exact.
 */
export class KeyTree {
  private chunks: Chunk[] = []
  /** Last key of each chunk, for the binary search. */
  private lasts: string[] = []
  private count = 0

  get size(): number {
    return this.count
  }

  /** Index of the first chunk whose last key is >= key (chunks.length if none). */
  private chunkFor(key: string): number {
    const lasts = this.lasts
    let lo = 0
    let hi = lasts.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (lasts[mid]! < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Inserts a key that is not present (its versions, if any, count in the summary). */
  insert(ki: KeyIndex): void {
    const key = ki.key
    this.count++
    if (this.chunks.length === 0) {
      this.chunks.push(summarize([ki]))
      this.lasts.push(key)
      return
    }
    let c = this.chunkFor(key)
    let chunk: Chunk
    if (c === this.chunks.length) {
      // Beyond every key: append to the last chunk (the common case for increasing keys).
      c--
      chunk = this.chunks[c]!
      chunk.keys.push(ki)
      this.lasts[c] = key
    } else {
      chunk = this.chunks[c]!
      chunk.keys.splice(lowerBound(chunk.keys, key), 0, ki)
    }
    ki.chunk = chunk
    // Versions added behind the summary's back: it is exact again after the next resummarize.
    if (ki.revs.length > 0) chunk.validFrom = Number.POSITIVE_INFINITY
    if (chunk.keys.length > MAX_CHUNK) this.split(c)
  }

  private split(c: number): void {
    const keys = this.chunks[c]!.keys
    const right = keys.splice(keys.length >>> 1)
    this.chunks.splice(c, 1, summarize(keys), summarize(right))
    this.lasts.splice(c, 1, keys[keys.length - 1]!.key, right[right.length - 1]!.key)
  }

  /**
   * The latest version of `ki` (a key in the tree) changed liveness at
   * revision `rev` (not below any earlier change): `liveDelta` is +1 when it
   * became live, -1 when it became a tombstone; 0 (an overwrite) changes nothing.
   */
  changed(ki: KeyIndex, liveDelta: number, rev: number): void {
    if (liveDelta === 0) return
    const chunk = ki.chunk!
    chunk.liveAfter.push(liveAtHead(chunk) + liveDelta)
    chunk.changes.push(liveDelta > 0 ? rev : -rev)
  }

  /** Recomputes every chunk summary (after versions were added behind the tree's back). */
  resummarize(): void {
    this.chunks = this.chunks.map((c) => summarize(c.keys))
  }

  /** Forgets liveness changes at or below `rev` (no read goes below the compaction revision). */
  compactChanges(rev: number): void {
    for (const c of this.chunks) {
      const changes = c.changes
      let n = 0
      while (n < changes.length && Math.abs(changes[n]!) <= rev) n++
      if (n === 0) continue
      c.base = c.liveAfter[n - 1]!
      changes.splice(0, n)
      c.liveAfter.splice(0, n)
    }
  }

  /** Removes a key; returns whether it was present. */
  delete(key: string): boolean {
    const c = this.chunkFor(key)
    if (c === this.chunks.length) return false
    const chunk = this.chunks[c]!
    const keys = chunk.keys
    const lo = lowerBound(keys, key)
    if (lo === keys.length || keys[lo]!.key !== key) return false
    const ki = keys[lo]!
    keys.splice(lo, 1)
    ki.chunk = undefined
    this.count--
    // Compaction removes only keys dead at every readable revision; anything else restarts the summary.
    if (ki.liveAtHead && keys.length > 0) this.chunks[c] = summarize(keys)
    if (keys.length === 0) {
      this.chunks.splice(c, 1)
      this.lasts.splice(c, 1)
    } else if (lo === keys.length) {
      this.lasts[c] = keys[keys.length - 1]!.key
    }
    return true
  }

  /**
   * Calls `f` for each key in [start, end) in order (`end === ""`: unbounded)
   * until it returns false.
   */
  forRange(start: string, end: string, f: (ki: KeyIndex) => boolean | undefined): void {
    const chunks = this.chunks
    let c = this.chunkFor(start)
    if (c === chunks.length) return
    let keys = chunks[c]!.keys
    let i = lowerBound(keys, start)
    const bounded = end !== ""
    for (;;) {
      for (; i < keys.length; i++) {
        const ki = keys[i]!
        if (bounded && ki.key >= end) return
        if (f(ki) === false) return
      }
      c++
      if (c === chunks.length) return
      keys = chunks[c]!.keys
      i = 0
    }
  }

  /**
   * How many keys in [start, end) (`end === ""`: unbounded) are live at `rev`.
   * Whole chunks count from their summaries; only the chunks at the ends of
   * the range (and any whose summary does not reach back to `rev`) are visited.
   */
  countLive(start: string, end: string, rev: number): number {
    const chunks = this.chunks
    const bounded = end !== ""
    let n = 0
    for (let c = this.chunkFor(start); c < chunks.length; c++) {
      const chunk = chunks[c]!
      const keys = chunk.keys
      const first = keys[0]!.key
      if (bounded && first >= end) break
      if (first >= start && (!bounded || this.lasts[c]! < end)) {
        const live = liveAt(chunk, rev)
        if (live >= 0) {
          n += live
          continue
        }
      }
      for (let i = first >= start ? 0 : lowerBound(keys, start); i < keys.length; i++) {
        const ki = keys[i]!
        if (bounded && ki.key >= end) return n
        if (ki.live(rev) !== undefined) n++
      }
    }
    return n
  }

  /** Every key in order. */
  *[Symbol.iterator](): IterableIterator<KeyIndex> {
    for (const chunk of this.chunks) yield* chunk.keys
  }
}
