/**
 * A map that keeps only recently used entries, in two generations: `young`
 * takes every `set` and every entry found in `old`; when `young` holds
 * `capacity` keys it becomes `old` and the former `old` is dropped. So an
 * entry set or read within the last `capacity` distinct keys is always
 * found, at most `2 * capacity` entries are held, and a hit costs one or two
 * `Map.get`s (no reordering per hit, as an LRU list would need).
 *
 * Why: the API server kept the decoded object of every key it had met, so
 * its live heap, and the marking work of every full collection, grew with
 * the number of objects in the store (~5 KB and dozens of heap objects per
 * pod); a collection's concurrent marking then took the cores from the
 * event loop for the length of a request's p99.
 */
export class RecentMap<K, V> {
  readonly capacity: number
  #young = new Map<K, V>()
  #old = new Map<K, V>()

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity: must be at least 1, got ${capacity}`)
    this.capacity = capacity
  }

  /** Entries held (up to `2 * capacity`). */
  get size(): number {
    return this.#young.size + this.#old.size
  }

  get(key: K): V | undefined {
    const young = this.#young.get(key)
    if (young !== undefined) return young
    const old = this.#old.get(key)
    if (old !== undefined) {
      this.#old.delete(key)
      this.#add(key, old)
    }
    return old
  }

  set(key: K, value: V): void {
    this.#old.delete(key)
    this.#add(key, value)
  }

  delete(key: K): void {
    this.#young.delete(key)
    this.#old.delete(key)
  }

  clear(): void {
    this.#young = new Map()
    this.#old = new Map()
  }

  #add(key: K, value: V): void {
    if (!this.#young.has(key) && this.#young.size >= this.capacity) {
      this.#old = this.#young
      this.#young = new Map()
    }
    this.#young.set(key, value)
  }
}
