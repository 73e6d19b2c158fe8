import { describe, expect, it } from "vitest"
import { parseTrace, TraceFileError } from "../src/trace-file.ts"

const trace = {
  format: "flotilla-trace/1",
  model: "two-phase-commit",
  options: {},
  symmetry: true,
  property: { name: "p", kind: "always" },
  outcome: "violation",
  initial: { index: 0, description: "start", fingerprint: "0123456789abcdef" },
  steps: [{ action: 0, label: "a", changes: [], fingerprint: "fedcba9876543210" }],
}

const refusal = (value: unknown): string => {
  try {
    parseTrace(typeof value === "string" ? value : JSON.stringify(value))
  } catch (e) {
    expect(e).toBeInstanceOf(TraceFileError)
    return (e as Error).message
  }
  throw new Error("the trace was accepted")
}

describe("trace files", () => {
  it("reads a trace", () => {
    expect(parseTrace(JSON.stringify(trace)).steps).toHaveLength(1)
  })

  it("names each bad field on one line (the message ran over two: 'Missing key\\n  at [\"steps\"]')", () => {
    expect(refusal({ ...trace, steps: undefined })).toBe("not a flotilla trace: steps: Missing key")
    expect(refusal({ ...trace, format: "x", steps: [{ ...trace.steps[0], action: "one" }] })).toBe(
      'not a flotilla trace: format: Expected "flotilla-trace/1"; steps[0].action: Expected number',
    )
    expect(refusal("[1,")).toMatch(/^not JSON: /)
    for (const message of [refusal(null), refusal({ ...trace, initial: { index: -1 } })]) {
      expect(message).not.toContain("\n")
    }
  })

  it("refuses a loop that closes past the last state (it was accepted)", () => {
    expect(refusal({ ...trace, loopAt: 2 })).toBe(
      "not a flotilla trace: loopAt: must be at most 1 (the last state of its 1 steps), got 2",
    )
    expect(parseTrace(JSON.stringify({ ...trace, loopAt: 1 })).loopAt).toBe(1)
  })
})
