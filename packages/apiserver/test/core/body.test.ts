// Request bodies nested too deeply are refused before any recursive pass
// over them (repeated keys, decoding, patches) can overflow the stack.
import { Result } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { maxNestingDepth, parseText, tooDeep } from "../../src/core/body.ts"

const nestedObjects = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${"}".repeat(levels - 1)}`
const nestedArrays = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`
const bytes = (text: string) => new TextEncoder().encode(text)

/** Depth by plain recursion, the reference for the iterative walk. */
const depthOf = (v: unknown): number =>
  typeof v !== "object" || v === null
    ? 0
    : 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf))

describe("tooDeep", () => {
  it("finds exactly the values nested deeper than the limit (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 1, max: 9 }), (v, limit) => {
        expect(tooDeep(v, limit) !== undefined).toBe(depthOf(v) > limit)
      }),
      { numRuns: 500 },
    )
  })

  it("names the first segments of the deep field's path", () => {
    expect(tooDeep({ spec: { x: [[[[[[1]]]]]] } }, 4)).toBe("spec.x[0][0]")
    expect(tooDeep(JSON.parse(nestedArrays(20_000)), maxNestingDepth)).toBe("[0][0][0][0][0]")
  })
})

describe("parseText", () => {
  it("refuses bodies nested past the limit with a 400 naming the field, at any depth", () => {
    for (const levels of [maxNestingDepth + 1, 20_000]) {
      const text = `{"apiVersion":"v1","kind":"Pod","spec":${nestedObjects(levels)}}`
      const parsed = parseText(bytes(text), "application/json", "Strict")
      expect(Result.isFailure(parsed)).toBe(true)
      if (Result.isSuccess(parsed)) continue
      const status = parsed.failure.status
      expect(status.code).toBe(400)
      expect(status.message).toBe(
        `error decoding request body: exceeded max depth of ${maxNestingDepth} at spec.a.a.a.a...`,
      )
      expect(status.details?.causes?.[0]?.field).toBe("spec.a.a.a.a...")
      // The YAML parser may run out of stack first (it recurses per level): then the field is unknown.
      for (const body of [text, nestedArrays(levels)]) {
        for (const type of ["application/json", "application/yaml"]) {
          const refused = parseText(bytes(body), type)
          expect(Result.isFailure(refused) && refused.failure.status.message).toMatch(
            /^error decoding request body: exceeded max depth of 1000 at (spec\.a\.a\.a\.a|(\[0\]){5})\.\.\.|<body>$/,
          )
        }
      }
    }
  })

  it("accepts a body nested exactly to the limit", () => {
    const text = `{"spec":${nestedObjects(maxNestingDepth - 1)}}`
    const parsed = parseText(bytes(text), "application/json", "Strict")
    expect(Result.isSuccess(parsed)).toBe(true)
  })
})
