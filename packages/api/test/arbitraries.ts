/**
 * fast-check arbitraries for every schema of the object model, derived from
 * the schemas' decoded (type-side) structure: structs become records with
 * their optional keys, maps dictionaries, lists arrays; checked numbers honour
 * their integer and range checks; RFC 3339 times and resource quantities get
 * generators of valid values. So `arbitrary(Pod)` yields values that encode,
 * and adding a field to a schema adds it to the generated objects.
 */
import { Schema, type SchemaAST } from "effect"
import fc from "fast-check"

const quantities = [
  "0",
  "1",
  "100m",
  "250m",
  "0.5",
  "2",
  "128Mi",
  "1Gi",
  "1G",
  "1e3",
  "1500m",
  "64Ki",
]

/** Valid RFC 3339 times, with and without fractional seconds and offsets. */
export const time: fc.Arbitrary<string> = fc
  .tuple(
    fc.date({
      min: new Date("1970-01-01T00:00:00Z"),
      max: new Date("2200-01-01T00:00:00Z"),
      noInvalidDate: true,
    }),
    fc.constantFrom("Z", ".000Z", ".123456Z", "+02:00"),
  )
  .map(([date, suffix]) => `${date.toISOString().slice(0, 19)}${suffix}`)

export const quantity: fc.Arbitrary<string> = fc.constantFrom(...quantities)

/** JSON values without nulls (decoding reads `null` as absent, as Go does). */
export const jsonWithoutNulls: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ maxLength: 6 }),
    fc.integer(),
    fc.boolean(),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie("value"), { maxKeys: 3 }),
  ),
})).value

/** Short strings, including unicode and the awkward `__proto__`. */
const text: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom("__proto__", "constructor", "a.b/c", "日本"),
)

type Check = NonNullable<SchemaAST.AST["checks"]>[number]

/** A constraint of the checks (filter groups such as `isInt32` searched too). */
const constraint = (checks: ReadonlyArray<Check>, name: string): unknown => {
  for (const check of checks) {
    const value = (check.annotations?.arbitraryConstraint as Record<string, unknown> | undefined)?.[
      name
    ]
    if (value !== undefined) return value
    if (check._tag === "FilterGroup") {
      const inner = constraint(check.checks, name)
      if (inner !== undefined) return inner
    }
  }
  return undefined
}

const hasPattern = (checks: ReadonlyArray<Check>): boolean =>
  checks.some(
    (c) =>
      (c.annotations?.representation as { id?: string } | undefined)?.id ===
      "effect/schema/isPattern",
  )

const fromAst = (ast: SchemaAST.AST): fc.Arbitrary<unknown> => {
  const checks = ast.checks ?? []
  switch (ast._tag) {
    case "String":
      if (hasPattern(checks)) return time
      // The only other checked strings of the model are resource quantities.
      if (checks.length > 0) return quantity
      return text
    case "Number": {
      const integer = constraint(checks, "number") === "integer"
      const min = constraint(checks, "minimum") as number | undefined
      const max = constraint(checks, "maximum") as number | undefined
      if (integer) {
        return fc.integer({
          min: Math.max(min ?? -(2 ** 31), -(2 ** 40)),
          max: Math.min(max ?? 2 ** 31, 2 ** 40),
        })
      }
      return fc.double({ noNaN: true, noDefaultInfinity: true })
    }
    case "Boolean":
      return fc.boolean()
    case "Literal":
      return fc.constant(ast.literal)
    case "Union":
      return fc.oneof(...ast.types.map(fromAst))
    case "Arrays": {
      const element = ast.rest[0]
      return element === undefined ? fc.constant([]) : fc.array(fromAst(element), { maxLength: 2 })
    }
    case "Objects": {
      if (ast.propertySignatures.length === 0 && ast.indexSignatures.length > 0) {
        const index = ast.indexSignatures[0]!
        return fc.dictionary(text, fromAst(index.type), { maxKeys: 3 })
      }
      const fields: Record<string, fc.Arbitrary<unknown>> = {}
      const requiredKeys: Array<string> = []
      for (const ps of ast.propertySignatures) {
        const name = String(ps.name)
        fields[name] = fromAst(ps.type)
        if (ps.type.context?.isOptional !== true) requiredKeys.push(name)
      }
      return fc.record(fields, { requiredKeys })
    }
    case "Declaration":
      return jsonWithoutNulls
    default:
      throw new Error(`no arbitrary for schema node ${ast._tag}`)
  }
}

/** An arbitrary of the decoded values of `schema`. */
export const arbitrary = <A>(schema: Schema.Codec<A, unknown>): fc.Arbitrary<A> =>
  fromAst(Schema.toType(schema).ast) as fc.Arbitrary<A>
