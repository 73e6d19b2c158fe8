// A binary min-heap of events ordered by (time, seq): ties resolve in insertion
// order, which keeps simulations deterministic.

export interface Timed {
  readonly time: number
  readonly seq: number
}

const before = (a: Timed, b: Timed): boolean =>
  a.time < b.time || (a.time === b.time && a.seq < b.seq)

export class EventHeap<T extends Timed> {
  private readonly items: T[] = []

  get size(): number {
    return this.items.length
  }

  push(x: T): void {
    const a = this.items
    a.push(x)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(a[i]!, a[p]!)) break
      const t = a[i]!
      a[i] = a[p]!
      a[p] = t
      i = p
    }
  }

  peek(): T | undefined {
    return this.items[0]
  }

  pop(): T | undefined {
    const a = this.items
    if (a.length === 0) return undefined
    const top = a[0]!
    const last = a.pop()!
    if (a.length > 0) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && before(a[l]!, a[m]!)) m = l
        if (r < a.length && before(a[r]!, a[m]!)) m = r
        if (m === i) break
        const t = a[i]!
        a[i] = a[m]!
        a[m] = t
        i = m
      }
    }
    return top
  }
}
