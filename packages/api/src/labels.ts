/**
 * Label selectors: the `metav1.LabelSelector` wire schema (`matchLabels`, `matchExpressions`),
 * and the internal `Selector` of k8s.io/apimachinery/pkg/labels: a conjunction of requirements,
 * parsed from and printed to the string form (`app=x,tier!=y,env in (a,b),!foo,foo`), matched
 * against label maps. Error messages are Kubernetes' own.
 *
 * A `Selector` is compiled once and then matched many times (the scheduler and controllers match
 * millions of pods): requirements are kept sorted by key, values are sorted and deduplicated,
 * large value sets are hashed, and `matches` allocates nothing.
 */
import { Effect, Result, Schema } from "effect"
import { isQualifiedName, isValidLabelValue } from "./names.ts"

// --- wire schema (metav1.LabelSelector)

/** A string Go always encodes: required in the type, `""` when absent on the wire. */
const RequiredString = Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("")))

/**
 * One `matchExpressions` entry. The operator stays a string on the wire, as in Go; turning the
 * selector into a {@link Selector} reports unsupported operators.
 */
export const LabelSelectorRequirement = Schema.Struct({
  key: RequiredString,
  operator: RequiredString,
  values: Schema.optionalKey(Schema.Array(Schema.String)),
})
export interface LabelSelectorRequirement
  extends Schema.Schema.Type<typeof LabelSelectorRequirement> {}

/** `metav1.LabelSelector`. An empty selector matches everything; an absent one nothing. */
export const LabelSelector = Schema.Struct({
  matchLabels: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  matchExpressions: Schema.optionalKey(Schema.Array(LabelSelectorRequirement)),
})
export interface LabelSelector extends Schema.Schema.Type<typeof LabelSelector> {}

/** The operators of `matchExpressions` (`metav1.LabelSelectorOperator`). */
export const LabelSelectorOperators = ["In", "NotIn", "Exists", "DoesNotExist"] as const

// --- requirements

/** `selection.Operator`: the operators of the string form. */
export type Operator = "in" | "notin" | "=" | "==" | "!=" | "exists" | "!" | "gt" | "lt"

/** One `key op values` condition; `values` is sorted and without duplicates. */
export interface Requirement {
  readonly key: string
  readonly operator: Operator
  readonly values: ReadonlyArray<string>
}

/** Labels as they appear in `metadata.labels`. */
export type Labels = { readonly [key: string]: string }

/** A selector string or `LabelSelector` Kubernetes would reject; `message` is its wording. */
export class LabelSelectorError extends Schema.TaggedError<LabelSelectorError>()(
  "LabelSelectorError",
  { message: Schema.String },
) {}

/** Go's `%q` for the strings that reach error messages. */
const quote = (s: string): string => JSON.stringify(s)
/** Go's `%#v` of a `[]string`. */
const goStrings = (vs: ReadonlyArray<string> | undefined): string =>
  vs === undefined ? "[]string(nil)" : `[]string{${vs.map(quote).join(", ")}}`
/** An aggregate of field errors as Go prints it: one alone, several in brackets, deduplicated. */
const aggregate = (errs: ReadonlyArray<string>): string => {
  const unique = [...new Set(errs)]
  return unique.length === 1 ? unique[0]! : `[${unique.join(", ")}]`
}

const invalidKey = (path: string, key: string): string | undefined => {
  const errs = isQualifiedName(key)
  return errs.length === 0 ? undefined : `${path}: Invalid value: ${quote(key)}: ${errs.join("; ")}`
}

const int64Pattern = /^[+-]?[0-9]+$/
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
/** Go's `strconv.ParseInt(s, 10, 64)`, or undefined. */
const parseInt64 = (s: string): bigint | undefined => {
  if (!int64Pattern.test(s)) return undefined
  const n = BigInt(s)
  return n < INT64_MIN || n > INT64_MAX ? undefined : n
}

/**
 * Kubernetes' `NewRequirement`: checks the key, the number of values for the operator, and each
 * value; the messages are Kubernetes' (`values: Invalid value: ...`). `values` of undefined is
 * Go's nil slice (it prints as `[]string(nil)`).
 */
export const makeRequirement = (
  key: string,
  operator: Operator,
  values: ReadonlyArray<string> | undefined,
): Result.Result<Requirement, LabelSelectorError> => {
  const errs: Array<string> = []
  const keyErr = invalidKey("key", key)
  if (keyErr !== undefined) errs.push(keyErr)
  const vals = values ?? []
  switch (operator) {
    case "in":
    case "notin":
      if (vals.length === 0) {
        errs.push(
          `values: Invalid value: ${goStrings(values)}: for 'in', 'notin' operators, values set can't be empty`,
        )
      }
      break
    case "=":
    case "==":
    case "!=":
      if (vals.length !== 1) {
        errs.push(
          `values: Invalid value: ${goStrings(values)}: exact-match compatibility requires one single value`,
        )
      }
      break
    case "exists":
    case "!":
      if (vals.length !== 0) {
        errs.push(
          `values: Invalid value: ${goStrings(values)}: values set must be empty for exists and does not exist`,
        )
      }
      break
    case "gt":
    case "lt":
      if (vals.length !== 1) {
        errs.push(
          `values: Invalid value: ${goStrings(values)}: for 'Gt', 'Lt' operators, exactly one value is required`,
        )
      }
      vals.forEach((v, i) => {
        if (parseInt64(v) === undefined) {
          errs.push(
            `values[${i}]: Invalid value: ${quote(v)}: for 'Gt', 'Lt' operators, the value must be an integer`,
          )
        }
      })
      break
  }
  vals.forEach((v, i) => {
    const vErrs = isValidLabelValue(v)
    if (vErrs.length > 0) {
      errs.push(`values[${i}][${key}]: Invalid value: ${quote(v)}: ${vErrs.join("; ")}`)
    }
  })
  if (errs.length > 0) return Result.fail(new LabelSelectorError({ message: aggregate(errs) }))
  return Result.succeed({ key, operator, values: normalizeValues(vals) })
}

/** Sorted (by UTF-16 code units, which orders ASCII as Go's byte order does) and deduplicated. */
const normalizeValues = (vals: ReadonlyArray<string>): ReadonlyArray<string> => {
  if (vals.length <= 1) return vals.slice()
  const sorted = [...new Set(vals)].sort(compareStrings)
  return sorted
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The string form of one requirement, values sorted (Kubernetes' `Requirement.String`). */
export const requirementToString = (r: Requirement): string => {
  switch (r.operator) {
    case "exists":
      return r.key
    case "!":
      return `!${r.key}`
    case "=":
      return `${r.key}=${r.values.join(",")}`
    case "==":
      return `${r.key}==${r.values.join(",")}`
    case "!=":
      return `${r.key}!=${r.values.join(",")}`
    case "gt":
      return `${r.key}>${r.values.join(",")}`
    case "lt":
      return `${r.key}<${r.values.join(",")}`
    case "in":
      return `${r.key} in (${r.values.join(",")})`
    case "notin":
      return `${r.key} notin (${r.values.join(",")})`
  }
}

// --- compiled selector

// Operator codes for the match loop.
const OP_IN = 0
const OP_NOT_IN = 1
const OP_EXISTS = 2
const OP_DOES_NOT_EXIST = 3
const OP_GT = 4
const OP_LT = 5

/** Above this many values a requirement tests membership through a Set. */
const SET_THRESHOLD = 8

interface Compiled {
  readonly key: string
  readonly op: number
  /** The single value, when there is exactly one. */
  readonly one: string | undefined
  readonly many: ReadonlyArray<string>
  readonly set: ReadonlySet<string> | undefined
  /** The bound of gt/lt, or undefined when it is not an integer (never matches). */
  readonly bound: bigint | undefined
}

const compile = (r: Requirement): Compiled => {
  let op: number
  switch (r.operator) {
    case "in":
    case "=":
    case "==":
      op = OP_IN
      break
    case "notin":
    case "!=":
      op = OP_NOT_IN
      break
    case "exists":
      op = OP_EXISTS
      break
    case "!":
      op = OP_DOES_NOT_EXIST
      break
    case "gt":
      op = OP_GT
      break
    case "lt":
      op = OP_LT
      break
  }
  const n = r.values.length
  return {
    key: r.key,
    op,
    one: n === 1 ? r.values[0] : undefined,
    many: r.values,
    set: n > SET_THRESHOLD ? new Set(r.values) : undefined,
    bound: (op === OP_GT || op === OP_LT) && n === 1 ? parseInt64(r.values[0]!) : undefined,
  }
}

const hasValue = (c: Compiled, v: string): boolean => {
  if (c.one !== undefined) return c.one === v
  if (c.set !== undefined) return c.set.has(v)
  const many = c.many
  for (let i = 0; i < many.length; i++) if (many[i] === v) return true
  return false
}

/**
 * A label selector: the conjunction of its requirements (sorted by key), or `nothing`, which
 * matches no labels at all. `Selector.everything` (no requirements) matches all labels.
 */
export class Selector {
  readonly requirements: ReadonlyArray<Requirement>
  /** True only for {@link Selector.nothing}. */
  readonly isNothing: boolean
  readonly #compiled: ReadonlyArray<Compiled>
  #string: string | undefined

  private constructor(requirements: ReadonlyArray<Requirement>, isNothing: boolean) {
    this.requirements = requirements
    this.isNothing = isNothing
    this.#compiled = requirements.map(compile)
  }

  static readonly #everything = new Selector([], false)
  static readonly #nothing = new Selector([], true)

  /** Matches every set of labels (an empty `LabelSelector`). */
  static everything(): Selector {
    return Selector.#everything
  }
  /** Matches no labels (an absent `LabelSelector`). */
  static nothing(): Selector {
    return Selector.#nothing
  }
  /** A selector of already validated requirements, sorted by key (stable). */
  static fromRequirements(requirements: ReadonlyArray<Requirement>): Selector {
    if (requirements.length === 0) return Selector.#everything
    return new Selector(
      [...requirements].sort((a, b) => compareStrings(a.key, b.key)),
      false,
    )
  }

  /** True when every requirement holds for `labels` (never for `nothing`). */
  matches(labels: Labels): boolean {
    if (this.isNothing) return false
    const cs = this.#compiled
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i]!
      // `typeof` also rejects inherited properties such as "constructor": they are not strings.
      const v = labels[c.key]
      const has = typeof v === "string"
      switch (c.op) {
        case OP_IN:
          if (!has || !hasValue(c, v)) return false
          break
        case OP_NOT_IN:
          if (has && hasValue(c, v)) return false
          break
        case OP_EXISTS:
          if (!has) return false
          break
        case OP_DOES_NOT_EXIST:
          if (has) return false
          break
        default: {
          if (!has || c.bound === undefined) return false
          const n = parseInt64(v)
          if (n === undefined) return false
          if (c.op === OP_GT ? !(n > c.bound) : !(n < c.bound)) return false
        }
      }
    }
    return true
  }

  /** True when the selector does not restrict anything (`everything`). */
  empty(): boolean {
    return !this.isNothing && this.requirements.length === 0
  }

  /** This selector with more requirements (Kubernetes' `Add`); `nothing` stays `nothing`. */
  add(...requirements: ReadonlyArray<Requirement>): Selector {
    if (this.isNothing) return this
    return Selector.fromRequirements([...this.requirements, ...requirements])
  }

  /** The value `label` must have, when the selector pins it to exactly one. */
  requiresExactMatch(label: string): string | undefined {
    for (const r of this.requirements) {
      if (r.key === label) {
        if (
          (r.operator === "=" || r.operator === "==" || r.operator === "in") &&
          r.values.length === 1
        )
          return r.values[0]
        return undefined
      }
    }
    return undefined
  }

  /** The canonical string form: requirements in key order joined by `,` (`""` for both
   * `everything` and `nothing`). */
  toString(): string {
    let s = this.#string
    if (s === undefined) {
      s = this.requirements.map(requirementToString).join(",")
      this.#string = s
    }
    return s
  }
  toJSON(): string {
    return this.toString()
  }
}

/**
 * A selector requiring exactly the given labels (Kubernetes' `SelectorFromSet`, as used for
 * Service and ReplicationController selectors). Not validated; an empty set selects everything.
 */
export const selectorFromSet = (set: Labels): Selector =>
  Selector.fromRequirements(
    Object.keys(set).map((key) => ({ key, operator: "=" as const, values: [set[key]!] })),
  )

/**
 * Kubernetes' `LabelSelectorAsSelector`: undefined or null selects nothing, an empty selector
 * everything; otherwise `matchLabels` (as `=`) and `matchExpressions`, validated.
 */
export const labelSelectorAsSelector = (
  ls: LabelSelector | null | undefined,
): Result.Result<Selector, LabelSelectorError> => {
  if (ls === null || ls === undefined) return Result.succeed(Selector.nothing())
  const matchLabels = ls.matchLabels ?? {}
  const labelKeys = Object.keys(matchLabels).sort(compareStrings)
  const exprs = ls.matchExpressions ?? []
  if (labelKeys.length + exprs.length === 0) return Result.succeed(Selector.everything())
  const reqs: Array<Requirement> = []
  for (const key of labelKeys) {
    const r = makeRequirement(key, "=", [matchLabels[key]!])
    if (Result.isFailure(r)) return Result.fail(r.failure)
    reqs.push(r.success)
  }
  for (const expr of exprs) {
    let op: Operator
    switch (expr.operator) {
      case "In":
        op = "in"
        break
      case "NotIn":
        op = "notin"
        break
      case "Exists":
        op = "exists"
        break
      case "DoesNotExist":
        op = "!"
        break
      default:
        return Result.fail(
          new LabelSelectorError({
            message: `${quote(expr.operator)} is not a valid label selector operator`,
          }),
        )
    }
    const values = expr.values === undefined || expr.values.length === 0 ? undefined : expr.values
    const r = makeRequirement(expr.key, op, values)
    if (Result.isFailure(r)) return Result.fail(r.failure)
    reqs.push(r.success)
  }
  return Result.succeed(Selector.fromRequirements(reqs))
}

/** Kubernetes' `FormatLabelSelector`: the string form, `<none>` when empty, `<error>` if invalid. */
export const formatLabelSelector = (ls: LabelSelector | null | undefined): string => {
  const r = labelSelectorAsSelector(ls)
  if (Result.isFailure(r)) return "<error>"
  const s = r.success.toString()
  return s.length === 0 ? "<none>" : s
}

// --- the string form

// Tokens of the selector lexer.
const T_ERROR = 0
const T_END = 1
const T_CLOSE = 2
const T_COMMA = 3
const T_NOT = 4
const T_DOUBLE_EQUALS = 5
const T_EQUALS = 6
const T_GT = 7
const T_ID = 8
const T_IN = 9
const T_LT = 10
const T_NOT_EQUALS = 11
const T_NOT_IN = 12
const T_OPEN = 13

const literalTokens: ReadonlyMap<string, number> = new Map([
  [")", T_CLOSE],
  [",", T_COMMA],
  ["!", T_NOT],
  ["==", T_DOUBLE_EQUALS],
  ["=", T_EQUALS],
  [">", T_GT],
  ["in", T_IN],
  ["<", T_LT],
  ["!=", T_NOT_EQUALS],
  ["notin", T_NOT_IN],
  ["(", T_OPEN],
])

const isWhitespace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a
const isSpecial = (c: number): boolean =>
  c === 0x3d || c === 0x21 || c === 0x28 || c === 0x29 || c === 0x2c || c === 0x3e || c === 0x3c

/**
 * Splits the input into tokens as Kubernetes' lexer does. Its reader treats a NUL character as
 * the end of input when a token would start there, and as a consumed separator after an
 * identifier or operator; this keeps that behaviour.
 */
const lex = (s: string): { toks: Array<number>; lits: Array<string> } => {
  const toks: Array<number> = []
  const lits: Array<string> = []
  const n = s.length
  let pos = 0
  /** The next character, or 0 at the end (without advancing). */
  const read = (): number => (pos < n ? s.charCodeAt(pos++) : 0)
  for (;;) {
    let c = read()
    while (isWhitespace(c)) c = read()
    if (c === 0) {
      toks.push(T_END)
      lits.push("")
      return { toks, lits }
    }
    pos--
    const start = pos
    if (isSpecial(c)) {
      // The longest run of special characters that is still a token (every single one is).
      let tok = T_ERROR
      let end = start
      for (;;) {
        const d = read()
        if (d === 0) break
        if (!isSpecial(d)) {
          pos--
          break
        }
        const t = literalTokens.get(s.slice(start, pos))
        if (t !== undefined) {
          tok = t
          end = pos
        } else if (tok !== T_ERROR) {
          pos--
          break
        }
      }
      toks.push(tok)
      lits.push(s.slice(start, end))
    } else {
      let end = start
      for (;;) {
        const d = read()
        if (d === 0) break
        if (isSpecial(d) || isWhitespace(d)) {
          pos--
          break
        }
        end = pos
      }
      const word = s.slice(start, end)
      toks.push(word === "in" ? T_IN : word === "notin" ? T_NOT_IN : T_ID)
      lits.push(word)
    }
  }
}

const binaryOperators = "in, notin, =, ==, !=, gt, lt"

class ParseFailure {
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

/** Kubernetes' recursive-descent selector parser over the token stream. */
class Parser {
  readonly toks: Array<number>
  readonly lits: Array<string>
  pos = 0
  constructor(s: string) {
    const { toks, lits } = lex(s)
    this.toks = toks
    this.lits = lits
  }
  /** In value position `in` and `notin` are plain identifiers. */
  peek(values: boolean): number {
    const t = this.toks[this.pos]!
    return values && (t === T_IN || t === T_NOT_IN) ? T_ID : t
  }
  peekLit(): string {
    return this.lits[this.pos]!
  }
  next(values: boolean): number {
    const t = this.peek(values)
    this.pos++
    return t
  }
  lastLit(): string {
    return this.lits[this.pos - 1]!
  }

  parse(): Array<Requirement> {
    const reqs: Array<Requirement> = []
    for (;;) {
      const t = this.peek(true)
      if (t === T_END) return reqs
      if (t !== T_ID && t !== T_NOT) {
        throw new ParseFailure(
          `found '${this.peekLit()}', expected: !, identifier, or 'end of string'`,
        )
      }
      try {
        reqs.push(this.requirement())
      } catch (e) {
        if (e instanceof ParseFailure) {
          throw new ParseFailure(`unable to parse requirement: ${e.message}`)
        }
        throw e
      }
      const after = this.next(true)
      if (after === T_END) return reqs
      if (after !== T_COMMA) {
        throw new ParseFailure(`found '${this.lastLit()}', expected: ',' or 'end of string'`)
      }
      const t2 = this.peek(true)
      if (t2 !== T_ID && t2 !== T_NOT) {
        throw new ParseFailure(`found '${this.peekLit()}', expected: identifier after ','`)
      }
    }
  }

  requirement(): Requirement {
    let operator: Operator | undefined
    let t = this.next(true)
    if (t === T_NOT) {
      operator = "!"
      t = this.next(true)
    }
    const key = this.lastLit()
    if (t !== T_ID) throw new ParseFailure(`found '${key}', expected: identifier`)
    // Kubernetes validates the key here with no field path, so the message says "<nil>".
    const keyErr = invalidKey("<nil>", key)
    if (keyErr !== undefined) throw new ParseFailure(keyErr)
    const la = this.peek(true)
    if (operator === undefined && (la === T_END || la === T_COMMA)) operator = "exists"
    if (operator === "exists" || operator === "!") return this.make(key, operator, [])
    const opTok = this.next(false)
    let op: Operator
    switch (opTok) {
      case T_IN:
        op = "in"
        break
      case T_EQUALS:
        op = "="
        break
      case T_DOUBLE_EQUALS:
        op = "=="
        break
      case T_GT:
        op = "gt"
        break
      case T_LT:
        op = "lt"
        break
      case T_NOT_IN:
        op = "notin"
        break
      case T_NOT_EQUALS:
        op = "!="
        break
      default:
        throw new ParseFailure(`found '${this.lastLit()}', expected: ${binaryOperators}`)
    }
    const values = op === "in" || op === "notin" ? this.valueSet() : this.exactValue()
    return this.make(key, op, [...values].sort(compareStrings))
  }

  make(key: string, op: Operator, values: ReadonlyArray<string>): Requirement {
    const r = makeRequirement(key, op, values)
    if (Result.isFailure(r)) throw new ParseFailure(r.failure.message)
    return r.success
  }

  valueSet(): Set<string> {
    if (this.next(true) !== T_OPEN) {
      throw new ParseFailure(`found '${this.lastLit()}' expected: '('`)
    }
    const t = this.peek(true)
    if (t === T_ID || t === T_COMMA) {
      const s = this.identifiers()
      this.next(true) // `identifiers` returns only with ')' next.
      return s
    }
    if (t === T_CLOSE) {
      this.next(true)
      return new Set([""])
    }
    throw new ParseFailure(`found '${this.peekLit()}', expected: ',', ')' or identifier`)
  }

  /** A comma-separated list of possibly empty identifiers, up to (not including) ')'. */
  identifiers(): Set<string> {
    const s = new Set<string>()
    for (;;) {
      const t = this.next(true)
      if (t === T_ID) {
        s.add(this.lastLit())
        const t2 = this.peek(true)
        if (t2 === T_COMMA) continue
        if (t2 === T_CLOSE) return s
        throw new ParseFailure(`found '${this.peekLit()}', expected: ',' or ')'`)
      }
      if (t === T_COMMA) {
        if (s.size === 0) s.add("") // "(,"
        const t2 = this.peek(true)
        if (t2 === T_CLOSE) {
          s.add("") // ",)"
          return s
        }
        if (t2 === T_COMMA) {
          this.next(true)
          s.add("") // ",,"
        }
        continue
      }
      throw new ParseFailure(`found '${this.lastLit()}', expected: ',', or identifier`)
    }
  }

  exactValue(): Set<string> {
    const t = this.peek(true)
    if (t === T_END || t === T_COMMA) return new Set([""])
    if (this.next(true) === T_ID) return new Set([this.lastLit()])
    throw new ParseFailure(`found '${this.lastLit()}', expected: identifier`)
  }
}

/**
 * Parses the string form (Kubernetes' `labels.Parse`): requirements separated by `,`, each
 * `key`, `!key`, `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`, `key>n` or
 * `key<n`. The empty string selects everything.
 */
export const parseSelector = (s: string): Result.Result<Selector, LabelSelectorError> => {
  try {
    return Result.succeed(Selector.fromRequirements(new Parser(s).parse()))
  } catch (e) {
    if (e instanceof ParseFailure) {
      return Result.fail(new LabelSelectorError({ message: e.message }))
    }
    throw e
  }
}
