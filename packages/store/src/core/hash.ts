// FNV-1a, 64-bit, over a string's UTF-8 bytes: stable member and cluster IDs.

const encoder = new TextEncoder()

export const fnv64 = (s: string): bigint => {
  let h = 0xcbf29ce484222325n
  for (const b of encoder.encode(s)) {
    h ^= BigInt(b)
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return h
}
