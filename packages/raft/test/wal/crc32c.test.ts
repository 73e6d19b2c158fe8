import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { crc8Of24, crc32c, crc32cUpdate } from "../../src/wal/crc32c.ts"

// Bit-at-a-time reference, straight from the definition (reflected 0x82F63B78).
const reference = (bytes: Uint8Array): number => {
  let c = 0xffffffff
  for (const b of bytes) {
    c ^= b
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return ~c >>> 0
}

const ascii = (s: string) => new TextEncoder().encode(s)

describe("crc32c", () => {
  it("matches the published check values", () => {
    // RFC 3720 (iSCSI) appendix B.4 and the CRC catalogue's check value.
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283)
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa)
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e)
    expect(crc32c(new Uint8Array(0))).toBe(0)
  })

  it("equals the bit-at-a-time definition on any bytes and range", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1)
        const end = start + (b % (bytes.length - start + 1))
        expect(crc32c(bytes, start, end)).toBe(reference(bytes.subarray(start, end)))
      }),
    )
  })

  it("continues across chunks", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), (a, b) => {
        const joined = new Uint8Array(a.length + b.length)
        joined.set(a)
        joined.set(b, a.length)
        expect(crc32cUpdate(crc32c(a), b)).toBe(crc32c(joined))
      }),
    )
  })
})

describe("crc8Of24", () => {
  it("detects every change confined to one byte of the length", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffff }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 255 }),
        (n, byte, flip) => {
          const changed = (n ^ (flip << (8 * byte))) >>> 0
          expect(crc8Of24(changed)).not.toBe(crc8Of24(n))
        },
      ),
    )
  })

  it("is zero only for zero among single-byte lengths", () => {
    expect(crc8Of24(0)).toBe(0)
    for (let b = 1; b < 256; b++) expect(crc8Of24(b)).not.toBe(0)
  })
})
