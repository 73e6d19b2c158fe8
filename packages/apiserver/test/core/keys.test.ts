import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  decodeContinue,
  encodeContinue,
  keyBytes,
  keyPrefix,
  objectKey,
  prefixEnd,
} from "../../src/core/keys.ts"

const compare = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b))

describe("keys", () => {
  it("lay objects out as Kubernetes does in etcd", () => {
    expect(objectKey("pods", true, "default", "web")).toBe("/registry/pods/default/web")
    expect(objectKey("nodes", false, "", "n1")).toBe("/registry/nodes/n1")
    expect(keyPrefix("pods", "")).toBe("/registry/pods/")
    expect(keyPrefix("pods", "default")).toBe("/registry/pods/default/")
  })

  it("prefixEnd is above every key with the prefix and below the next (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 6 }),
        fc.uint8Array({ maxLength: 4 }),
        (prefix, rest) => {
          const end = prefixEnd(prefix)
          const key = new Uint8Array([...prefix, ...rest])
          if (end.length === 1 && end[0] === 0) return
          expect(compare(key, end)).toBeLessThan(0)
          expect(compare(prefix, end)).toBeLessThan(0)
        },
      ),
    )
    expect([...prefixEnd(keyBytes("/a/"))]).toEqual([...keyBytes("/a0")])
  })

  it("keyBytes are UTF-8 whose slice copies (not a Buffer, whose slice is a view): prefixEnd leaves the prefix and other keys as they were", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20, unit: "grapheme" }), (key) => {
        const bytes = keyBytes(key)
        const other = keyBytes(`${key}!`)
        expect([...bytes]).toEqual([...new TextEncoder().encode(key)])
        prefixEnd(bytes)
        expect(new TextDecoder().decode(bytes)).toBe(key)
        expect(new TextDecoder().decode(other)).toBe(`${key}!`)
      }),
    )
  })

  it("keyBytes of any sequence of keys (repeats, alternations) are each key's UTF-8 (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom("/registry/pods/a/x", "/registry/pods/a/y", "/registry/b", "", "é"),
          {
            maxLength: 30,
          },
        ),
        (keys) => {
          for (const key of keys)
            expect([...keyBytes(key)]).toEqual([...new TextEncoder().encode(key)])
        },
      ),
    )
  })

  it("continue tokens round-trip and refuse anything else (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.string({ minLength: 1 }).filter((s) => !s.startsWith("/") && !s.includes("..")),
        (rv, start) => {
          const decoded = decodeContinue(encodeContinue({ resourceVersion: rv, start }))
          expect(decoded).toEqual({ ok: true, token: { resourceVersion: rv, start } })
        },
      ),
    )
    fc.assert(
      fc.property(fc.string(), (s) => {
        const d = decodeContinue(s)
        expect(typeof d.ok).toBe("boolean")
      }),
    )
    expect(
      decodeContinue(
        Buffer.from('{"v":"meta.k8s.io/v1","rv":3,"start":"../etc"}').toString("base64url"),
      ).ok,
    ).toBe(false)
  })
})
