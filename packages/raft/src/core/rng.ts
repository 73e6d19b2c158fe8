// A tiny deterministic PRNG whose whole state is one 32-bit number, so it lives
// inside a node's state and is copied and hashed with it.

/** FNV-1a of a string, used to mix a node id into its seed. */
export const hashString = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A non-zero xorshift32 state derived from a seed and a salt. */
export const seedRng = (seed: number, salt: string): number => {
  let x = (Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ hashString(salt)) >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0
  x = (x ^ (x >>> 16)) >>> 0
  return x === 0 ? 0x6d2b79f5 : x
}

/** Advances an xorshift32 state. */
export const nextRng = (x: number): number => {
  x ^= x << 13
  x ^= x >>> 17
  x ^= x << 5
  return x >>> 0
}
