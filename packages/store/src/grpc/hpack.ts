// HPACK (RFC 7541) header block decoding, and a stateless encoder that writes
// every field as a literal without indexing. Used by the authority shim
// (authority.ts) to re-encode the header blocks of clients whose :authority
// Node's HTTP/2 would reject.

/** RFC 7541 Appendix A. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
]

/**
 * Code lengths of the HPACK Huffman code (RFC 7541 Appendix B), symbols 0-255
 * then EOS. The code is canonical: codes are assigned in order of (length,
 * symbol), so the lengths determine it.
 */
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
  28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5,
  6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6,
  7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23,
  23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22,
  22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22,
  23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27,
  27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25,
  24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
]

const EOS = 256

/** The canonical code of each symbol, as [code, length]. */
export const HUFFMAN_CODES: ReadonlyArray<readonly [number, number]> = (() => {
  const order = CODE_LENGTHS.map((len, sym) => [len, sym] as const).sort(
    (a, b) => a[0] - b[0] || a[1] - b[1],
  )
  const codes: Array<readonly [number, number]> = new Array(CODE_LENGTHS.length)
  let code = 0
  let len = order[0]![0]
  for (const [l, sym] of order) {
    code *= 2 ** (l - len)
    len = l
    codes[sym] = [code, l]
    code++
  }
  return codes
})()

/** Decoding: per length, the first code and the symbols in code order (canonical decoding). */
const DECODE = (() => {
  const maxLen = 30
  const firstCode = new Array<number>(maxLen + 1).fill(-1)
  const symbols: number[][] = Array.from({ length: maxLen + 1 }, () => [])
  const byCode = HUFFMAN_CODES.map(([c, l], sym) => ({ c, l, sym })).sort(
    (a, b) => a.l - b.l || a.c - b.c,
  )
  for (const { c, l, sym } of byCode) {
    if (firstCode[l] === -1) firstCode[l] = c
    symbols[l]!.push(sym)
  }
  return { firstCode, symbols }
})()

export class HpackError extends Error {
  override readonly name = "HpackError"
}

export const huffmanDecode = (b: Uint8Array): string => {
  let out = ""
  let code = 0
  let len = 0
  for (let i = 0; i < b.length; i++) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((b[i]! >> bit) & 1)
      len++
      const first = DECODE.firstCode[len]!
      if (first !== -1 && code - first < DECODE.symbols[len]!.length && code >= first) {
        const sym = DECODE.symbols[len]![code - first]!
        if (sym === EOS) throw new HpackError("Huffman string contains EOS")
        out += String.fromCharCode(sym)
        code = 0
        len = 0
      } else if (len > 30) throw new HpackError("invalid Huffman code")
    }
  }
  // Padding: fewer than 8 bits, all ones (a prefix of EOS).
  if (len > 7 || code !== 2 ** len - 1) throw new HpackError("invalid Huffman padding")
  return out
}

export type Header = readonly [name: string, value: string]

/** A decoder with its dynamic table: one per connection direction. */
export class HpackDecoder {
  private table: Array<readonly [string, string]> = []
  private size = 0
  private maxSize: number
  private readonly limit: number

  /** `limit`: the largest table size the peer may choose (our SETTINGS_HEADER_TABLE_SIZE). */
  constructor(limit = 4096) {
    this.limit = limit
    this.maxSize = limit
  }

  private evict(): void {
    while (this.size > this.maxSize) {
      const [n, v] = this.table.pop()!
      this.size -= n.length + v.length + 32
    }
  }

  private entry(index: number): readonly [string, string] {
    if (index >= 1 && index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!
    const e = this.table[index - STATIC_TABLE.length - 1]
    if (e === undefined) throw new HpackError(`header index ${index} out of range`)
    return e
  }

  /** Decodes one complete header block. */
  decode(b: Uint8Array): Header[] {
    const out: Header[] = []
    let pos = 0
    const int = (prefixBits: number): number => {
      if (pos >= b.length) throw new HpackError("truncated integer")
      const mask = 2 ** prefixBits - 1
      let v = b[pos++]! & mask
      if (v < mask) return v
      let m = 1
      for (;;) {
        if (pos >= b.length) throw new HpackError("truncated integer")
        const x = b[pos++]!
        v += (x & 0x7f) * m
        m *= 128
        if (x < 0x80) break
        if (m > 2 ** 28) throw new HpackError("integer too large")
      }
      return v
    }
    const str = (): string => {
      if (pos >= b.length) throw new HpackError("truncated string")
      const huffman = (b[pos]! & 0x80) !== 0
      const n = int(7)
      if (pos + n > b.length) throw new HpackError("truncated string")
      const raw = b.subarray(pos, pos + n)
      pos += n
      if (huffman) return huffmanDecode(raw)
      let s = ""
      for (const c of raw) s += String.fromCharCode(c)
      return s
    }
    while (pos < b.length) {
      const first = b[pos]!
      if (first & 0x80) {
        // Indexed header field.
        const [n, v] = this.entry(int(7))
        out.push([n, v])
      } else if (first & 0x40) {
        // Literal with incremental indexing.
        const index = int(6)
        const name = index === 0 ? str() : this.entry(index)[0]
        const value = str()
        out.push([name, value])
        this.table.unshift([name, value])
        this.size += name.length + value.length + 32
        this.evict()
      } else if (first & 0x20) {
        // Dynamic table size update.
        const size = int(5)
        if (size > this.limit) throw new HpackError(`table size ${size} above ${this.limit}`)
        this.maxSize = size
        this.evict()
      } else {
        // Literal without indexing (0000) or never indexed (0001).
        const index = int(4)
        const name = index === 0 ? str() : this.entry(index)[0]
        out.push([name, str()])
      }
    }
    return out
  }
}

const pushInt = (out: number[], prefix: number, prefixBits: number, v: number): void => {
  const mask = 2 ** prefixBits - 1
  if (v < mask) {
    out.push(prefix | v)
    return
  }
  out.push(prefix | mask)
  v -= mask
  while (v >= 128) {
    out.push((v % 128) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
}

const pushString = (out: number[], s: string): void => {
  pushInt(out, 0, 7, s.length)
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff)
}

/** Encodes headers as literals without indexing (leaves the peer's table untouched). */
export const encodeLiterals = (headers: ReadonlyArray<Header>): Uint8Array => {
  const out: number[] = []
  for (const [name, value] of headers) {
    out.push(0)
    pushString(out, name)
    pushString(out, value)
  }
  return Uint8Array.from(out)
}
