/**
 * A set of 64-bit fingerprints with stable entry ids, for the visited set of
 * the exploration loops.
 *
 * Open addressing with linear probing over three typed arrays (key halves and
 * `id + 1`, where 0 marks an empty slot), so every fingerprint value is
 * storable and a lookup touches one region of memory. Entry ids are dense and
 * in insertion order and never change when the table grows, so callers keep
 * per-entry data (parent, action, colour) in their own arrays indexed by id.
 */
export class FingerprintTable {
  private hiKeys: Uint32Array
  private loKeys: Uint32Array
  private ids: Int32Array
  private mask: number
  private limit: number
  /** Number of entries. */
  size = 0

  constructor(initialCapacity = 1 << 14) {
    let capacity = 16
    while (capacity < initialCapacity) capacity *= 2
    this.hiKeys = new Uint32Array(capacity)
    this.loKeys = new Uint32Array(capacity)
    this.ids = new Int32Array(capacity)
    this.mask = capacity - 1
    this.limit = Math.floor(capacity * 0.6)
  }

  /** Slots allocated (for memory reporting). */
  get capacity(): number {
    return this.mask + 1
  }

  /**
   * Inserts a fingerprint. Returns its new id (>= 0) when it was absent, or
   * `-(id + 1)` (< 0) with the existing id when it was present.
   */
  add(hi: number, lo: number): number {
    if (this.size >= this.limit) this.grow()
    const mask = this.mask
    const ids = this.ids
    const hiKeys = this.hiKeys
    const loKeys = this.loKeys
    // The low half is already a well-mixed hash: use it as the slot index.
    let i = lo & mask
    for (;;) {
      const stored = ids[i]!
      if (stored === 0) {
        hiKeys[i] = hi
        loKeys[i] = lo
        const id = this.size++
        ids[i] = id + 1
        return id
      }
      if (loKeys[i] === lo >>> 0 && hiKeys[i] === hi >>> 0) return -stored
      i = (i + 1) & mask
    }
  }

  /** The id of a fingerprint, or -1 when absent. */
  get(hi: number, lo: number): number {
    const mask = this.mask
    let i = lo & mask
    for (;;) {
      const stored = this.ids[i]!
      if (stored === 0) return -1
      if (this.loKeys[i] === lo >>> 0 && this.hiKeys[i] === hi >>> 0) return stored - 1
      i = (i + 1) & mask
    }
  }

  private grow(): void {
    const oldHi = this.hiKeys
    const oldLo = this.loKeys
    const oldIds = this.ids
    const capacity = (this.mask + 1) * 2
    if (capacity > 2 ** 30) throw new RangeError("fingerprint table is full (2^30 slots)")
    this.hiKeys = new Uint32Array(capacity)
    this.loKeys = new Uint32Array(capacity)
    this.ids = new Int32Array(capacity)
    this.mask = capacity - 1
    this.limit = Math.floor(capacity * 0.6)
    const mask = this.mask
    for (let j = 0; j < oldIds.length; j++) {
      const stored = oldIds[j]!
      if (stored === 0) continue
      const lo = oldLo[j]!
      let i = lo & mask
      while (this.ids[i] !== 0) i = (i + 1) & mask
      this.hiKeys[i] = oldHi[j]!
      this.loKeys[i] = lo
      this.ids[i] = stored
    }
  }
}

/** A growable Int32 column indexed by entry id (parents, actions, depths). */
export class IntColumn {
  private data: Int32Array

  constructor(initialCapacity = 1 << 14) {
    this.data = new Int32Array(Math.max(16, initialCapacity))
  }

  set(index: number, value: number): void {
    if (index >= this.data.length) {
      let n = this.data.length * 2
      while (n <= index) n *= 2
      const next = new Int32Array(n)
      next.set(this.data)
      this.data = next
    }
    this.data[index] = value
  }

  get(index: number): number {
    return this.data[index]!
  }
}
