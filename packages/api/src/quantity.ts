/**
 * Exact resource quantities (`resource.Quantity` of k8s.io/apimachinery): `100m`, `0.5`,
 * `128Mi`, `1G`, `1e3`. No floating point anywhere: a parsed value is rounded away from zero to
 * a whole number of nanounits, as Kubernetes does, and then held exactly as a bigint of nanos.
 *
 * Parsing and printing follow Kubernetes (current apimachinery) including its quirks:
 * - the three formats (binary SI `Ki..Ei`, decimal SI `n..E`, decimal exponent `e3`) and the
 *   canonical form (no fraction, the largest suffix of the parsed format, exponent a multiple of
 *   three; binary values below 1Ki or with a fraction print as decimal SI);
 * - values written in a form Kubernetes considers canonical keep their original spelling
 *   (`+1`, `01`, `1.500` print as written), everything else prints canonically;
 * - binary SI values are capped at 2^63-1, decimal values are not capped;
 * - a decimal SI value beyond `E` prints in exponent form (`1e21`), a binary value beyond `Ei`
 *   prints in decimal exponent form;
 * - digit-less inputs such as `m`, `Ki`, `-` and `.` parse as zero.
 *
 * One deliberate limit beyond Kubernetes: a value of 10^1000 or more is rejected ("quantity too
 * large"), so that an input like `1e2147483647` cannot make arithmetic allocate without bound.
 */
import { Effect, Equal, Hash, Result, Schema, SchemaGetter, SchemaIssue } from "effect"

export type Format = "DecimalExponent" | "BinarySI" | "DecimalSI"

/** Powers of ten for {@link Quantity.scaledValue} (Kubernetes' `resource.Scale`). */
export const Scale = {
  Nano: -9,
  Micro: -6,
  Milli: -3,
  Unit: 0,
  Kilo: 3,
  Mega: 6,
  Giga: 9,
  Tera: 12,
  Peta: 15,
  Exa: 18,
} as const

// --- errors (Kubernetes' ErrFormatWrong, ErrNumeric, ErrSuffix)

export const quantityFormatWrong =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
export const quantityNumericError = "unable to parse numeric part of quantity"
export const quantitySuffixError = "unable to parse quantity's suffix"
export const quantityTooLarge = "quantity too large: magnitude must be below 1e1000"

/** A string that is not a quantity; `message` is Kubernetes' wording. */
export class QuantityParseError extends Schema.TaggedError<QuantityParseError>()(
  "QuantityParseError",
  { input: Schema.String, message: Schema.String },
) {}

// --- the value

const NANO = 1_000_000_000n
const MAX_INT64 = 9_223_372_036_854_775_807n
const MAX_INT64_NANOS = MAX_INT64 * NANO
/** Largest accepted decimal order of magnitude: |value| < 10^MAX_ORDER. */
const MAX_ORDER = 1000

const pow10Cache: Array<bigint> = []
const pow10 = (n: number): bigint => {
  if (n < 64) {
    let p = pow10Cache[n]
    if (p === undefined) {
      p = 10n ** BigInt(n)
      pow10Cache[n] = p
    }
    return p
  }
  return 10n ** BigInt(n)
}

const abs = (n: bigint): bigint => (n < 0n ? -n : n)
/** Number of decimal digits of |n| (n ≠ 0). */
const digitCount = (n: bigint): number => abs(n).toString().length

/** `n / d` rounded away from zero (`d > 0`). */
const divAway = (n: bigint, d: bigint): bigint => {
  const q = n / d
  if (q * d === n) return q
  return n < 0n ? q - 1n : q + 1n
}

/**
 * An exact quantity: `nanos` × 10^-9, with the format it prints in. Immutable; arithmetic
 * returns new quantities. Equality (`Equal.equals`) compares values only, as Kubernetes' `Cmp`.
 */
export class Quantity implements Equal.Equal {
  /** The value in nanounits (value × 10^9), exact. */
  readonly nanos: bigint
  readonly format: Format
  /** The printed form: the original spelling when Kubernetes keeps it, else filled on demand. */
  #s: string | undefined
  #milli: number | undefined

  constructor(nanos: bigint, format: Format, s?: string) {
    this.nanos = nanos
    this.format = format
    this.#s = s
  }

  static readonly zero: Quantity = new Quantity(0n, "DecimalSI", "0")

  /** `value` units (Kubernetes' `NewQuantity`). */
  static make(value: number | bigint, format: Format = "DecimalSI"): Quantity {
    return new Quantity(BigInt(value) * NANO, format)
  }
  /** `value` × 10^-3 (Kubernetes' `NewMilliQuantity`). */
  static milli(value: number | bigint, format: Format = "DecimalSI"): Quantity {
    return new Quantity(BigInt(value) * 1_000_000n, format)
  }
  /**
   * `value` × 10^scale in decimal SI (Kubernetes' `NewScaledQuantity`); values finer than a
   * nanounit round away from zero.
   */
  static scaled(value: number | bigint, scale: number): Quantity {
    const v = BigInt(value)
    const nanos = scale >= -9 ? v * pow10(scale + 9) : divAway(v, pow10(-9 - scale))
    return new Quantity(nanos, "DecimalSI")
  }

  isZero(): boolean {
    return this.nanos === 0n
  }
  sign(): -1 | 0 | 1 {
    return this.nanos < 0n ? -1 : this.nanos > 0n ? 1 : 0
  }
  /** -1, 0 or 1 as this is less than, equal to or greater than `y`. */
  cmp(y: Quantity): -1 | 0 | 1 {
    return this.nanos < y.nanos ? -1 : this.nanos > y.nanos ? 1 : 0
  }
  equals(y: Quantity): boolean {
    return this.nanos === y.nanos
  }
  /** The sum; a zero receiver takes `y`'s format, as in Kubernetes. */
  add(y: Quantity): Quantity {
    return new Quantity(this.nanos + y.nanos, this.nanos === 0n ? y.format : this.format)
  }
  /** The difference; a zero receiver takes `y`'s format, as in Kubernetes. */
  sub(y: Quantity): Quantity {
    return new Quantity(this.nanos - y.nanos, this.nanos === 0n ? y.format : this.format)
  }
  neg(): Quantity {
    return new Quantity(-this.nanos, this.format)
  }
  /** The value × n, exactly. */
  mul(n: number | bigint): Quantity {
    return new Quantity(this.nanos * BigInt(n), this.format)
  }

  /** The value / 10^scale rounded away from zero, exactly (Kubernetes' `ScaledValue`). */
  scaledValue(scale: number): bigint {
    const shift = scale + 9
    if (shift <= 0) return this.nanos * pow10(-shift)
    return divAway(this.nanos, pow10(shift))
  }
  /**
   * The value rounded away from zero to a whole unit (Kubernetes' `Value`). Exact up to 2^53;
   * use {@link scaledValue} for larger values.
   */
  value(): number {
    return Number(divAway(this.nanos, NANO))
  }
  /** The value × 1000 rounded away from zero (Kubernetes' `MilliValue`); cached. */
  milliValue(): number {
    let m = this.#milli
    if (m === undefined) {
      m = Number(divAway(this.nanos, 1_000_000n))
      this.#milli = m
    }
    return m
  }

  /** The Kubernetes wire form (canonical unless the parsed spelling is kept). */
  toString(): string {
    let s = this.#s
    if (s === undefined) {
      s = canonicalize(this.nanos, this.format)
      this.#s = s
    }
    return s
  }
  toJSON(): string {
    return this.toString()
  }

  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof Quantity && that.nanos === this.nanos
  }
  [Hash.symbol](): number {
    return Hash.string(this.nanos.toString())
  }
}

// --- printing

const decimalSuffixes: ReadonlyMap<number, string> = new Map([
  [-9, "n"],
  [-6, "u"],
  [-3, "m"],
  [0, ""],
  [3, "k"],
  [6, "M"],
  [9, "G"],
  [12, "T"],
  [15, "P"],
  [18, "E"],
])
const binarySuffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"] as const

/** Mantissa digits and a base-10 exponent that is a multiple of 3, with no fraction. */
const decimalParts = (magnitude: bigint): [string, number] => {
  const digits = magnitude.toString()
  let end = digits.length
  while (end > 1 && digits.charCodeAt(end - 1) === 0x30) end--
  let exponent = digits.length - end - 9
  let mantissa = digits.slice(0, end)
  const r = ((exponent % 3) + 3) % 3
  if (r !== 0) {
    mantissa += r === 1 ? "0" : "00"
    exponent -= r
  }
  return [mantissa, exponent]
}

const canonicalize = (nanos: bigint, format: Format): string => {
  if (nanos === 0n) return "0"
  const sign = nanos < 0n ? "-" : ""
  const magnitude = abs(nanos)
  let f = format
  if (f === "BinarySI") {
    // Below 1Ki, or with a fraction, a binary quantity prints as decimal SI (no rounding).
    if (magnitude < 1024n * NANO || magnitude % NANO !== 0n) f = "DecimalSI"
    else {
      let units = magnitude / NANO
      let exponent = 0
      while (units >= 1024n && units % 1024n === 0n) {
        units /= 1024n
        exponent++
      }
      const suffix = binarySuffixes[exponent]
      if (suffix !== undefined) return `${sign}${units}${suffix}`
      // Past Ei there is no binary suffix: print exactly in decimal exponent form.
      f = "DecimalExponent"
    }
  }
  const [mantissa, exponent] = decimalParts(magnitude)
  if (f === "DecimalSI") {
    const suffix = decimalSuffixes.get(exponent)
    if (suffix !== undefined) return `${sign}${mantissa}${suffix}`
  }
  return exponent === 0 ? `${sign}${mantissa}` : `${sign}${mantissa}e${exponent}`
}

// --- parsing

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
/** Characters that may start a suffix: `eEinumkKMGTP`. */
const isSuffixChar = (c: number): boolean =>
  c === 0x65 || // e
  c === 0x45 || // E
  c === 0x69 || // i
  c === 0x6e || // n
  c === 0x75 || // u
  c === 0x6d || // m
  c === 0x6b || // k
  c === 0x4b || // K
  c === 0x4d || // M
  c === 0x47 || // G
  c === 0x54 || // T
  c === 0x50 // P

interface Suffix {
  readonly base: 2 | 10
  readonly exponent: number
  readonly format: Format
}

const suffixTable: ReadonlyMap<string, Suffix> = new Map<string, Suffix>([
  ["n", { base: 10, exponent: -9, format: "DecimalSI" }],
  ["u", { base: 10, exponent: -6, format: "DecimalSI" }],
  ["m", { base: 10, exponent: -3, format: "DecimalSI" }],
  ["", { base: 10, exponent: 0, format: "DecimalSI" }],
  ["k", { base: 10, exponent: 3, format: "DecimalSI" }],
  ["M", { base: 10, exponent: 6, format: "DecimalSI" }],
  ["G", { base: 10, exponent: 9, format: "DecimalSI" }],
  ["T", { base: 10, exponent: 12, format: "DecimalSI" }],
  ["P", { base: 10, exponent: 15, format: "DecimalSI" }],
  ["E", { base: 10, exponent: 18, format: "DecimalSI" }],
  ["Ki", { base: 2, exponent: 10, format: "BinarySI" }],
  ["Mi", { base: 2, exponent: 20, format: "BinarySI" }],
  ["Gi", { base: 2, exponent: 30, format: "BinarySI" }],
  ["Ti", { base: 2, exponent: 40, format: "BinarySI" }],
  ["Pi", { base: 2, exponent: 50, format: "BinarySI" }],
  ["Ei", { base: 2, exponent: 60, format: "BinarySI" }],
])

const exponentSuffix = /^[eE][+-]?[0-9]+$/
const MAX_INT32 = 2_147_483_647

const interpretSuffix = (suffix: string): Suffix | undefined => {
  const known = suffixTable.get(suffix)
  if (known !== undefined) return known
  if (!exponentSuffix.test(suffix)) return undefined
  // Exponents outside [-MaxInt32, MaxInt32] are rejected, as current Kubernetes does.
  const digits = suffix.slice(1)
  const n = Number(digits)
  if (!Number.isSafeInteger(n) || n > MAX_INT32 || n < -MAX_INT32) return undefined
  return { base: 10, exponent: n, format: "DecimalExponent" }
}

const fail = (input: string, message: string): Result.Result<Quantity, QuantityParseError> =>
  Result.fail(new QuantityParseError({ input, message }))

/** Parses a quantity as Kubernetes' `ParseQuantity` does (no surrounding whitespace allowed). */
export const parseQuantity = (str: string): Result.Result<Quantity, QuantityParseError> => {
  const end = str.length
  if (end === 0) return fail(str, quantityFormatWrong)
  if (str === "0") return Result.succeed(Quantity.zero)

  // Scan: [sign] zeros num [. denom] suffix.
  let pos = 0
  let negative = false
  const c0 = str.charCodeAt(0)
  if (c0 === 0x2d /* - */) {
    negative = true
    pos = 1
  } else if (c0 === 0x2b /* + */) pos = 1
  const zerosStart = pos
  while (pos < end && str.charCodeAt(pos) === 0x30) pos++
  if (pos === end) return Result.succeed(new Quantity(0n, "DecimalSI"))
  const numStart = pos
  while (pos < end && isDigit(str.charCodeAt(pos))) pos++
  const numLength = pos - numStart
  const num = numLength === 0 ? "0" : str.slice(numStart, pos)
  let denom = ""
  if (pos < end && str.charCodeAt(pos) === 0x2e /* . */) {
    pos++
    const denomStart = pos
    while (pos < end && isDigit(str.charCodeAt(pos))) pos++
    denom = str.slice(denomStart, pos)
  }
  // Kubernetes' general path reads the number again and needs at least one digit in it.
  const hasDigits = numStart > zerosStart || numLength > 0 || denom.length > 0
  const suffixStart = pos
  while (pos < end && isSuffixChar(str.charCodeAt(pos))) pos++
  if (pos < end) {
    const c = str.charCodeAt(pos)
    if (c === 0x2b || c === 0x2d) pos++
    while (pos < end && isDigit(str.charCodeAt(pos))) pos++
    if (pos < end) return fail(str, quantityFormatWrong)
  }
  const suffix = interpretSuffix(str.slice(suffixStart))
  if (suffix === undefined) return fail(str, quantitySuffixError)

  const shifted = num + denom
  const coef = BigInt(shifted)
  const signed = negative ? -coef : coef

  if (suffix.base === 10) {
    const scale = suffix.exponent - denom.length
    if (shifted.length <= 18 && scale >= -9) {
      // Kubernetes' fast path: exact, uncapped, and the spelling is kept when it looks canonical.
      if (coef !== 0n && digitCount(coef) + scale > MAX_ORDER) return fail(str, quantityTooLarge)
      const keep = scale % 3 === 0 && !shifted.endsWith("000") && shifted.charCodeAt(0) !== 0x30
      return Result.succeed(
        new Quantity(signed * pow10(scale + 9), suffix.format, keep ? str : undefined),
      )
    }
    if (!hasDigits) return fail(str, quantityNumericError)
    return slowPath(str, signed, scale, suffix.format)
  }
  // Binary suffix.
  const precision = 14 - num.length - (3 * suffix.exponent) / 10
  if (denom.length === 0 && precision >= 0) {
    const keep = (coef & 7n) !== 0n
    return Result.succeed(
      new Quantity((signed << BigInt(suffix.exponent)) * NANO, "BinarySI", keep ? str : undefined),
    )
  }
  if (!hasDigits) return fail(str, quantityNumericError)
  return slowPath(str, signed << BigInt(suffix.exponent), -denom.length, "BinarySI")
}

/**
 * Kubernetes' general path for `coef` × 10^scale: round away from zero to a nanounit, cap binary
 * values at 2^63-1, and print binary values below one as decimal SI.
 */
const slowPath = (
  str: string,
  coef: bigint,
  scale: number,
  format: Format,
): Result.Result<Quantity, QuantityParseError> => {
  let nanos: bigint
  if (coef === 0n) nanos = 0n
  else if (scale + 9 >= 0) {
    // Binary values are capped below, so only decimal ones can be too large.
    if (format !== "BinarySI" && digitCount(coef) + scale > MAX_ORDER) {
      return fail(str, quantityTooLarge)
    }
    nanos = coef * pow10(scale + 9)
  } else {
    const shift = -(scale + 9)
    // Anything below one nanounit rounds away from zero to exactly one.
    if (shift > digitCount(coef)) nanos = coef < 0n ? -1n : 1n
    else nanos = divAway(coef, pow10(shift))
  }
  let f = format
  if (f === "BinarySI") {
    if (nanos > MAX_INT64_NANOS) nanos = MAX_INT64_NANOS
    else if (nanos < -MAX_INT64_NANOS) nanos = -MAX_INT64_NANOS
    if (nanos !== 0n && abs(nanos) < NANO) f = "DecimalSI"
  }
  return Result.succeed(new Quantity(nanos, f))
}

/** Parses or throws (Kubernetes' `MustParse`): for constants and tests only. */
export const mustParseQuantity = (str: string): Quantity => {
  const r = parseQuantity(str)
  if (Result.isFailure(r)) throw new Error(`cannot parse '${str}': ${r.failure.message}`)
  return r.success
}

// --- schemas

/** A `Quantity` value (already decoded). */
export const QuantitySchema = Schema.declare((u): u is Quantity => u instanceof Quantity, {
  title: "Quantity",
})

/**
 * A quantity on the wire: a string (surrounding whitespace trimmed, as Kubernetes' JSON decoder
 * does) or a number, decoded to a {@link Quantity} and encoded to its Kubernetes string form.
 */
export const QuantityFromString = Schema.Union([Schema.String, Schema.Number]).pipe(
  Schema.decodeTo(QuantitySchema, {
    decode: SchemaGetter.transformEffect((input: string | number, options) => {
      const text = typeof input === "number" ? String(input) : input.trim()
      const r = parseQuantity(text)
      return Result.isSuccess(r)
        ? Effect.succeed(r.success)
        : Effect.fail(new SchemaIssue.InvalidValue({ message: r.failure.message }, input, options))
    }),
    encode: SchemaGetter.transform((q: Quantity) => q.toString()),
  }),
)

/** A string that parses as a quantity, kept as the string. */
export const QuantityString = Schema.String.check(
  Schema.makeFilter((s: string) => {
    const r = parseQuantity(s)
    return Result.isSuccess(r) ? undefined : r.failure.message
  }),
)
