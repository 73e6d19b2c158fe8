// CRC-32 (IEEE 802.3 polynomial, reflected), for snapshot integrity and HashKV.
// Slicing-by-8 for buffers: eight 256-entry tables let the hot loop consume 8
// bytes per iteration (a large snapshot is checksummed in a fraction of the
// time a byte-at-a-time loop takes).

const POLY = 0xedb88320

/** TABLES[k][b]: the CRC step of byte b followed by k zero bytes (k = 0..7). */
const TABLES: ReadonlyArray<Uint32Array> = (() => {
  const t0 = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1
    t0[n] = c >>> 0
  }
  const tables = [t0]
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

/** The running state before any byte. */
export const CRC_INIT = 0xffffffff

/** Feeds one byte into a running CRC state. */
export const crcStep = (state: number, byte: number): number =>
  T0[(state ^ byte) & 0xff]! ^ (state >>> 8)

/** Feeds `b[start, end)` into a running CRC state (same result as `crcStep` byte by byte). */
export const crcUpdate = (state: number, b: Uint8Array, start = 0, end = b.length): number => {
  let c = state >>> 0
  let i = start
  const wordEnd = end - ((end - i) & 7)
  for (; i < wordEnd; i += 8) {
    const lo = (c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))) >>> 0
    const hi = b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24)
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
  for (; i < end; i++) c = T0[(c ^ b[i]!) & 0xff]! ^ (c >>> 8)
  return c >>> 0
}

/** The CRC of a finished running state. */
export const crcFinish = (state: number): number => (state ^ 0xffffffff) >>> 0

export const crc32 = (b: Uint8Array, start = 0, end = b.length): number =>
  crcFinish(crcUpdate(CRC_INIT, b, start, end))
