/**
 * `intstr.IntOrString` (k8s.io/apimachinery/pkg/util/intstr): a 32-bit integer or a string, as
 * used by `maxSurge`/`maxUnavailable` (`25%` or `1`) and by `targetPort` (`8080` or `http`); and
 * Kubernetes' resolution of percentages against a total, with its rounding and error messages.
 */
import { Result, Schema } from "effect"

/** An int-or-string value as it appears in the decoded object: `3` or `"25%"`. */
export type IntOrString = number | string

/**
 * The wire schema: a JSON integer within int32 (what Go's decoder accepts) or a JSON string.
 * A fractional or out-of-range number is rejected.
 */
export const IntOrString = Schema.Union([
  Schema.Number.check(Schema.isInt32({ message: "expected a 32-bit integer" })),
  Schema.String,
]).annotate({ expected: "integer or string" })

/** An int-or-string that cannot be resolved; `message` is Kubernetes' wording. */
export class IntOrStringError extends Schema.TaggedError<IntOrStringError>()("IntOrStringError", {
  message: Schema.String,
}) {}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const atoiPattern = /^[+-]?[0-9]+$/

/** Go's `strconv.Atoi` on a 64-bit platform: the value, or the error text Go prints. */
export const atoi = (s: string): Result.Result<number, string> => {
  const quoted = JSON.stringify(s)
  if (!atoiPattern.test(s)) return Result.fail(`strconv.Atoi: parsing ${quoted}: invalid syntax`)
  const n = BigInt(s)
  if (n < INT64_MIN || n > INT64_MAX) {
    return Result.fail(`strconv.Atoi: parsing ${quoted}: value out of range`)
  }
  return Result.succeed(Number(n))
}

/** True for a string ending in `%` (not necessarily a valid percentage). */
export const isPercent = (v: IntOrString | undefined): v is string =>
  typeof v === "string" && v.endsWith("%")

/**
 * Kubernetes' `GetScaledValueFromIntOrPercent`: an integer as is, or `n%` of `total` rounded up
 * (`roundUp`, as for `maxSurge`) or down (as for `maxUnavailable`). Any other string fails with
 * Kubernetes' message, e.g. `invalid value for IntOrString: invalid type: string is not a
 * percentage`. The arithmetic is Go's (float64 `value * total / 100`, then ceil or floor), which
 * is exact for the magnitudes that occur.
 */
export const getScaledValueFromIntOrPercent = (
  value: IntOrString | null | undefined,
  total: number,
  roundUp: boolean,
): Result.Result<number, IntOrStringError> => {
  if (value === null || value === undefined) {
    return Result.fail(new IntOrStringError({ message: "nil value for IntOrString" }))
  }
  if (typeof value === "number") return Result.succeed(value)
  if (!value.endsWith("%")) {
    return Result.fail(
      new IntOrStringError({
        message: "invalid value for IntOrString: invalid type: string is not a percentage",
      }),
    )
  }
  const n = atoi(value.slice(0, -1))
  if (Result.isFailure(n)) {
    return Result.fail(
      new IntOrStringError({
        message: `invalid value for IntOrString: invalid value ${JSON.stringify(value)}: ${n.failure}`,
      }),
    )
  }
  const scaled = (n.success * total) / 100
  return Result.succeed(roundUp ? Math.ceil(scaled) : Math.floor(scaled))
}

/**
 * The Deployment controller's `ResolveFenceposts`: `maxSurge` resolved rounding up and
 * `maxUnavailable` rounding down against `desired` replicas (absent values count as 0). When both
 * come to zero, `maxUnavailable` becomes 1 so that a rollout can always progress.
 */
export const resolveFenceposts = (
  maxSurge: IntOrString | undefined,
  maxUnavailable: IntOrString | undefined,
  desired: number,
): Result.Result<{ readonly surge: number; readonly unavailable: number }, IntOrStringError> => {
  const surge = getScaledValueFromIntOrPercent(maxSurge ?? 0, desired, true)
  if (Result.isFailure(surge)) return Result.fail(surge.failure)
  const unavailable = getScaledValueFromIntOrPercent(maxUnavailable ?? 0, desired, false)
  if (Result.isFailure(unavailable)) return Result.fail(unavailable.failure)
  if (surge.success === 0 && unavailable.success === 0) {
    return Result.succeed({ surge: 0, unavailable: 1 })
  }
  return Result.succeed({ surge: surge.success, unavailable: unavailable.success })
}

/**
 * Kubernetes' `IntOrString.IntValue`: the integer, or a string's integer value (0 when the string
 * is not an integer). Used for ports given as numeric strings.
 */
export const intValue = (v: IntOrString): number => {
  if (typeof v === "number") return v
  const n = atoi(v)
  if (Result.isSuccess(n)) return n.success
  // Go's Atoi returns the nearest int64 on overflow and 0 on a syntax error.
  if (!atoiPattern.test(v)) return 0
  return v.startsWith("-") ? Number(INT64_MIN) : Number(INT64_MAX)
}
