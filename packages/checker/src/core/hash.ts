/**
 * 64-bit fingerprints of plain data, computed as two 32-bit lanes.
 *
 * The encoding is canonical: the fingerprint of a value depends only on its
 * contents, never on the insertion order of object keys, `Map` entries or `Set`
 * elements (those are combined commutatively), while array order matters.
 * Properties whose value is `undefined` are skipped, so `{ a: undefined }` and
 * `{}` have the same fingerprint (they mean the same under
 * `exactOptionalPropertyTypes`-style data). Numbers hash by value (`-0` and `0`
 * differ; every `NaN` is the same).
 *
 * The hot path is allocation-free: a `Hasher` keeps its running state in two
 * int32 fields; models with large states can feed fields directly
 * (`hasher.int`, `hasher.string`) instead of the generic `value`.
 */

const C1 = 0xcc9e2d51 | 0
const C2 = 0x1b873593 | 0
const C3 = 0x85ebca6b | 0
const C4 = 0xc2b2ae35 | 0
const SEED1 = 0x9747b28c | 0
const SEED2 = 0x5bd1e995 | 0

// Type tags keep values of different kinds apart (1 and "1", [] and {}).
const TAG_UNDEFINED = 0x1001
const TAG_NULL = 0x1002
const TAG_FALSE = 0x1003
const TAG_TRUE = 0x1004
const TAG_INT = 0x1005
const TAG_FLOAT = 0x1006
const TAG_STRING = 0x1007
const TAG_ARRAY = 0x1008
const TAG_OBJECT = 0x1009
const TAG_MAP = 0x100a
const TAG_SET = 0x100b
const TAG_BIGINT = 0x100c
const TAG_BYTES = 0x100d

const floatScratch = new Float64Array(1)
const floatWords = new Uint32Array(floatScratch.buffer)

const fmix = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, C3)
  h ^= h >>> 13
  h = Math.imul(h, C4)
  h ^= h >>> 16
  return h
}

/** A 64-bit fingerprint: two unsigned 32-bit halves. */
export interface Fingerprint {
  readonly hi: number
  readonly lo: number
}

/** Formats a fingerprint as 16 hexadecimal digits (the form traces store). */
export const fingerprintHex = (hi: number, lo: number): string =>
  (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0")

/**
 * A streaming hasher with two cross-mixed 32-bit lanes (murmur3-style rounds,
 * the second lane also absorbing the first so the pair acts as one 64-bit
 * state). Call `reset`, feed words, then `finish`; the result is in `hi`/`lo`.
 */
export class Hasher {
  h1 = SEED1
  h2 = SEED2
  count = 0
  /** The finished fingerprint (valid after `finish`). */
  hi = 0
  lo = 0

  reset(): this {
    this.h1 = SEED1
    this.h2 = SEED2
    this.count = 0
    return this
  }

  /** Feeds one 32-bit word. */
  word(w: number): void {
    let k = Math.imul(w | 0, C1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, C2)
    let h1 = this.h1 ^ k
    h1 = (h1 << 13) | (h1 >>> 19)
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0
    let j = Math.imul(w | 0, C3)
    j = (j << 16) | (j >>> 16)
    j = Math.imul(j, C4)
    let h2 = this.h2 ^ j
    h2 = (h2 << 17) | (h2 >>> 15)
    h2 = (Math.imul(h2, 5) + 0x38495ab5 + h1) | 0
    this.h1 = h1
    this.h2 = h2
    this.count++
  }

  /** Feeds an integer in the int32 range, or any other number by value. */
  int(n: number): void {
    if ((n | 0) === n) this.word(n)
    else this.number(n)
  }

  /** Feeds any number by value (tagged, so 1 and 1.5 stay apart from words). */
  number(n: number): void {
    if ((n | 0) === n && (n !== 0 || 1 / n > 0)) {
      this.word(TAG_INT)
      this.word(n)
    } else {
      floatScratch[0] = Number.isNaN(n) ? Number.NaN : n
      this.word(TAG_FLOAT)
      this.word(floatWords[0]!)
      this.word(floatWords[1]!)
    }
  }

  /** Feeds a string (its length, then two UTF-16 code units per word). */
  string(s: string): void {
    const n = s.length
    this.word(TAG_STRING)
    this.word(n)
    let i = 0
    for (; i + 1 < n; i += 2) this.word(s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16))
    if (i < n) this.word(s.charCodeAt(i))
  }

  bool(b: boolean): void {
    this.word(b ? TAG_TRUE : TAG_FALSE)
  }

  /** Feeds a 64-bit fingerprint computed elsewhere (for example a cached sub-hash). */
  fingerprint(hi: number, lo: number): void {
    this.word(hi)
    this.word(lo)
  }

  /** Finishes: sets `hi`/`lo`. The running state is left as it was. */
  finish(): this {
    let h1 = this.h1 ^ this.count
    let h2 = this.h2 ^ this.count
    h1 = (h1 + h2) | 0
    h2 = (h2 + h1) | 0
    h1 = fmix(h1)
    h2 = fmix(h2)
    h1 = (h1 + h2) | 0
    h2 = (h2 + h1) | 0
    this.hi = h1 >>> 0
    this.lo = h2 >>> 0
    return this
  }

  /**
   * Feeds any plain value canonically: primitives, arrays, plain objects,
   * `Map`, `Set`, typed arrays. Object keys, map entries and set elements are
   * combined commutatively, so their order does not matter.
   */
  value(v: unknown): void {
    switch (typeof v) {
      case "number":
        this.number(v)
        return
      case "string":
        this.string(v)
        return
      case "boolean":
        this.bool(v)
        return
      case "undefined":
        this.word(TAG_UNDEFINED)
        return
      case "bigint":
        this.word(TAG_BIGINT)
        this.string(v.toString(16))
        return
      case "object":
        if (v === null) {
          this.word(TAG_NULL)
          return
        }
        if (Array.isArray(v)) {
          const n = v.length
          this.word(TAG_ARRAY)
          this.word(n)
          for (let i = 0; i < n; i++) this.value(v[i])
          return
        }
        if (v instanceof Map) {
          this.unordered(TAG_MAP, v, true)
          return
        }
        if (v instanceof Set) {
          this.unordered(TAG_SET, v, false)
          return
        }
        if (ArrayBuffer.isView(v)) {
          const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
          this.word(TAG_BYTES)
          this.word(bytes.length)
          for (let i = 0; i < bytes.length; i++) this.word(bytes[i]!)
          return
        }
        this.object(v as Record<string, unknown>)
        return
      default:
        throw new TypeError(`cannot fingerprint a ${typeof v}: states must be plain data`)
    }
  }

  // Each entry is hashed on its own from the seed and the entry hashes are
  // summed: addition is commutative, so the order of entries does not matter.
  private object(o: Record<string, unknown>): void {
    const h1 = this.h1
    const h2 = this.h2
    const count = this.count
    let a1 = 0
    let a2 = 0
    let n = 0
    for (const key in o) {
      const x = o[key]
      if (x === undefined) continue
      this.reset()
      this.string(key)
      this.value(x)
      this.finish()
      a1 = (a1 + this.hi) | 0
      a2 = (a2 + this.lo) | 0
      n++
    }
    this.h1 = h1
    this.h2 = h2
    this.count = count
    this.word(TAG_OBJECT)
    this.word(n)
    this.word(a1)
    this.word(a2)
  }

  private unordered(tag: number, c: Map<unknown, unknown> | Set<unknown>, isMap: boolean): void {
    const h1 = this.h1
    const h2 = this.h2
    const count = this.count
    let a1 = 0
    let a2 = 0
    for (const e of c) {
      this.reset()
      if (isMap) {
        const [k, x] = e as [unknown, unknown]
        this.value(k)
        this.value(x)
      } else this.value(e)
      this.finish()
      a1 = (a1 + this.hi) | 0
      a2 = (a2 + this.lo) | 0
    }
    this.h1 = h1
    this.h2 = h2
    this.count = count
    this.word(tag)
    this.word(c.size)
    this.word(a1)
    this.word(a2)
  }
}

const shared = new Hasher()

/** The canonical 64-bit fingerprint of a plain value. */
export const fingerprintOf = (v: unknown): Fingerprint => {
  shared.reset()
  shared.value(v)
  shared.finish()
  return { hi: shared.hi, lo: shared.lo }
}

/** The canonical fingerprint of a plain value as 16 hexadecimal digits. */
export const fingerprintHexOf = (v: unknown): string => {
  const f = fingerprintOf(v)
  return fingerprintHex(f.hi, f.lo)
}

/**
 * A canonical JSON-like text of a plain value: object keys sorted, `Map`
 * entries and `Set` elements sorted by their own encoding. Two values have the
 * same encoding exactly when the checker treats them as the same state (up to
 * fingerprint collisions); used for tests, debugging and trace files.
 */
export const canonicalEncoding = (v: unknown): string => {
  switch (typeof v) {
    case "number":
      return Object.is(v, -0) ? "-0" : Number.isFinite(v) ? String(v) : `"${String(v)}"`
    case "string":
      return JSON.stringify(v)
    case "boolean":
      return v ? "true" : "false"
    case "undefined":
      return "undefined"
    case "bigint":
      return `${v}n`
    case "object": {
      if (v === null) return "null"
      if (Array.isArray(v)) return `[${v.map(canonicalEncoding).join(",")}]`
      if (v instanceof Map) {
        const entries = [...v].map(([k, x]) => `${canonicalEncoding(k)}=>${canonicalEncoding(x)}`)
        return `Map{${entries.sort().join(",")}}`
      }
      if (v instanceof Set) return `Set{${[...v].map(canonicalEncoding).sort().join(",")}}`
      if (ArrayBuffer.isView(v)) {
        return `bytes[${Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).join(",")}]`
      }
      const o = v as Record<string, unknown>
      const keys = Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort()
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalEncoding(o[k])}`).join(",")}}`
    }
    default:
      throw new TypeError(`cannot encode a ${typeof v}: states must be plain data`)
  }
}
