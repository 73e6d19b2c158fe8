import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { LineSplitter, LineTooLong } from "../../src/core/lines.ts"

/** Feeds `chunks` and returns every line (the unterminated rest included), or the error. */
const split = (chunks: ReadonlyArray<string>, limit?: number) => {
  const s = new LineSplitter(limit)
  const out: Array<string> = []
  for (const c of chunks) {
    const r = s.push(c)
    if (r instanceof LineTooLong) return r
    out.push(...r)
  }
  out.push(...s.flush())
  return out
}

/** `text` cut at the given positions. */
const cut = (text: string, at: ReadonlyArray<number>) => {
  const points = [...new Set(at.map((i) => i % (text.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<string> = []
  let from = 0
  for (const p of points) {
    chunks.push(text.slice(from, p))
    from = p
  }
  chunks.push(text.slice(from))
  return chunks
}

describe("LineSplitter", () => {
  it("splits on \\n and \\r\\n, keeping the unterminated rest for flush", () => {
    expect(split(['{"a":1}\n{"b"', ":2}\r\n", "tail"])).toEqual(['{"a":1}', '{"b":2}', "tail"])
    expect(split(["\n\n"])).toEqual(["", ""])
  })

  it("gives the same lines however the body is cut into chunks (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("a", "b", "\n", "\r", "é") }),
        fc.array(fc.nat()),
        (text, at) => {
          // Terminated lines lose a trailing \r; the unterminated rest is kept as it is.
          const pieces = text.split("\n")
          const rest = pieces.pop() as string
          const whole = pieces.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l))
          if (rest !== "") whole.push(rest)
          expect(split(cut(text, at))).toEqual(whole)
        },
      ),
    )
  })

  it("refuses a line over the limit, however it arrives, and accepts one at the limit", () => {
    expect(split(["x".repeat(10), "\n"], 10)).toEqual(["x".repeat(10)])
    const r = split(["x".repeat(6), "x".repeat(5)], 10)
    expect(r).toBeInstanceOf(LineTooLong)
    expect((r as LineTooLong).message).toBe("a line is longer than 10 characters (11 so far)")
    expect(split([`ok\n${"x".repeat(11)}\n`], 10)).toBeInstanceOf(LineTooLong)
  })
})
