// The HTTP shell's request-target parsing: its shortcut for plain paths
// gives exactly what the URL parser gives for any origin-form target, and no
// target throws (a bare URL parse of `//` used to, from the request listener).
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { targetOf } from "../src/server.ts"

const pieces = [
  "/",
  "api",
  "v1",
  "namespaces",
  "default",
  "pods",
  "p-1.2",
  ".",
  "..",
  "/.",
  "/..",
  "%2F",
  "%41",
  "a b",
  "é",
  "?",
  "&",
  "=",
  "watch=true",
  "labelSelector=app%3Dweb",
  "#",
  "//",
  "\\",
  "+",
  ":",
  "'",
]

describe("targetOf", () => {
  it("parses request targets as the URL parser does (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 10 }), (parts) => {
        const raw = `/${parts.join("")}`
        const url = new URL(`http://localhost${raw}`)
        const target = targetOf(raw)
        expect(target.pathname).toBe(url.pathname)
        expect(target.searchParams.toString()).toBe(url.searchParams.toString())
      }),
      { numRuns: 2000 },
    )
  })

  it("reads // as a path and never throws", () => {
    expect(targetOf("//").pathname).toBe("//")
    expect(targetOf("//evil/x?a=1").pathname).toBe("//evil/x")
    expect(() => targetOf("http://[::1")).not.toThrow()
  })

  it("takes API paths and their queries as they are", () => {
    const t = targetOf("/api/v1/namespaces/default/pods?watch=true&resourceVersion=5")
    expect(t.pathname).toBe("/api/v1/namespaces/default/pods")
    expect(t.searchParams.get("watch")).toBe("true")
    expect(t.searchParams.get("resourceVersion")).toBe("5")
  })
})
