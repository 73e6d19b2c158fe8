// Keys are byte strings. Inside the store a key is held as a "binary string":
// one UTF-16 code unit per byte (latin1). JavaScript compares such strings code
// unit by code unit, which is exactly the byte order etcd sorts keys in, and
// they are cheap Map keys.

export const EMPTY: Uint8Array = new Uint8Array(0)

const CHUNK = 4096

/** The binary string of a byte array (one char per byte). */
export const toBinary = (bytes: Uint8Array): string => {
  const n = bytes.length
  if (n <= 16) {
    // Short keys dominate; a plain loop beats the apply() call setup.
    let s = ""
    for (let i = 0; i < n; i++) s += String.fromCharCode(bytes[i]!)
    return s
  }
  if (n <= CHUNK) return String.fromCharCode.apply(null, bytes as unknown as number[])
  let s = ""
  for (let i = 0; i < n; i += CHUNK) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[])
  }
  return s
}

/** The bytes of a binary string. */
export const fromBinary = (s: string): Uint8Array => {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}

/** UTF-8 bytes of a string (for tests and examples). */
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/** UTF-8 decoding of bytes (for tests and examples). */
export const fromUtf8 = (b: Uint8Array): string => new TextDecoder().decode(b)

/** Lexicographic byte comparison: negative, zero or positive. */
export const compareBytes = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * The range_end that selects every key with the given prefix (etcd's
 * GetPrefixRangeEnd): the prefix with its last byte below 0xff incremented and
 * what follows dropped; `\0` (every key) when the prefix is all 0xff or empty.
 */
export const prefixEnd = (prefix: Uint8Array): Uint8Array => {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1)
      end[i]! += 1
      return end
    }
  }
  return new Uint8Array([0])
}

/**
 * A key range in binary strings: `end === undefined` is the single key `start`,
 * `end === ""` is unbounded above (etcd's `\0` range_end).
 */
export interface KeyRange {
  readonly start: string
  readonly end: string | undefined
}

/** Interprets etcd's (key, range_end) pair. */
export const keyRange = (key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyRange => {
  const start = toBinary(key)
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start, end: undefined }
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: "" }
  return { start, end: toBinary(rangeEnd) }
}

/** Whether a key lies in a range. */
export const inRange = (r: KeyRange, k: string): boolean => {
  if (r.end === undefined) return k === r.start
  return k >= r.start && (r.end === "" || k < r.end)
}
