import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  decodeJson,
  decodeTrusted,
  decodeWith,
  encode,
  encodeWith,
  type KubeObject,
} from "../src/codec.ts"
import { kinds, lookupKind } from "../src/registry.ts"
import { arbitrary } from "./arbitraries.ts"

// Every kind of the registry, and every list kind of a resource.
const schemas = kinds.flatMap((info) => [
  { name: `${info.apiVersion} ${info.kind}`, schema: info.schema },
  ...(info.resource === undefined
    ? []
    : [{ name: `${info.apiVersion} ${info.resource.listKind}`, schema: info.resource.listSchema }]),
])

/** A value whose apiVersion and kind name a registered kind. */
const hasKind = (value: unknown): value is KubeObject => {
  const { apiVersion, kind } = value as Partial<KubeObject>
  return (
    typeof apiVersion === "string" &&
    typeof kind === "string" &&
    lookupKind(apiVersion, kind) !== undefined
  )
}

describe("decode(encode(x)) == x", () => {
  for (const { name, schema } of schemas) {
    it(`for generated ${name} values, through JSON text`, () => {
      fc.assert(
        fc.property(arbitrary(schema), (value) => {
          const encoded = Result.getOrThrow(encodeWith(schema, value))
          const text = JSON.stringify(encoded)
          const decoded = decodeWith(schema, JSON.parse(text), { fieldValidation: "Strict" })
          expect(Result.getOrThrow(decoded).value).toEqual(value)
          // Kinds that name themselves also round-trip through the registry's dispatch.
          if (hasKind(value)) {
            expect(Result.getOrThrow(encode(value))).toEqual(encoded)
            const dispatched = decodeJson(text, { fieldValidation: "Strict" })
            expect(Result.getOrThrow(dispatched).value).toEqual(value)
            // What encode produced reads back by parsing alone (storage's fast path).
            expect(decodeTrusted(text)).toEqual(value)
          }
        }),
        { numRuns: 25 },
      )
    })
  }
})
