// Warning headers as Kubernetes' recorder writes them: repeated texts once,
// at most 4,096 characters of text (then each cut to 256 and the rest
// dropped), quoted in ASCII so that node's HTTP writer never refuses them.
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { boundWarnings, warningHeader } from "../../src/core/warnings.ts"

const runes = (s: string) => [...s].length

describe("boundWarnings", () => {
  it("keeps every text while they fit, once each", () => {
    expect(boundWarnings(["a", "b", "a"])).toEqual(["a", "b"])
  })

  it("past 4,096 characters cuts every text to 256 and stops once the cut ones fill the budget", () => {
    const texts = Array.from(
      { length: 100 },
      (_, i) => `unknown field "spec.${"x".repeat(300)}${i}"`,
    )
    const out = boundWarnings(texts)
    expect(out.every((t) => runes(t) <= 256)).toBe(true)
    const total = out.reduce((n, t) => n + runes(t), 0)
    expect(total).toBeGreaterThanOrEqual(4096)
    expect(total).toBeLessThan(4096 + 256)
  })

  it("never writes more than 4,096 + 256 characters of text (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 600, unit: "grapheme" }), { maxLength: 60 }),
        (texts) => {
          const out = boundWarnings(texts)
          expect(out.reduce((n, t) => n + runes(t), 0)).toBeLessThanOrEqual(4096 + 256)
          // Nothing is invented: each text is a prefix of one that was given.
          for (const t of out) expect(texts.some((w) => w.startsWith(t))).toBe(true)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe("warningHeader", () => {
  it("quotes in ASCII: JSON escapes, \\u past ASCII, \\U past U+FFFF (Go's strconv.Unquote reads all three)", () => {
    expect(warningHeader([])).toBeUndefined()
    expect(warningHeader(['unknown field "spec.x"'])).toBe('299 - "unknown field \\"spec.x\\""')
    expect(warningHeader(["f€ f\u2028 f😀 f\ud800 f\n"])).toBe(
      '299 - "f\\u20ac f\\u2028 f\\U0001f600 f\\ud800 f\\n"',
    )
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary" }), { maxLength: 5 }), (texts) => {
        const header = warningHeader(texts) ?? ""
        expect(/^[\x20-\x7e]*$/.test(header)).toBe(true)
      }),
    )
  })
})
