/**
 * A binary min-heap keyed by string with O(log n) push, pop, update and
 * delete-by-key (Kubernetes' scheduler `internal/heap`). `less(a, b)` true
 * means `a` comes out first.
 */
export class KeyedHeap<T> {
  private readonly items: Array<T> = []
  private readonly positions = new Map<string, number>()
  private readonly keyOf: (item: T) => string
  private readonly less: (a: T, b: T) => boolean

  constructor(keyOf: (item: T) => string, less: (a: T, b: T) => boolean) {
    this.keyOf = keyOf
    this.less = less
  }

  get size(): number {
    return this.items.length
  }

  has(key: string): boolean {
    return this.positions.has(key)
  }

  get(key: string): T | undefined {
    const i = this.positions.get(key)
    return i === undefined ? undefined : this.items[i]
  }

  peek(): T | undefined {
    return this.items[0]
  }

  /** Adds the item, or replaces the item with the same key and restores order. */
  addOrUpdate(item: T): void {
    const key = this.keyOf(item)
    const i = this.positions.get(key)
    if (i !== undefined) {
      this.items[i] = item
      this.fix(i)
      return
    }
    this.items.push(item)
    this.positions.set(key, this.items.length - 1)
    this.up(this.items.length - 1)
  }

  pop(): T | undefined {
    const n = this.items.length
    if (n === 0) return undefined
    const top = this.items[0]!
    this.swap(0, n - 1)
    this.items.pop()
    this.positions.delete(this.keyOf(top))
    if (this.items.length > 0) this.down(0)
    return top
  }

  delete(key: string): T | undefined {
    const i = this.positions.get(key)
    if (i === undefined) return undefined
    const item = this.items[i]!
    const last = this.items.length - 1
    this.swap(i, last)
    this.items.pop()
    this.positions.delete(key)
    if (i < this.items.length) this.fix(i)
    return item
  }

  values(): ReadonlyArray<T> {
    return this.items
  }

  private fix(i: number): void {
    if (!this.down(i)) this.up(i)
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(this.items[i]!, this.items[parent]!)) break
      this.swap(i, parent)
      i = parent
    }
  }

  /** Sifts down; true when the item moved. */
  private down(i0: number): boolean {
    let i = i0
    const n = this.items.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      let j = l
      const r = l + 1
      if (r < n && this.less(this.items[r]!, this.items[l]!)) j = r
      if (!this.less(this.items[j]!, this.items[i]!)) break
      this.swap(i, j)
      i = j
    }
    return i > i0
  }

  private swap(i: number, j: number): void {
    if (i === j) return
    const a = this.items[i]!
    const b = this.items[j]!
    this.items[i] = b
    this.items[j] = a
    this.positions.set(this.keyOf(b), i)
    this.positions.set(this.keyOf(a), j)
  }
}
