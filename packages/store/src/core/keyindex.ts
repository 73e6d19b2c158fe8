// The key index: for each key, its versions in revision order (etcd's keyIndex
// with generations flattened: a tombstone, version 0, ends a generation), and
// an ordered set of keys for ranges.
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

/** Index of the first entry of a sorted chunk whose key is >= key. */
const lowerBound = (chunk: ReadonlyArray<KeyIndex>, key: string): number => {
  let lo = 0
  let hi = chunk.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (chunk[mid]!.key < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * The keys in byte order: a list of sorted chunks (each at most MAX_CHUNK
 * entries), like a B-tree of height two. Insertion and deletion move at most a
 * chunk; ranges walk chunks in order.
 */
export class KeyTree {
  private chunks: KeyIndex[][] = []
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

  /** Inserts a key that is not present. */
  insert(ki: KeyIndex): void {
    const key = ki.key
    this.count++
    if (this.chunks.length === 0) {
      this.chunks.push([ki])
      this.lasts.push(key)
      return
    }
    let c = this.chunkFor(key)
    if (c === this.chunks.length) {
      // Beyond every key: append to the last chunk (the common case for increasing keys).
      c--
      const chunk = this.chunks[c]!
      chunk.push(ki)
      this.lasts[c] = key
      if (chunk.length > MAX_CHUNK) this.split(c)
      return
    }
    const chunk = this.chunks[c]!
    chunk.splice(lowerBound(chunk, key), 0, ki)
    if (chunk.length > MAX_CHUNK) this.split(c)
  }

  private split(c: number): void {
    const chunk = this.chunks[c]!
    const half = chunk.length >>> 1
    const right = chunk.splice(half)
    this.chunks.splice(c + 1, 0, right)
    this.lasts.splice(c, 1, chunk[chunk.length - 1]!.key, right[right.length - 1]!.key)
  }

  /** Removes a key; returns whether it was present. */
  delete(key: string): boolean {
    const c = this.chunkFor(key)
    if (c === this.chunks.length) return false
    const chunk = this.chunks[c]!
    const lo = lowerBound(chunk, key)
    if (lo === chunk.length || chunk[lo]!.key !== key) return false
    chunk.splice(lo, 1)
    this.count--
    if (chunk.length === 0) {
      this.chunks.splice(c, 1)
      this.lasts.splice(c, 1)
    } else if (lo === chunk.length) {
      this.lasts[c] = chunk[chunk.length - 1]!.key
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
    let chunk = chunks[c]!
    let i = lowerBound(chunk, start)
    const bounded = end !== ""
    for (;;) {
      for (; i < chunk.length; i++) {
        const ki = chunk[i]!
        if (bounded && ki.key >= end) return
        if (f(ki) === false) return
      }
      c++
      if (c === chunks.length) return
      chunk = chunks[c]!
      i = 0
    }
  }

  /** Every key in order. */
  *[Symbol.iterator](): IterableIterator<KeyIndex> {
    for (const chunk of this.chunks) yield* chunk
  }
}
