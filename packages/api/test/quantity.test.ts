import { Equal, Result, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type Format,
  mustParseQuantity,
  parseQuantity,
  Quantity,
  QuantityFromString,
  QuantityString,
  quantityFormatWrong,
  quantityNumericError,
  quantitySuffixError,
  quantityTooLarge,
  Scale,
} from "../src/quantity.ts"

const NANO = 1_000_000_000n
const MAX_INT64 = 9_223_372_036_854_775_807n

/** The expected value of an exact decimal `digits × 10^exponent`, in nanos. */
const nanosOf = (digits: string, exponent: number): bigint =>
  exponent + 9 >= 0 ? BigInt(digits) * 10n ** BigInt(exponent + 9) : -1n

describe("parseQuantity: values and formats", () => {
  // [input, value as (digits, base-10 exponent), format]; cases from Kubernetes' own tests.
  const cases: ReadonlyArray<readonly [string, string, number, Format]> = [
    ["0", "0", 0, "DecimalSI"],
    ["0n", "0", 0, "DecimalSI"],
    ["0u", "0", 0, "DecimalSI"],
    ["0m", "0", 0, "DecimalSI"],
    ["0Ki", "0", 0, "BinarySI"],
    ["0k", "0", 0, "DecimalSI"],
    ["0Mi", "0", 0, "BinarySI"],
    ["0M", "0", 0, "DecimalSI"],
    ["0Gi", "0", 0, "BinarySI"],
    ["0Ti", "0", 0, "BinarySI"],
    ["1", "1", 0, "DecimalSI"],
    ["1Ki", String(1024), 0, "BinarySI"],
    ["8Ki", String(8 * 1024), 0, "BinarySI"],
    ["7Mi", String(7 * 1024 ** 2), 0, "BinarySI"],
    ["6Gi", String(6 * 1024 ** 3), 0, "BinarySI"],
    ["5Ti", String(5 * 1024 ** 4), 0, "BinarySI"],
    ["4Pi", String(4n * 1024n ** 5n), 0, "BinarySI"],
    ["3Ei", String(3n * 1024n ** 6n), 0, "BinarySI"],
    ["10Ti", String(10 * 1024 ** 4), 0, "BinarySI"],
    ["100Ti", String(100 * 1024 ** 4), 0, "BinarySI"],
    ["5n", "5", -9, "DecimalSI"],
    ["4u", "4", -6, "DecimalSI"],
    ["3m", "3", -3, "DecimalSI"],
    ["9", "9", 0, "DecimalSI"],
    ["8k", "8", 3, "DecimalSI"],
    ["50k", "5", 4, "DecimalSI"],
    ["7M", "7", 6, "DecimalSI"],
    ["6G", "6", 9, "DecimalSI"],
    ["5T", "5", 12, "DecimalSI"],
    ["40T", "4", 13, "DecimalSI"],
    ["300T", "3", 14, "DecimalSI"],
    ["2P", "2", 15, "DecimalSI"],
    ["1E", "1", 18, "DecimalSI"],
    ["1E-3", "1", -3, "DecimalExponent"],
    ["1e3", "1", 3, "DecimalExponent"],
    ["1E6", "1", 6, "DecimalExponent"],
    ["1e9", "1", 9, "DecimalExponent"],
    ["1E12", "1", 12, "DecimalExponent"],
    ["1e15", "1", 15, "DecimalExponent"],
    ["1E18", "1", 18, "DecimalExponent"],
    ["1e14", "1", 14, "DecimalExponent"],
    ["1e13", "1", 13, "DecimalExponent"],
    ["100.035k", "100035", 0, "DecimalSI"],
    ["0.001", "1", -3, "DecimalSI"],
    ["0.0005k", "5", -1, "DecimalSI"],
    ["0.005", "5", -3, "DecimalSI"],
    ["0.05", "5", -2, "DecimalSI"],
    ["0.5", "5", -1, "DecimalSI"],
    ["0.00050k", "5", -1, "DecimalSI"],
    ["0.00500", "5", -3, "DecimalSI"],
    ["0.05000", "5", -2, "DecimalSI"],
    ["0.50000", "5", -1, "DecimalSI"],
    ["0.5e0", "5", -1, "DecimalExponent"],
    ["0.5e-1", "5", -2, "DecimalExponent"],
    ["0.5e-2", "5", -3, "DecimalExponent"],
    ["10.035M", "10035", 3, "DecimalSI"],
    ["1.2e3", "12", 2, "DecimalExponent"],
    ["1.3E+6", "13", 5, "DecimalExponent"],
    ["1.40e9", "14", 8, "DecimalExponent"],
    ["1.53E12", "153", 10, "DecimalExponent"],
    ["1.6e15", "16", 14, "DecimalExponent"],
    ["1.7E18", "17", 17, "DecimalExponent"],
    ["9.01", "901", -2, "DecimalSI"],
    ["8.1k", "81", 2, "DecimalSI"],
    ["7.123456M", "7123456", 0, "DecimalSI"],
    ["6.987654321G", "6987654321", 0, "DecimalSI"],
    ["5.444T", "5444", 9, "DecimalSI"],
    ["40.1T", "401", 11, "DecimalSI"],
    ["300.2T", "3002", 11, "DecimalSI"],
    ["2.5P", "25", 14, "DecimalSI"],
    ["1.01E", "101", 16, "DecimalSI"],
    // Sub-nano precision rounds away from zero to the next nanounit.
    ["3.001n", "4", -9, "DecimalSI"],
    ["1.1E-9", "2", -9, "DecimalExponent"],
    ["0.0000000001", "1", -9, "DecimalSI"],
    ["0.0000000005", "1", -9, "DecimalSI"],
    ["0.00000000050", "1", -9, "DecimalSI"],
    ["0.5e-9", "1", -9, "DecimalExponent"],
    ["0.9n", "1", -9, "DecimalSI"],
    ["0.00000012345", "124", -9, "DecimalSI"],
    ["0.00000012354", "124", -9, "DecimalSI"],
    ["1e-2147483647", "1", -9, "DecimalExponent"],
    // Binary values are capped at 2^63-1; decimal ones are not.
    ["9Ei", String(MAX_INT64), 0, "BinarySI"],
    ["9223372036854775807Ki", String(MAX_INT64), 0, "BinarySI"],
    ["12E", "12", 18, "DecimalSI"],
    ["18446744073709551616", "18446744073709551616", 0, "DecimalSI"],
    // Fractional binary values.
    ["100.035Ki", "10243584", -2, "BinarySI"],
    ["0.5Mi", String(0.5 * 1024 * 1024), 0, "BinarySI"],
    ["0.05Gi", "536870912", -1, "BinarySI"],
    ["0.025Ti", "274877906944", -1, "BinarySI"],
    // Odd but accepted spellings.
    ["0.000000000001Ki", "2", -9, "DecimalSI"],
    [".001", "1", -3, "DecimalSI"],
    [".0001k", "100", -3, "DecimalSI"],
    ["1.", "1", 0, "DecimalSI"],
    ["1.G", "1", 9, "DecimalSI"],
    ["m", "0", 0, "DecimalSI"],
    ["Ki", "0", 0, "BinarySI"],
    ["-", "0", 0, "DecimalSI"],
    [".", "0", 0, "DecimalSI"],
    ["e3", "0", 0, "DecimalExponent"],
  ]
  for (const [input, digits, exponent, format] of cases) {
    it(`${input}`, () => {
      const q = mustParseQuantity(input)
      expect(q.nanos).toBe(nanosOf(digits, exponent))
      expect(q.format).toBe(format)
      // The same with an explicit sign: negation is exact and keeps the format.
      if (input.startsWith("-")) return
      const negative = mustParseQuantity(`-${input}`)
      expect(negative.nanos).toBe(-q.nanos)
      expect(negative.format).toBe(format)
      const positive = mustParseQuantity(`+${input}`)
      expect(positive.nanos).toBe(q.nanos)
    })
  }
})

describe("parseQuantity: errors carry Kubernetes' messages", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["", quantityFormatWrong],
    ["1.1.M", quantityFormatWrong],
    ["1+1.0M", quantityFormatWrong],
    ["0.1mi", quantitySuffixError],
    ["0.1am", quantityFormatWrong],
    ["aoeu", quantityFormatWrong],
    [".5i", quantitySuffixError],
    ["1i", quantitySuffixError],
    ["-3.01i", quantitySuffixError],
    ["-3.01e-", quantitySuffixError],
    ["1e", quantitySuffixError],
    ["1MM", quantitySuffixError],
    ["1e4294967297", quantitySuffixError],
    ["1E2147483648", quantitySuffixError],
    ["1E-2147483648", quantitySuffixError],
    ["1e3e", quantityFormatWrong],
    [" 1", quantityFormatWrong],
    ["1 ", quantityFormatWrong],
    ["NaN", quantityFormatWrong],
    ["Pi", quantityNumericError],
    [".e-10", quantityNumericError],
    ["1e1000", quantityTooLarge],
    ["1e2147483647", quantityTooLarge],
  ]
  for (const [input, message] of cases) {
    it(`${JSON.stringify(input)}`, () => {
      const r = parseQuantity(input)
      expect(Result.isFailure(r)).toBe(true)
      if (Result.isFailure(r)) {
        expect(r.failure._tag).toBe("QuantityParseError")
        expect(r.failure.input).toBe(input)
        expect(r.failure.message).toBe(message)
      }
    })
  }
  it("the regular expression in the format message is the one Kubernetes prints", () => {
    expect(quantityFormatWrong).toBe(
      "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    )
    expect(mustParseQuantity("1e999").nanos).toBe(10n ** 1008n)
    expect(() => mustParseQuantity("x")).toThrow("cannot parse 'x'")
  })
})

describe("canonical form", () => {
  // [value in nanos, format, canonical]; from Kubernetes' TestQuantityString.
  const cases: ReadonlyArray<readonly [bigint, Format, string]> = [
    [1024n ** 3n * NANO, "BinarySI", "1Gi"],
    [300n * 1024n ** 2n * NANO, "BinarySI", "300Mi"],
    [6n * 1024n * NANO, "BinarySI", "6Ki"],
    [1001n * 1024n ** 3n * NANO, "BinarySI", "1001Gi"],
    [1024n ** 4n * NANO, "BinarySI", "1Ti"],
    [5n * NANO, "BinarySI", "5"],
    [500_000_000n, "BinarySI", "500m"],
    [1025n * NANO, "BinarySI", "1025"],
    [2000n * NANO, "BinarySI", "2000"],
    [1_500_000_000n, "BinarySI", "1500m"],
    [1024n * NANO + 1n, "BinarySI", "1024000000001n"],
    [10n ** 18n * NANO, "DecimalSI", "1E"],
    [10n ** 21n * NANO, "DecimalSI", "1e21"],
    [5n * 10n ** 21n * NANO, "DecimalSI", "5e21"],
    [10n ** 24n * NANO, "DecimalSI", "1e24"],
    [10n ** 70n * NANO, "BinarySI", "10e69"],
    [2n * 10n ** 70n * NANO, "BinarySI", "20e69"],
    [10n ** 72n * NANO, "BinarySI", "1e72"],
    [2n ** 70n * NANO, "BinarySI", "1180591620717411303424"],
    [2n ** 60n * NANO, "BinarySI", "1Ei"],
    [1234567n * 10n ** 6n * NANO, "DecimalSI", "1234567M"],
    [1234567n * 1_000_000n, "BinarySI", "1234567m"],
    [10n ** 9n * NANO, "DecimalSI", "1G"],
    [1_000_000n, "DecimalSI", "1m"],
    [80_000_000n, "DecimalSI", "80m"],
    [1_080_000_000n, "DecimalSI", "1080m"],
    [300n * 10n ** 6n * NANO, "DecimalSI", "300M"],
    [10n ** 12n * NANO, "DecimalSI", "1T"],
    [3000n * NANO, "DecimalSI", "3k"],
    [0n, "DecimalSI", "0"],
    [0n, "BinarySI", "0"],
    [0n, "DecimalExponent", "0"],
    [10n ** 9n * NANO, "DecimalExponent", "1e9"],
    [1_000_000n, "DecimalExponent", "1e-3"],
    [1n, "DecimalExponent", "1e-9"],
    [80_000_000n, "DecimalExponent", "80e-3"],
    [300n * 10n ** 6n * NANO, "DecimalExponent", "300e6"],
    [3000n * NANO, "DecimalExponent", "3e3"],
    [NANO, "DecimalExponent", "1"],
    [1n, "DecimalSI", "1n"],
    [80n, "DecimalSI", "80n"],
    [1080n, "DecimalSI", "1080n"],
    [1000n, "DecimalSI", "1u"],
    [80_000n, "DecimalSI", "80u"],
    [1_080_000n, "DecimalSI", "1080u"],
  ]
  for (const [nanos, format, text] of cases) {
    it(`${text} (${format})`, () => {
      expect(new Quantity(nanos, format).toString()).toBe(text)
      expect(mustParseQuantity(text).nanos).toBe(nanos)
      if (nanos !== 0n) expect(new Quantity(-nanos, format).toString()).toBe(`-${text}`)
    })
  }

  // [input, printed]; Kubernetes keeps a canonical-looking spelling and reprints the rest.
  const emitted: ReadonlyArray<readonly [string, string]> = [
    ["1Ki", "1Ki"],
    ["1Mi", "1Mi"],
    ["1Gi", "1Gi"],
    ["1024Mi", "1Gi"],
    ["8Ki", "8Ki"],
    ["1000M", "1G"],
    [".001Ki", "1024m"],
    [".000001Ki", "1024u"],
    [".000000001Ki", "1024n"],
    [".000000000001Ki", "2n"],
    ["0.5", "500m"],
    ["1.5", "1500m"],
    ["1.5Gi", "1536Mi"],
    ["1.0", "1"],
    ["1e3", "1e3"],
    ["1000", "1k"],
    ["100m", "100m"],
    ["128Mi", "128Mi"],
    ["1G", "1G"],
    ["1000E", "1e21"],
    ["0.1n", "1n"],
    ["-0", "0"],
    ["00", "0"],
    ["0.0", "0"],
    // Spellings Kubernetes keeps verbatim (its canonical-string cache).
    ["+1", "+1"],
    ["01", "01"],
    ["1.500", "1.500"],
    ["+1Ki", "+1Ki"],
  ]
  for (const [input, printed] of emitted) {
    it(`${input} prints as ${printed}`, () => {
      expect(mustParseQuantity(input).toString()).toBe(printed)
      expect(JSON.stringify({ q: mustParseQuantity(input) })).toBe(`{"q":"${printed}"}`)
    })
  }
})

describe("arithmetic and accessors", () => {
  it("add and sub keep the receiver's format unless it is zero", () => {
    const zero = mustParseQuantity("0")
    for (const text of ["100m", "1Gi"]) {
      const v = mustParseQuantity(text)
      expect(v.add(zero).toString()).toBe(text)
      expect(zero.add(v).toString()).toBe(text)
      expect(v.sub(zero).toString()).toBe(text)
      expect(zero.sub(v).toString()).toBe(v.neg().toString())
    }
    expect(mustParseQuantity("1Gi").add(mustParseQuantity("512Mi")).toString()).toBe("1536Mi")
    expect(mustParseQuantity("1").sub(mustParseQuantity("250m")).toString()).toBe("750m")
    expect(mustParseQuantity("100m").add(mustParseQuantity("1Gi")).format).toBe("DecimalSI")
    expect(mustParseQuantity("4Ei").add(mustParseQuantity("4Ei")).toString()).toBe("8Ei")
    expect(mustParseQuantity("1Ei").mul(1024).toString()).toBe("1180591620717411303424")
    expect(mustParseQuantity("9.01").neg().toString()).toBe("-9010m")
  })
  it("cmp, equality and sign", () => {
    const cmp = (a: string, b: string) => mustParseQuantity(a).cmp(mustParseQuantity(b))
    expect(cmp("0", "0")).toBe(0)
    expect(cmp("100m", "50m")).toBe(1)
    expect(cmp("50m", "100m")).toBe(-1)
    expect(cmp("10000T", "100Gi")).toBe(1)
    expect(cmp("1Ki", "1024")).toBe(0)
    expect(cmp("-1", "1n")).toBe(-1)
    expect(Equal.equals(mustParseQuantity("1k"), mustParseQuantity("1000"))).toBe(true)
    expect(Equal.equals(mustParseQuantity("1k"), mustParseQuantity("1001"))).toBe(false)
    expect(mustParseQuantity("1Ki").equals(mustParseQuantity("1.024k"))).toBe(true)
    expect(mustParseQuantity("-5m").sign()).toBe(-1)
    expect(mustParseQuantity("0Gi").sign()).toBe(0)
    expect(mustParseQuantity("0Gi").isZero()).toBe(true)
    expect(mustParseQuantity("5m").sign()).toBe(1)
  })
  it("value and milliValue round away from zero", () => {
    expect(mustParseQuantity("100m").milliValue()).toBe(100)
    expect(mustParseQuantity("1").milliValue()).toBe(1000)
    expect(mustParseQuantity("0.5").milliValue()).toBe(500)
    expect(mustParseQuantity("1n").milliValue()).toBe(1)
    expect(mustParseQuantity("-1n").milliValue()).toBe(-1)
    expect(mustParseQuantity("128Mi").value()).toBe(128 * 1024 * 1024)
    expect(mustParseQuantity("1.5").value()).toBe(2)
    expect(mustParseQuantity("-1.5").value()).toBe(-2)
    expect(mustParseQuantity("100m").value()).toBe(1)
    expect(mustParseQuantity("2").value()).toBe(2)
    expect(mustParseQuantity("1k").scaledValue(Scale.Kilo)).toBe(1n)
    expect(mustParseQuantity("1001").scaledValue(Scale.Kilo)).toBe(2n)
    expect(mustParseQuantity("1").scaledValue(Scale.Milli)).toBe(1000n)
    expect(mustParseQuantity("1").scaledValue(-12)).toBe(10n ** 12n)
    expect(mustParseQuantity("1E").scaledValue(0)).toBe(10n ** 18n)
  })
  it("constructors", () => {
    expect(Quantity.make(5, "BinarySI").toString()).toBe("5")
    expect(Quantity.make(2048, "BinarySI").toString()).toBe("2Ki")
    expect(Quantity.milli(1500).toString()).toBe("1500m")
    expect(Quantity.milli(500, "BinarySI").toString()).toBe("500m")
    expect(Quantity.scaled(3, Scale.Kilo).toString()).toBe("3k")
    expect(Quantity.scaled(1, -12).nanos).toBe(1n)
    expect(Quantity.scaled(-1, -12).nanos).toBe(-1n)
    expect(Quantity.zero.toString()).toBe("0")
  })
})

describe("schemas", () => {
  const decode = Schema.decodeUnknownSync(QuantityFromString)
  const encode = Schema.encodeSync(QuantityFromString)
  it("decodes strings and numbers, encodes the Kubernetes form", () => {
    expect(decode("100m").nanos).toBe(100_000_000n)
    expect(decode(" 128Mi ").toString()).toBe("128Mi")
    expect(decode(0.5).toString()).toBe("500m")
    expect(decode(2).toString()).toBe("2")
    // A number is read through its JavaScript spelling, which Kubernetes would keep as written.
    expect(decode(1e21).toString()).toBe("1e+21")
    expect(decode(1e21).nanos).toBe(10n ** 30n)
    expect(encode(mustParseQuantity("0.5"))).toBe("500m")
    expect(encode(mustParseQuantity("1Gi"))).toBe("1Gi")
  })
  it("reports Kubernetes' message for a bad quantity", () => {
    expect(() => decode("1.1.M")).toThrow(quantityFormatWrong)
    expect(() => decode("1i")).toThrow(quantitySuffixError)
    expect(() => decode(true)).toThrow()
  })
  it("QuantityString keeps the string and checks its syntax", () => {
    const check = Schema.decodeUnknownSync(QuantityString)
    expect(check("1.500")).toBe("1.500")
    expect(() => check("abc")).toThrow(quantityFormatWrong)
  })
})

// --- properties

/** An independent reference: the exact value of sign·int.frac·base^exp, rounded away to nanos. */
const referenceNanos = (
  negative: boolean,
  int: string,
  frac: string,
  suffix: { readonly base: 2 | 10; readonly exponent: number },
): bigint => {
  let num = BigInt(`${int}${frac}` || "0") * NANO
  let den = 10n ** BigInt(frac.length)
  if (suffix.base === 2) num *= 2n ** BigInt(suffix.exponent)
  else if (suffix.exponent >= 0) num *= 10n ** BigInt(suffix.exponent)
  else den *= 10n ** BigInt(-suffix.exponent)
  let n = num / den
  if (n * den !== num) n += 1n
  if (suffix.base === 2 && n > MAX_INT64 * NANO) n = MAX_INT64 * NANO
  return negative ? -n : n
}

const suffixes: ReadonlyArray<readonly [string, { base: 2 | 10; exponent: number }]> = [
  ["n", { base: 10, exponent: -9 }],
  ["u", { base: 10, exponent: -6 }],
  ["m", { base: 10, exponent: -3 }],
  ["", { base: 10, exponent: 0 }],
  ["k", { base: 10, exponent: 3 }],
  ["M", { base: 10, exponent: 6 }],
  ["G", { base: 10, exponent: 9 }],
  ["T", { base: 10, exponent: 12 }],
  ["P", { base: 10, exponent: 15 }],
  ["E", { base: 10, exponent: 18 }],
  ["Ki", { base: 2, exponent: 10 }],
  ["Mi", { base: 2, exponent: 20 }],
  ["Gi", { base: 2, exponent: 30 }],
  ["Ti", { base: 2, exponent: 40 }],
  ["Pi", { base: 2, exponent: 50 }],
  ["Ei", { base: 2, exponent: 60 }],
]

const digits = (max: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 0, maxLength: max })

/** A quantity string with its independent reference value. */
const quantityText = fc
  .record({
    negative: fc.boolean(),
    int: digits(22),
    frac: digits(12),
    dot: fc.boolean(),
    suffix: fc.oneof(
      fc.constantFrom(...suffixes),
      fc
        .record({ e: fc.constantFrom("e", "E"), x: fc.integer({ min: -30, max: 30 }) })
        .map(({ e, x }) => [`${e}${x}`, { base: 10 as const, exponent: x }] as const),
    ),
  })
  .filter((r) => r.int.length + r.frac.length > 0)
  .map((r) => ({
    text: `${r.negative ? "-" : ""}${r.int}${r.dot || r.frac.length > 0 ? "." : ""}${r.frac}${r.suffix[0]}`,
    nanos: referenceNanos(r.negative, r.int, r.frac, r.suffix[1]),
  }))

const anyQuantity = fc
  .record({
    nanos: fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }),
    format: fc.constantFrom<Format>("DecimalSI", "BinarySI", "DecimalExponent"),
    units: fc.boolean(),
  })
  // Binary values above 2^63-1 are capped by parsing, so generate them within range.
  .map(({ nanos, format, units }) => {
    let n = units ? (nanos / NANO) * NANO : nanos
    if (format === "BinarySI") n %= MAX_INT64 * NANO
    return new Quantity(n, format)
  })

const canonicalShape = /^-?(0|[1-9][0-9]*)(|[numkMGTPE]|[KMGTPE]i|e-?[1-9][0-9]*)$/

describe("properties", () => {
  it("parsing matches an exact rational reference", () => {
    fc.assert(
      fc.property(quantityText, ({ text, nanos }) => {
        expect(mustParseQuantity(text).nanos).toBe(nanos)
      }),
      { numRuns: 2000 },
    )
  })

  it("format then parse keeps the value; the printed form is canonical and stable", () => {
    fc.assert(
      fc.property(anyQuantity, (q) => {
        const text = q.toString()
        expect(text).toMatch(canonicalShape)
        const back = mustParseQuantity(text)
        expect(back.nanos).toBe(q.nanos)
        // A binary quantity printed without a binary suffix (2000, or 1500m) reparses as decimal
        // SI and may then print differently (2k), as in Kubernetes; from there it is stable.
        if (q.format !== "BinarySI" || text.endsWith("i")) expect(back.toString()).toBe(text)
        expect(mustParseQuantity(back.toString()).toString()).toBe(back.toString())
        expect(mustParseQuantity(text.startsWith("-") ? text : `-${text}`).nanos).toBe(
          q.nanos < 0n ? q.nanos : -q.nanos,
        )
      }),
      { numRuns: 2000 },
    )
  })

  it("canonicalization is idempotent on parsed input", () => {
    fc.assert(
      fc.property(quantityText, ({ text }) => {
        const once = mustParseQuantity(text).toString()
        const twice = mustParseQuantity(once).toString()
        expect(twice).toBe(once)
      }),
      { numRuns: 2000 },
    )
  })

  it("add, sub, cmp and milliValue agree with bigint arithmetic", () => {
    fc.assert(
      fc.property(quantityText, quantityText, (a, b) => {
        const qa = mustParseQuantity(a.text)
        const qb = mustParseQuantity(b.text)
        expect(qa.add(qb).nanos).toBe(a.nanos + b.nanos)
        expect(qa.sub(qb).nanos).toBe(a.nanos - b.nanos)
        expect(qa.cmp(qb)).toBe(a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0)
        // Sums print and reparse to the same value, except that a binary sum above 2^63-1
        // reparses capped, as in Kubernetes.
        const sum = qa.add(qb)
        const cap = MAX_INT64 * NANO
        const reparsed = mustParseQuantity(sum.toString()).nanos
        if (sum.format === "BinarySI" && (sum.nanos > cap || sum.nanos < -cap)) {
          expect(reparsed === sum.nanos || reparsed === cap || reparsed === -cap).toBe(true)
        } else expect(reparsed).toBe(sum.nanos)
        const milli = a.nanos / 1_000_000n
        const away = milli * 1_000_000n === a.nanos ? milli : a.nanos < 0n ? milli - 1n : milli + 1n
        expect(qa.scaledValue(Scale.Milli)).toBe(away)
      }),
      { numRuns: 2000 },
    )
  })

  it("arbitrary text never throws: a typed error or a quantity that prints and reparses", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: fc.constantFrom(..."0123456789.+-eEinumkKMGTP "), maxLength: 12 }),
        ),
        (text) => {
          const r = parseQuantity(text)
          if (Result.isSuccess(r)) {
            const printed = r.success.toString()
            expect(mustParseQuantity(printed).nanos).toBe(r.success.nanos)
          } else {
            expect(r.failure._tag).toBe("QuantityParseError")
            expect([
              quantityFormatWrong,
              quantityNumericError,
              quantitySuffixError,
              quantityTooLarge,
            ]).toContain(r.failure.message)
          }
        },
      ),
      { numRuns: 2000 },
    )
  })
})
