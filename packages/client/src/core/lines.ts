/**
 * Splits a watch body into lines, as client-go's streaming decoder frames it:
 * a line longer than the limit (client-go: 16 MiB) is refused instead of
 * buffered without end. Pure: text in, lines out. A line's parts are kept
 * in an array and joined once, so a long line costs O(length), not the
 * O(length²) of repeated concatenation.
 */

/** client-go's `streaming` decoder limit (`maxBytes`), here counted in UTF-16 units. */
export const maxWatchLineLength = 16 * 1024 * 1024

export class LineTooLong extends Error {
  readonly length: number
  readonly limit: number
  constructor(length: number, limit: number) {
    super(`a line is longer than ${limit} characters (${length} so far)`)
    this.length = length
    this.limit = limit
  }
}

export class LineSplitter {
  readonly limit: number
  #parts: Array<string> = []
  #length = 0

  constructor(limit = maxWatchLineLength) {
    this.limit = limit
  }

  /** The complete lines `text` ends (without their `\n` or `\r\n`), or `LineTooLong`. */
  push(text: string): Array<string> | LineTooLong {
    const lines: Array<string> = []
    let start = 0
    for (;;) {
      const nl = text.indexOf("\n", start)
      if (nl === -1) break
      const piece = text.slice(start, nl)
      if (this.#length + piece.length > this.limit)
        return new LineTooLong(this.#length + piece.length, this.limit)
      this.#parts.push(piece)
      const line = this.#parts.join("")
      lines.push(line.endsWith("\r") ? line.slice(0, -1) : line)
      this.#parts = []
      this.#length = 0
      start = nl + 1
    }
    if (start < text.length) {
      const rest = start === 0 ? text : text.slice(start)
      this.#length += rest.length
      if (this.#length > this.limit) return new LineTooLong(this.#length, this.limit)
      this.#parts.push(rest)
    }
    return lines
  }

  /** What is left after the last `\n` (a line the body did not end), if anything. */
  flush(): Array<string> {
    const rest = this.#parts.join("")
    this.#parts = []
    this.#length = 0
    return rest === "" ? [] : [rest]
  }
}
