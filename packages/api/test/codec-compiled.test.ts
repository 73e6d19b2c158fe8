// The compiled decoders against Effect's Schema parser: for generated objects
// of every kind, valid or mutated (keys dropped or added, values of another
// type, values checks refuse), the compiled path answers exactly when the parser succeeds, with the
// same value and the same key order.
import { Result, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeCompiled } from "../src/codec.ts"
import { kinds } from "../src/registry.ts"
import { arbitrary } from "./arbitraries.ts"

type Mutation = {
  readonly at: number
  readonly op: "drop" | "add" | "retype" | "corrupt" | "pad" | "none"
}

/** Every object, array and leaf of a JSON value, with a way to replace or edit it. */
const nodesOf = (
  value: unknown,
): Array<{ readonly holder: unknown; readonly key: string | number }> => {
  const out: Array<{ holder: unknown; key: string | number }> = []
  const walk = (holder: unknown, key: string | number, v: unknown) => {
    out.push({ holder, key })
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v, i, v[i])
    } else if (typeof v === "object" && v !== null)
      for (const k of Object.keys(v)) walk(v, k, (v as Record<string, unknown>)[k])
  }
  const root = { value }
  walk(root, "value", value)
  return out
}

const mutate = (value: unknown, mutations: ReadonlyArray<Mutation>): unknown => {
  const root = { value: structuredClone(value) }
  for (const m of mutations) {
    const nodes = nodesOf(root.value)
    const node = nodes[m.at % nodes.length]
    if (node === undefined || m.op === "none") continue
    const holder = node.holder as Record<string | number, unknown>
    const target = node.key === "value" && holder === undefined ? root : holder
    const current = (target as Record<string | number, unknown>)[node.key]
    switch (m.op) {
      case "drop":
        if (!Array.isArray(target)) delete (target as Record<string | number, unknown>)[node.key]
        break
      case "add":
        if (typeof current === "object" && current !== null && !Array.isArray(current))
          (current as Record<string, unknown>).unknownField = 1
        break
      case "corrupt":
        // Same type, a value checks refuse (not an integer, not a time or quantity).
        if (typeof current === "number")
          (target as Record<string | number, unknown>)[node.key] = 0.5
        if (typeof current === "string")
          (target as Record<string | number, unknown>)[node.key] = "%%"
        break
      case "pad":
        // Quantities are trimmed (and numbers taken as quantities) by their transformation.
        if (typeof current === "string")
          (target as Record<string | number, unknown>)[node.key] = ` ${current} `
        if (typeof current === "number")
          (target as Record<string | number, unknown>)[node.key] = String(current)
        break
      case "retype":
        ;(target as Record<string | number, unknown>)[node.key] =
          typeof current === "string"
            ? 7
            : typeof current === "number"
              ? "7"
              : typeof current === "object"
                ? "x"
                : {}
        break
    }
  }
  return root.value
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom(
    "drop" as const,
    "add" as const,
    "retype" as const,
    "corrupt" as const,
    "pad" as const,
    "none" as const,
  ),
})

describe("compiled decoding", () => {
  for (const info of kinds) {
    it(`answers as the Schema parser does for ${info.apiVersion} ${info.kind} (property)`, () => {
      const parse = Schema.decodeUnknownResult(info.schema)
      let answered = 0
      fc.assert(
        fc.property(
          arbitrary(info.schema),
          fc.array(mutation, { maxLength: 2 }),
          (valid, mutations) => {
            const input = mutate(valid, mutations)
            const compiled = decodeCompiled(info.schema, input)
            const parsed = parse(input, { onExcessProperty: "error" })
            if (Result.isSuccess(parsed)) {
              expect(compiled).toBeDefined()
              expect(JSON.stringify(compiled?.value)).toBe(JSON.stringify(parsed.success))
              answered++
            } else {
              expect(compiled).toBeUndefined()
            }
          },
        ),
        { numRuns: 60 },
      )
      // Most generated objects decode, so the compiled path was exercised.
      expect(answered).toBeGreaterThan(10)
    })
  }

  it("answers as the parser does for structs with awkward declared names (property)", () => {
    // `__proto__` keeps the loop; the others are written into generated
    // code as string literals, and inherited names (`constructor`) are
    // present to `in` as they are to Effect.
    const awkward = ["__proto__", "constructor", 'q"uo\\te', "\u2028", "a.b/c"]
    // An own `__proto__` field (in an object literal it would set the prototype).
    const protoFields: Record<string, Schema.Top> = { a: Schema.optionalKey(Schema.Number) }
    Object.defineProperty(protoFields, "__proto__", {
      value: Schema.optionalKey(Schema.String),
      enumerable: true,
      writable: true,
      configurable: true,
    })
    const schemas = [
      Schema.Struct(protoFields),
      Schema.Struct({
        'q"uo\\te': Schema.optionalKey(Schema.String),
        "\u2028": Schema.optionalKey(Schema.Number),
        "a.b/c": Schema.optionalKey(Schema.Number),
      }),
      // Inherited names are present to `in` (and to Effect): a plain object
      // without its own `constructor` string never decodes here.
      Schema.Struct({ constructor: Schema.optionalKey(Schema.String) }),
    ]
    const entry = fc.tuple(
      fc.constantFrom(...awkward, "a", "z"),
      fc.oneof(fc.string({ maxLength: 3 }), fc.integer()),
    )
    const answered = [0, 0, 0]
    fc.assert(
      fc.property(fc.nat({ max: 2 }), fc.array(entry, { maxLength: 4 }), (which, entries) => {
        const schema = schemas[which] as Schema.Codec<unknown, unknown>
        // Own keys only, `__proto__` included (defineProperty, as JSON.parse makes it).
        const input: Record<string, unknown> = {}
        for (const [k, v] of entries)
          Object.defineProperty(input, k, {
            value: v,
            enumerable: true,
            writable: true,
            configurable: true,
          })
        const compiled = decodeCompiled(schema, input)
        const parsed = Schema.decodeUnknownResult(schema)(input, { onExcessProperty: "error" })
        if (Result.isSuccess(parsed)) {
          expect(compiled).toBeDefined()
          expect(Object.keys(compiled?.value as object)).toEqual(
            Object.keys(parsed.success as object),
          )
          expect(JSON.stringify(compiled?.value)).toBe(JSON.stringify(parsed.success))
          answered[which] = (answered[which] ?? 0) + 1
        } else {
          expect(compiled).toBeUndefined()
        }
      }),
      { numRuns: 300 },
    )
    expect(answered[0]).toBeGreaterThan(5)
    expect(answered[1]).toBeGreaterThan(5)
  })

  it("checks Schema.Json values (managedFields' fieldsV1) as the parser does (property)", () => {
    const parse = Schema.decodeUnknownResult(Schema.Json)
    class Box {
      readonly v = 1
    }
    const cyclic: Record<string, unknown> = { a: {} }
    ;(cyclic.a as Record<string, unknown>).back = cyclic
    const shared = { s: [1, "x"] }
    let deep: unknown = "leaf"
    for (let i = 0; i < 150; i++) deep = i % 2 === 0 ? [deep] : { d: deep }
    const odd = fc.constantFrom<unknown>(
      undefined,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      new Box(),
      new Date(0),
      new Map(),
      // biome-ignore lint/suspicious/noSparseArray: a hole reads as undefined
      [1, , 2],
      Object.create(null),
      cyclic,
      { a: shared, b: shared },
      deep,
      () => 1,
      1n,
    )
    // JSON trees with some odd values dropped in anywhere.
    const value = fc.letrec<{ tree: unknown }>((tie) => ({
      tree: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.oneof(fc.string(), fc.double(), fc.boolean(), fc.constant(null)),
        odd,
        fc.array(tie("tree"), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie("tree"), { maxKeys: 4 }),
      ),
    })).tree
    fc.assert(
      fc.property(value, (input) => {
        const compiled = decodeCompiled(Schema.Json, input)
        const parsed = parse(input, { onExcessProperty: "error" })
        if (Result.isSuccess(parsed)) {
          // Deep or shared trees may be left to the parser; a plain tree never is.
          if (compiled !== undefined) expect(compiled.value).toBe(parsed.success)
        } else {
          expect(compiled).toBeUndefined()
        }
      }),
      { numRuns: 300 },
    )
    expect(
      decodeCompiled(Schema.Json, { "f:spec": { 'k:{"name":"a"}': { ".": {} } } }),
    ).toBeDefined()
    expect(decodeCompiled(Schema.Json, deep)).toBeUndefined()
    expect(Result.isSuccess(parse(deep))).toBe(true)
    expect(decodeCompiled(Schema.Json, cyclic)).toBeUndefined()
  })

  it("leaves unknown fields, missing required fields and wrong types to the parser", () => {
    const pod = kinds.find((k) => k.apiVersion === "v1" && k.kind === "Pod")
    expect(pod).toBeDefined()
    const schema = pod?.schema as Schema.Codec<unknown, unknown>
    const base = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: { containers: [{ name: "c", image: "i" }] },
    }
    expect(decodeCompiled(schema, base)).toBeDefined()
    expect(decodeCompiled(schema, { ...base, extra: 1 })).toBeUndefined()
    expect(decodeCompiled(schema, { ...base, spec: { containers: [{ name: 3 }] } })).toBeUndefined()
    expect(
      decodeCompiled(schema, { ...base, metadata: { name: "p", labels: { a: 1 } } }),
    ).toBeUndefined()
    // Defaults come out as the parser makes them: zero values filled in, in declaration order.
    const parsed = Schema.decodeUnknownResult(schema)(base, { onExcessProperty: "error" })
    expect(Result.isSuccess(parsed)).toBe(true)
    expect(JSON.stringify(decodeCompiled(schema, base)?.value)).toBe(
      JSON.stringify(Result.isSuccess(parsed) ? parsed.success : undefined),
    )
  })
})
