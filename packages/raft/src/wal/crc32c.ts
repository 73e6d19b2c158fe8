// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum used by
// iSCSI, ext4 metadata and etcd's WAL. Plain TypeScript, slicing-by-8: eight
// 256-entry tables let the hot loop consume 8 bytes per iteration.

const POLY = 0x82f63b78

/** TABLES[k][b]: CRC of byte b followed by k zero bytes (k = 0..7). */
const TABLES: ReadonlyArray<Uint32Array> = (() => {
  const tables: Uint32Array[] = []
  const t0 = new Uint32Array(256)
  for (let b = 0; b < 256; b++) {
    let c = b
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    t0[b] = c >>> 0
  }
  tables.push(t0)
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1]!
    const t = new Uint32Array(256)
    for (let b = 0; b < 256; b++) t[b] = (t0[prev[b]! & 0xff]! ^ (prev[b]! >>> 8)) >>> 0
    tables.push(t)
  }
  return tables
})()

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
]

/**
 * Extends `crc` (the CRC-32C of some preceding bytes, 0 for none) over
 * `bytes[start, end)`. `crc32cUpdate(crc32cUpdate(0, a), b)` equals the CRC of
 * `a` followed by `b`.
 */
export const crc32cUpdate = (
  crc: number,
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
): number => {
  let c = ~crc >>> 0
  let i = start
  // Eight bytes per iteration over whole words, then the tail byte by byte.
  const wordEnd = end - ((end - i) & 7)
  for (; i < wordEnd; i += 8) {
    const lo =
      (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0
    const hi = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24)
    c =
      T7[lo & 0xff]! ^
      T6[(lo >>> 8) & 0xff]! ^
      T5[(lo >>> 16) & 0xff]! ^
      T4[lo >>> 24]! ^
      T3[hi & 0xff]! ^
      T2[(hi >>> 8) & 0xff]! ^
      T1[(hi >>> 16) & 0xff]! ^
      T0[hi >>> 24]!
  }
  for (; i < end; i++) c = T0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

/** CRC-32C of `bytes[start, end)`. */
export const crc32c = (bytes: Uint8Array, start = 0, end = bytes.length): number =>
  crc32cUpdate(0, bytes, start, end)

/**
 * CRC-8 (polynomial 0x07, as in ATM HEC / SMBus) of the low 24 bits of `n`,
 * little-endian. Guards a frame's length field: it detects every error confined
 * to one byte, so a flipped length can never masquerade as a torn tail.
 */
export const crc8Of24 = (n: number): number => {
  let c = 0
  for (let k = 0; k < 3; k++) {
    c = CRC8[(c ^ (n >>> (8 * k))) & 0xff]!
  }
  return c
}

const CRC8: Uint8Array = (() => {
  const t = new Uint8Array(256)
  for (let b = 0; b < 256; b++) {
    let c = b
    for (let k = 0; k < 8; k++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff
    t[b] = c
  }
  return t
})()
