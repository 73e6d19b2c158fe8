import { describe, expect, it } from "vitest"
import { main } from "../examples/quickstart.ts"

describe("the README example", () => {
  it("runs and finds what it says", () => {
    const lines = main()
    expect(lines[0]).toMatch(/^naive-lock: \d+ states, "mutual exclusion" violated$/)
    expect(lines[1]).toContain('counterexample to always "mutual exclusion" (4 steps)')
    expect(lines[2]).toMatch(/^register: \d+ states, linearizable holds$/)
    expect(lines[3]).toBe("history linearizable: true")
  })
})
