// Small helpers shared by the benchmark's processes and threads: latency
// summaries, a seeded generator, and the wall clock every process agrees on.

/** Milliseconds since the epoch with sub-millisecond precision, comparable across processes. */
export const wallMs = (): number => performance.timeOrigin + performance.now()

export interface Summary {
  readonly count: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

const round2 = (x: number) => Math.round(x * 100) / 100

/** Nearest-rank percentiles of `values` (milliseconds), rounded to 0.01 ms. */
export const summarize = (values: ArrayLike<number>): Summary => {
  const sorted = Float64Array.from(values).sort()
  const at = (p: number) =>
    sorted.length === 0
      ? Number.NaN
      : round2(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0)
  return {
    count: sorted.length,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: sorted.length === 0 ? Number.NaN : round2(sorted[sorted.length - 1] ?? 0),
  }
}

/** A growable list of numbers kept in a typed array (no boxing on the hot path). */
export class Samples {
  #data = new Float64Array(1024)
  #length = 0
  push(x: number): void {
    if (this.#length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2)
      next.set(this.#data)
      this.#data = next
    }
    this.#data[this.#length++] = x
  }
  get length(): number {
    return this.#length
  }
  get(i: number): number {
    return this.#data[i] ?? Number.NaN
  }
  /** A copy of the samples (transferable). */
  toArray(): Float64Array {
    return this.#data.slice(0, this.#length)
  }
}

/** mulberry32: a small seeded generator, so every run offers the same operations. */
export const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** CPU time (user + system) in milliseconds from a `process.cpuUsage()`-shaped value. */
export const cpuMs = (u: { readonly user: number; readonly system: number }): number =>
  (u.user + u.system) / 1000
