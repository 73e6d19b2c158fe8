// CRC-32 (IEEE 802.3 polynomial, reflected), for snapshot integrity and HashKV.

const TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** The running state before any byte. */
export const CRC_INIT = 0xffffffff

/** Feeds one byte into a running CRC state. */
export const crcStep = (state: number, byte: number): number =>
  TABLE[(state ^ byte) & 0xff]! ^ (state >>> 8)

/** The CRC of a finished running state. */
export const crcFinish = (state: number): number => (state ^ 0xffffffff) >>> 0

export const crc32 = (b: Uint8Array, start = 0, end = b.length): number => {
  let c = CRC_INIT
  for (let i = start; i < end; i++) c = crcStep(c, b[i]!)
  return crcFinish(c)
}
