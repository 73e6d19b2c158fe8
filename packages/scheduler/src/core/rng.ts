/**
 * A small seeded pseudo-random generator (SplitMix32-style mixing over a
 * 32-bit Weyl sequence). The scheduler core never touches Math.random: every
 * random choice (tie-breaking among the best nodes) comes from a seed, so the
 * same seed always yields the same placements.
 */
export class Rng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0
    let z = this.state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }

  /**
   * A uniform integer in [0, n), like Go's rand.Intn. Rejection sampling keeps
   * it unbiased; n must be a positive integer below 2^32.
   */
  intn(n: number): number {
    if (n <= 1) return 0
    const limit = 0x100000000 - (0x100000000 % n)
    for (;;) {
      const x = this.nextUint32()
      if (x < limit) return x % n
    }
  }

  /** The internal state, so a scheduler can be checkpointed and resumed. */
  get seed(): number {
    return this.state
  }
}
