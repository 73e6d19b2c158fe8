import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeJson, decodeYaml } from "../src/codec.ts"
import type { Pod } from "../src/core/v1.ts"
import { duplicateFields } from "../src/duplicates.ts"

const pod = [
  "{", // 1
  '  "apiVersion": "v1",', // 2
  '  "kind": "Pod",', // 3
  '  "metadata": {"name": "a", "labels": {"x": "1"}, "name": "b"},', // 4
  '  "spec": {', // 5
  '    "containers": [{"name": "c", "image": "i:1",', // 6
  '                    "image": "i:2"}]', // 7
  "  }", // 8
  "}", // 9
].join("\n")

describe("duplicate keys in JSON (Kubernetes' strict decoding)", () => {
  it("are errors under Strict, with their paths and lines", () => {
    const result = decodeJson(pod, { fieldValidation: "Strict" })
    expect(Result.isFailure(result)).toBe(true)
    if (Result.isFailure(result)) {
      expect(result.failure.message).toBe(
        'strict decoding error: duplicate field "metadata.name", duplicate field "spec.containers[0].image"',
      )
      expect(result.failure.problems).toEqual([
        {
          reason: "DuplicateField",
          field: "metadata.name",
          message: 'duplicate field "metadata.name"',
          line: 4,
        },
        {
          reason: "DuplicateField",
          field: "spec.containers[0].image",
          message: 'duplicate field "spec.containers[0].image"',
          line: 7,
        },
      ])
    }
  })

  it("are warnings under Warn (the default); the last value wins, as in Go", () => {
    const decoded = Result.getOrThrow(decodeJson(pod))
    expect(decoded.warnings).toEqual([
      'duplicate field "metadata.name"',
      'duplicate field "spec.containers[0].image"',
    ])
    const value = decoded.value as Pod
    expect(value.metadata.name).toBe("b")
    expect(value.spec.containers[0]?.image).toBe("i:2")
  })

  it("are dropped silently under Ignore", () => {
    expect(Result.getOrThrow(decodeJson(pod, { fieldValidation: "Ignore" })).warnings).toEqual([])
  })

  it("are reported with unknown fields, in text order", () => {
    const text =
      '{"apiVersion":"v1","kind":"Pod",\n"metadata":{"name":"a","bogus":1},\n"spec":{"containers":[]},"spec":{"containers":[]}}'
    const result = decodeJson(text, { fieldValidation: "Strict" })
    expect(Result.isFailure(result) && result.failure.message).toBe(
      'strict decoding error: unknown field "metadata.bogus", duplicate field "spec"',
    )
  })

  it("are not confused by colons, quotes and backslashes inside strings", () => {
    const text = JSON.stringify({ "a:b": 'x":"y', c: "\\", d: ["e:f", { g: 'h\\":' }] })
    expect(duplicateFields(text, JSON.parse(text))).toEqual([])
  })

  it("property: JSON.stringify never has duplicates; a repeated key is always found", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value)
        expect(duplicateFields(text, JSON.parse(text))).toEqual([])
      }),
      { numRuns: 300 },
    )
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }),
        fc.nat(),
        (object, pick) => {
          const keys = Object.keys(object)
          const repeated = keys[pick % keys.length] as string
          const text = `{${JSON.stringify(repeated)}:null,${JSON.stringify(object).slice(1)}`
          const found = duplicateFields(text, JSON.parse(text))
          expect(found.map((d) => d.field)).toContain(repeated)
        },
      ),
      { numRuns: 300 },
    )
  })

  it("are still found when Object.prototype has an enumerable key (the count then uses own keys)", () => {
    // One object, one repeated key: an inherited key counted per object would hide it.
    const text = '{"b": 1, "b": 2}'
    const before = duplicateFields(text, JSON.parse(text))
    expect(before.map((d) => d.field)).toEqual(["b"])
    Object.defineProperty(Object.prototype, "polluted", {
      value: 1,
      enumerable: true,
      writable: true,
      configurable: true,
    })
    try {
      expect(duplicateFields(text, JSON.parse(text))).toEqual(before)
      const clean = '{"a": {"b": 1}, "c": [{}, {"d": 3}]}'
      expect(duplicateFields(clean, JSON.parse(clean))).toEqual([])
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted
    }
  })

  it("in YAML too: per document, per List item, with lines; the last value wins", () => {
    const text = [
      "apiVersion: v1", // 1
      "kind: Namespace", // 2
      "metadata: {name: a}", // 3
      "metadata: {name: b}", // 4
      "---", // 5
      "apiVersion: v1", // 6
      "kind: List", // 7
      "items:", // 8
      "- {apiVersion: v1, kind: Namespace, metadata: {name: c}}", // 9
      "- apiVersion: v1", // 10
      "  kind: Namespace", // 11
      "  metadata: {name: d, name: e}", // 12
    ].join("\n")
    const strict = decodeYaml(text, { fieldValidation: "Strict" }).map((d) => d.result)
    expect(
      strict.map((r) =>
        Result.isFailure(r) ? r.failure.problems.map((p) => [p.message, p.line]) : [],
      ),
    ).toEqual([
      [['duplicate field "metadata"', 4]],
      [],
      [['duplicate field "items[1].metadata.name"', 12]],
    ])
    const warn = decodeYaml(text).map((d) => Result.getOrThrow(d.result))
    expect(warn.map((d) => [d.value.metadata?.name, d.warnings])).toEqual([
      ["b", ['duplicate field "metadata"']],
      ["c", []],
      ["e", ['duplicate field "items[1].metadata.name"']],
    ])
    const ignore = decodeYaml(text, { fieldValidation: "Ignore" }).map((d) =>
      Result.getOrThrow(d.result),
    )
    expect(ignore.flatMap((d) => d.warnings)).toEqual([])
  })
})
