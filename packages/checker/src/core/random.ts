/**
 * A small seeded pseudo-random generator (SplitMix32): the only source of
 * randomness in the checker, so every random walk replays from its seed.
 */
export class Random {
  private state: number

  constructor(seed: number) {
    this.state = seed | 0
  }

  /** The next unsigned 32-bit value. */
  next(): number {
    this.state = (this.state + 0x9e3779b9) | 0
    let z = this.state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }

  /** A uniform integer in [0, n) for 0 < n <= 2^32 (rejection sampling, no modulo bias). */
  below(n: number): number {
    if (n <= 1) return 0
    const limit = 0x100000000 - (0x100000000 % n)
    for (;;) {
      const x = this.next()
      if (x < limit) return x % n
    }
  }
}
