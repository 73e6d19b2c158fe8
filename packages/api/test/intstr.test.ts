import { Result, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  atoi,
  getScaledValueFromIntOrPercent,
  type IntOrString,
  IntOrString as IntOrStringSchema,
  intValue,
  isPercent,
  resolveFenceposts,
} from "../src/intstr.ts"

const scaled = (v: IntOrString | null | undefined, total: number, roundUp: boolean) => {
  const r = getScaledValueFromIntOrPercent(v, total, roundUp)
  return Result.isSuccess(r) ? r.success : r.failure.message
}

describe("getScaledValueFromIntOrPercent", () => {
  // [value, total, roundUp, result or Kubernetes' error message]
  const cases: ReadonlyArray<
    readonly [IntOrString | null | undefined, number, boolean, number | string]
  > = [
    [123, 0, false, 123],
    [123, 10, true, 123],
    [0, 10, true, 0],
    ["90%", 100, true, 90],
    ["90%", 95, true, 86],
    ["90%", 95, false, 85],
    ["25%", 10, true, 3],
    ["25%", 10, false, 2],
    ["25%", 4, true, 1],
    ["25%", 4, false, 1],
    ["25%", 1, true, 1],
    ["25%", 1, false, 0],
    ["0%", 10, true, 0],
    ["100%", 7, false, 7],
    ["200%", 7, false, 14],
    ["+10%", 10, true, 1],
    ["-10%", 15, true, -1],
    ["-10%", 15, false, -2],
    ["33%", 3, true, 1],
    ["33%", 3, false, 0],
    ["1%", 150, true, 2],
    ["1%", 150, false, 1],
    [null, 10, true, "nil value for IntOrString"],
    [undefined, 10, false, "nil value for IntOrString"],
    ["90", 100, false, "invalid value for IntOrString: invalid type: string is not a percentage"],
    ["http", 100, false, "invalid value for IntOrString: invalid type: string is not a percentage"],
    [
      "%",
      0,
      false,
      'invalid value for IntOrString: invalid value "%": strconv.Atoi: parsing "": invalid syntax',
    ],
    [
      "#%",
      0,
      false,
      'invalid value for IntOrString: invalid value "#%": strconv.Atoi: parsing "#": invalid syntax',
    ],
    [
      "1.5%",
      10,
      true,
      'invalid value for IntOrString: invalid value "1.5%": strconv.Atoi: parsing "1.5": invalid syntax',
    ],
    [
      " 5%",
      10,
      true,
      'invalid value for IntOrString: invalid value " 5%": strconv.Atoi: parsing " 5": invalid syntax',
    ],
    [
      "99999999999999999999%",
      10,
      true,
      'invalid value for IntOrString: invalid value "99999999999999999999%": strconv.Atoi: parsing "99999999999999999999": value out of range',
    ],
  ]
  for (const [value, total, roundUp, expected] of cases) {
    it(`${JSON.stringify(value)} of ${total} rounding ${roundUp ? "up" : "down"}`, () => {
      expect(scaled(value, total, roundUp)).toBe(expected)
    })
  }

  it("matches exact integer arithmetic for every percentage and total", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.boolean(),
        (pct, total, roundUp) => {
          const exact = BigInt(pct) * BigInt(total)
          const q = exact / 100n
          const expected = roundUp && q * 100n !== exact ? q + 1n : q
          expect(scaled(`${pct}%`, total, roundUp)).toBe(Number(expected))
        },
      ),
      { numRuns: 1000 },
    )
  })
})

describe("resolveFenceposts", () => {
  const cases: ReadonlyArray<
    readonly [IntOrString | undefined, IntOrString | undefined, number, number, number]
  > = [
    ["25%", "25%", 10, 3, 2],
    ["25%", "25%", 1, 1, 0],
    ["25%", "25%", 0, 0, 1],
    [0, 0, 5, 0, 1],
    ["0%", "0%", 10, 0, 1],
    [undefined, undefined, 3, 0, 1],
    [1, 0, 3, 1, 0],
    [0, "10%", 3, 0, 1],
    ["50%", 2, 5, 3, 2],
  ]
  for (const [surge, unavailable, desired, eSurge, eUnavailable] of cases) {
    it(`maxSurge ${String(surge)}, maxUnavailable ${String(unavailable)}, ${desired} replicas`, () => {
      const r = resolveFenceposts(surge, unavailable, desired)
      expect(Result.isSuccess(r) && r.success).toEqual({ surge: eSurge, unavailable: eUnavailable })
    })
  }
  it("reports the first bad value", () => {
    const r = resolveFenceposts("x", "25%", 3)
    expect(Result.isFailure(r) && r.failure.message).toBe(
      "invalid value for IntOrString: invalid type: string is not a percentage",
    )
    const r2 = resolveFenceposts(1, "a%", 3)
    expect(Result.isFailure(r2) && r2.failure._tag).toBe("IntOrStringError")
  })
})

describe("schema and helpers", () => {
  const decode = Schema.decodeUnknownSync(IntOrStringSchema)
  it("accepts int32 integers and strings only", () => {
    expect(decode(8080)).toBe(8080)
    expect(decode("http")).toBe("http")
    expect(decode("25%")).toBe("25%")
    expect(decode(-2147483648)).toBe(-2147483648)
    expect(() => decode(1.5)).toThrow()
    expect(() => decode(2147483648)).toThrow()
    expect(() => decode(true)).toThrow()
    expect(() => decode(null)).toThrow()
    expect(Schema.encodeSync(IntOrStringSchema)("25%")).toBe("25%")
  })
  it("atoi, intValue and isPercent", () => {
    expect(atoi("+7")).toEqual(Result.succeed(7))
    expect(atoi("-0")).toEqual(Result.succeed(0))
    expect(atoi("1_000")).toEqual(Result.fail('strconv.Atoi: parsing "1_000": invalid syntax'))
    expect(intValue(80)).toBe(80)
    expect(intValue("8080")).toBe(8080)
    expect(intValue("http")).toBe(0)
    expect(intValue("99999999999999999999")).toBe(Number(2n ** 63n - 1n))
    expect(intValue("-99999999999999999999")).toBe(Number(-(2n ** 63n)))
    expect(isPercent("5%")).toBe(true)
    expect(isPercent("5")).toBe(false)
    expect(isPercent(5)).toBe(false)
    expect(isPercent(undefined)).toBe(false)
  })
})
