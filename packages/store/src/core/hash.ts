// FNV-1a, 64-bit: stable member and cluster IDs (over a string's UTF-8 bytes)
// and bbolt's meta checksum (over bytes).

const encoder = new TextEncoder()

export const fnv64Bytes = (bytes: Uint8Array): bigint => {
  let h = 0xcbf29ce484222325n
  for (const b of bytes) {
    h ^= BigInt(b)
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return h
}

export const fnv64 = (s: string): bigint => fnv64Bytes(encoder.encode(s))
