/**
 * Wire-level scalar schemas shared by every group: Go's integer widths, RFC 3339
 * times, resource quantities and int-or-string values, as Kubernetes' JSON
 * carries them. They check only what Go's JSON decoder would reject (types and
 * integer ranges); the meaning of a value (a quantity's syntax, a port's range)
 * is checked by validation, which reports Kubernetes field errors.
 */
import { Effect, Schema, SchemaGetter } from "effect"
import { QuantityString } from "./quantity.ts"

/** Go `int32`: an integer between -2^31 and 2^31-1. */
export const Int32 = Schema.Number.check(
  Schema.isInt({ message: "expected an integer" }),
  Schema.isBetween(
    { minimum: -2147483648, maximum: 2147483647 },
    { message: "expected a 32-bit integer (between -2147483648 and 2147483647)" },
  ),
).annotate({ expected: "integer" })

/** Go `int64`, limited to JavaScript's safe integers (JSON numbers are doubles). */
export const Int64 = Schema.Number.check(
  Schema.isInt({ message: "expected an integer" }),
  Schema.isBetween(
    {
      minimum: Number.MIN_SAFE_INTEGER,
      maximum: Number.MAX_SAFE_INTEGER,
    },
    { message: "expected an integer within ±2^53" },
  ),
).annotate({ expected: "integer" })

const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** `metav1.Time`: an RFC 3339 timestamp with second precision on the wire. */
export const Time = Schema.String.check(
  Schema.isPattern(rfc3339, { message: "expected an RFC 3339 time such as 2024-01-02T15:04:05Z" }),
)

/** `metav1.MicroTime`: an RFC 3339 timestamp with microsecond precision. */
export const MicroTime = Time

/**
 * `resource.Quantity` on the wire. Kubernetes accepts a JSON string or number
 * (`cpu: 0.5` in YAML is a number); both decode to the string form (trimmed),
 * which is kept as written and encoded back. A string that is not a quantity fails to
 * decode with Kubernetes' message, as it does in Go's decoder.
 */
export const ResourceQuantity = Schema.Union([Schema.String, Schema.Finite])
  .annotate({ expected: "quantity (string or number)" })
  .pipe(
    Schema.decodeTo(QuantityString, {
      // Go's decoder trims the string before parsing it, so " 1 " is a quantity.
      decode: SchemaGetter.transform((value: string | number) =>
        typeof value === "number" ? String(value) : value.trim(),
      ),
      encode: SchemaGetter.transform((value: string) => value),
    }),
  )

/** `map[string]string`, used for labels, annotations and node selectors. */
export const StringMap = Schema.Record(Schema.String, Schema.String)
export type StringMap = typeof StringMap.Type

/** `map[ResourceName]resource.Quantity`. */
export const ResourceList = Schema.Record(Schema.String, ResourceQuantity)
export type ResourceList = typeof ResourceList.Type

/**
 * A field that Go's encoder always emits (no `omitempty`): required in the
 * TypeScript type, defaulted to Go's zero value when a manifest leaves it out,
 * and always present in the encoded JSON.
 */
export const withZero =
  <S extends Schema.Top>(zero: S["Encoded"]) =>
  (schema: S) =>
    schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(zero)))

/** A required string field that decodes to `""` when absent. */
export const RequiredString = Schema.String.pipe(withZero(""))
/** A required `int32` field that decodes to `0` when absent. */
export const RequiredInt32 = Int32.pipe(withZero(0))
/** A required boolean field that decodes to `false` when absent. */
export const RequiredBoolean = Schema.Boolean.pipe(withZero(false))

/**
 * The `apiVersion` or `kind` of a kind's schema: required in the type (so
 * kinds form a discriminated union) and filled in when a list item or a
 * request body for a known resource leaves it out, as Kubernetes does.
 */
export const TypeField = <const L extends string>(value: L) =>
  Schema.Literal(value).pipe(withZero(value))
