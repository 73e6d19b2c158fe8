/**
 * Decoding and encoding of Kubernetes objects: JSON and multi-document YAML in,
 * typed objects out, and back. Decoding follows Go's JSON decoder where it
 * matters: `null` means absent, fields Go always emits default to their zero
 * values, and unknown fields are reported according to `fieldValidation`
 * (Strict: an error per unknown field; Warn: dropped with a warning each;
 * Ignore: dropped silently). Every problem names its field path and, for
 * text input, its line. Bad input never throws: every failure is a
 * `DecodeError`.
 */
import { Exit, Option, Result, Schema, type SchemaAST, type SchemaIssue } from "effect"
import {
  Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  parseDocument,
  visit,
  type Node as YamlNode,
} from "yaml"
import {
  type DuplicateField,
  duplicateFieldMessage,
  duplicateFields,
  duplicateKeys,
} from "./duplicates.ts"
import {
  aggregateMessage,
  badRequestStatus,
  child,
  errorBody,
  errorString,
  type FieldError,
  index,
  invalid,
  key,
  parseFieldPath,
  required,
  typeInvalid,
} from "./errors.ts"
import type { ObjectMeta, Status } from "./meta/v1.ts"
import { type KindInfo, type KindSchema, lookupKind, parseApiVersion } from "./registry.ts"
import { goYamlOptions } from "./yaml11.ts"

/** How unknown fields are treated, as the `fieldValidation` query parameter says. */
export type FieldValidation = "Strict" | "Warn" | "Ignore"

export interface DecodeOptions {
  /** Default `Warn`, the API server's default. */
  readonly fieldValidation?: FieldValidation
}

/** Any object of the model: what every kind has in common. */
export interface KubeObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata?: ObjectMeta
}

/**
 * One problem found while decoding. `reason` is a field error type,
 * `UnknownField`, `DuplicateField` (text input under Strict) or `SyntaxError`.
 */
export const DecodeProblem = Schema.Struct({
  reason: Schema.String,
  field: Schema.String,
  message: Schema.String,
  line: Schema.optionalKey(Schema.Number),
})
export interface DecodeProblem extends Schema.Schema.Type<typeof DecodeProblem> {}

/** Input that could not be decoded; `problems` lists every problem found. */
export class DecodeError extends Schema.TaggedError<DecodeError>()("DecodeError", {
  message: Schema.String,
  apiVersion: Schema.optionalKey(Schema.String),
  kind: Schema.optionalKey(Schema.String),
  name: Schema.optionalKey(Schema.String),
  /** The line where the document starts, for YAML input. */
  line: Schema.optionalKey(Schema.Number),
  problems: Schema.Array(DecodeProblem),
}) {}

/** A decoded value and the warnings decoding produced (unknown fields under `Warn`). */
export interface Decoded<A> {
  readonly value: A
  readonly warnings: ReadonlyArray<string>
}

/** A decoded object with the registry entry of its kind. */
export interface DecodedObject extends Decoded<KubeObject> {
  readonly info: KindInfo
}

// ---------------------------------------------------------------------------
// Input normalisation

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Go's decoder treats `null` as absent: drop null-valued keys, recursively.
 * Copy on write: an object or array is copied only when something under it
 * changes (a request body seldom holds a null), so the result shares the
 * input's unchanged parts, as the decoded value shares free-form JSON.
 */
const stripNulls = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) {
    let out: Array<unknown> | undefined
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i]
      const stripped = stripNulls(v)
      if (out === undefined && stripped !== v) out = value.slice(0, i)
      out?.push(stripped)
    }
    return out ?? value
  }
  const record = value as Record<string, unknown>
  let out: Record<string, unknown> | undefined
  for (const k in record) {
    if (!Object.hasOwn(record, k)) continue
    const v = record[k]
    if (v === null) {
      out ??= keysBefore(record, k)
      continue
    }
    const stripped = stripNulls(v)
    if (out === undefined) {
      if (stripped === v) continue
      out = keysBefore(record, k)
    }
    setOwn(out, k, stripped)
  }
  return out ?? value
}

/** A copy of `record`'s own keys before `key` (for-in order). */
const keysBefore = (record: Record<string, unknown>, key: string): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const k in record) {
    if (k === key) break
    if (Object.hasOwn(record, k)) setOwn(out, k, record[k])
  }
  return out
}

// ---------------------------------------------------------------------------
// Issues -> field errors

type Segment = string | number

interface RawProblem {
  readonly path: ReadonlyArray<Segment>
  readonly unknown: boolean
  readonly error: FieldError
}

const expectedOf = (ast: SchemaAST.AST): string => {
  const annotated = ast.annotations?.expected
  if (typeof annotated === "string") return annotated
  switch (ast._tag) {
    case "String":
      return "string"
    case "Number":
      return ast.checks?.some((check) => check.annotations?.expected === "an integer")
        ? "integer"
        : "number"
    case "Boolean":
      return "boolean"
    case "Objects":
      return "object"
    case "Arrays":
      return "array"
    case "Literal":
      return JSON.stringify(ast.literal)
    case "Union":
      return ast.types.map(expectedOf).join(" or ")
    default:
      return ast._tag.toLowerCase()
  }
}

const describeInput = (input: unknown): string =>
  input === null ? "null" : Array.isArray(input) ? "array" : typeof input

/** Whether `name` is a declared field of the struct `ast` (else it is a map key). */
const isField = (ast: SchemaAST.AST | undefined, name: string): boolean =>
  ast?._tag === "Objects" && ast.propertySignatures.some((ps) => ps.name === name)

/** A failed check's message: the filter's own, else the one its predicate returned. */
const filterMessage = (issue: SchemaIssue.Filter): string => {
  const annotations = issue.filter.annotations
  const own = annotations?.message
  if (typeof own === "string") return own
  const inner = issue.issue._tag === "InvalidValue" ? issue.issue.annotations?.message : undefined
  if (typeof inner === "string") return inner
  const expected = annotations?.expected
  return typeof expected === "string" ? expected : "invalid value"
}

const collect = (
  issue: SchemaIssue.Issue,
  path: ReadonlyArray<Segment>,
  field: string,
  container: SchemaAST.AST | undefined,
  out: Array<RawProblem>,
): void => {
  const input = "input" in issue ? issue.input : undefined
  switch (issue._tag) {
    case "Pointer": {
      let p = path
      let f = field
      // An unexpected key is a field name by definition; other string segments
      // are fields when the struct declares them and map keys otherwise.
      const unexpected = issue.issue._tag === "UnexpectedKey"
      for (const segment of issue.path) {
        if (typeof segment === "number") {
          p = [...p, segment]
          f = index(f, segment)
        } else {
          const name = String(segment)
          p = [...p, name]
          f = unexpected || isField(container, name) ? child(f, name) : key(f, name)
        }
      }
      collect(issue.issue, p, f, undefined, out)
      return
    }
    case "Composite":
      for (const inner of issue.issues) collect(inner, path, field, issue.ast, out)
      return
    case "Encoding":
      collect(issue.issue, path, field, container, out)
      return
    case "Filter":
      out.push({ path, unknown: false, error: invalid(field, issue.input, filterMessage(issue)) })
      return
    case "UnexpectedKey":
      out.push({ path, unknown: true, error: { type: "FieldValueNotFound", field, detail: "" } })
      return
    case "MissingKey":
      out.push({ path, unknown: false, error: required(field) })
      return
    case "InvalidType":
      out.push({
        path,
        unknown: false,
        error: typeInvalid(
          field,
          input,
          `expected ${expectedOf(issue.ast)}, got ${describeInput(input)}`,
        ),
      })
      return
    case "AnyOf":
      out.push({
        path,
        unknown: false,
        error: typeInvalid(
          field,
          input,
          `expected ${expectedOf(issue.ast)}, got ${describeInput(input)}`,
        ),
      })
      return
    case "InvalidValue": {
      const message = issue.annotations?.message
      out.push({
        path,
        unknown: false,
        error: invalid(field, input, typeof message === "string" ? message : "invalid value"),
      })
      return
    }
    case "OneOf":
    case "Forbidden":
      out.push({ path, unknown: false, error: invalid(field, input, "invalid value") })
      return
  }
}

const unknownFieldMessage = (field: string): string => `unknown field ${JSON.stringify(field)}`

// ---------------------------------------------------------------------------
// Locating paths in YAML

/** Maps a path in a document's value to a 1-based line of the source text. */
export type Locate = (path: ReadonlyArray<Segment>, atKey: boolean) => number | undefined

const yamlLocator = (doc: Document, lines: LineCounter): Locate => {
  const lineOf = (node: unknown): number | undefined => {
    const range = (node as { range?: [number, number, number] } | null)?.range
    return range === undefined ? undefined : lines.linePos(range[0]).line
  }
  const resolve = (node: unknown): unknown =>
    isAlias(node) ? node.resolve(doc as Document.Parsed) : node
  return (path, atKey) => {
    let node: unknown = resolve(doc.contents)
    let line = lineOf(node)
    for (let i = 0; i < path.length; i++) {
      const segment = path[i]
      const last = i === path.length - 1
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isScalar(item.key) && String(item.key.value) === String(segment),
        )
        if (pair === undefined) return line
        if (last && atKey) return lineOf(pair.key) ?? line
        const value = resolve(pair.value)
        if (value === null || value === undefined) return lineOf(pair.key) ?? line
        node = value
      } else if (isSeq(node) && typeof segment === "number") {
        const item = resolve(node.items[segment])
        if (item === undefined || item === null) return line
        node = item
      } else {
        return line
      }
      line = lineOf(node) ?? line
    }
    return line
  }
}

// ---------------------------------------------------------------------------
// Decoding

const parseOptions = {
  errors: "all",
  onExcessProperty: "error",
  reportInput: true,
} as const
const quickOptions = { onExcessProperty: "error" } as const

// ---------------------------------------------------------------------------
// Compiled decoding
//
// Effect's Schema parser interprets the AST and builds an Effect per struct
// once unknown keys are errors: about 40 µs for a small Pod on a warm server,
// the largest cost of a write. Each schema is compiled here once into plain
// functions that decode what Effect would decode, the same way: a node with
// an encoding is parsed as its encoded side, run back through each
// transformation's decode, then parsed as itself with its checks; structs
// take their declared keys in declaration order (absent keys reach the
// property's decoder as missing, so decoding defaults apply), refuse any
// other key, and records take the rest; unions take the first member that
// decodes. A compiled decoder answers only for input that decodes: anything
// else (invalid input, a construct it does not run) answers `unanswered`,
// and the Effect parser decides, with its issues and so every error message
// exactly as before. `test/codec-compiled.test.ts` holds the two to the same
// answers over generated and mutated objects of every kind.

/** The compiled path cannot answer: the Effect parser decides. */
const unanswered: unique symbol = Symbol("unanswered")
/** An absent key, as it flows into a property's decoder. */
const absent: unique symbol = Symbol("absent")
type Compiled = (input: unknown) => unknown

type Check = NonNullable<SchemaAST.AST["checks"]>[number]
const passes = (checks: ReadonlyArray<Check>, value: unknown, ast: SchemaAST.AST): boolean => {
  for (const check of checks) {
    if (check._tag === "FilterGroup") {
      if (!passes(check.checks, value, ast)) return false
    } else if (check.run(value, ast, quickOptions) !== undefined) {
      return false
    }
  }
  return true
}

/** The success of an Effect that is already an Exit, or `unanswered`. */
const exitValue = (effect: unknown): unknown =>
  Exit.isExit(effect) && Exit.isSuccess(effect) ? effect.value : unanswered

const toOption = (value: unknown): Option.Option<unknown> =>
  value === absent ? Option.none() : Option.some(value)
const fromOption = (option: unknown): unknown =>
  Option.isOption(option) ? (Option.isSome(option) ? option.value : absent) : unanswered

type Link = NonNullable<SchemaAST.AST["encoding"]>[number]

/** A transformation's decode, or undefined when it cannot be run here (middleware). */
const compileTransformation = (link: Link): Compiled | undefined => {
  const transformation = link.transformation
  if (transformation._tag !== "Transformation") return undefined
  const getter = transformation.decode
  switch (getter._tag) {
    case "Passthrough":
      return (value) => value
    case "Transform":
      return (value) => (value === absent ? absent : getter.transform(value))
    case "TransformOptional":
      return (value) => fromOption(getter.transform(toOption(value)))
    case "TransformEffect":
      return (value) =>
        value === absent ? absent : exitValue(getter.transform(value, quickOptions))
    case "TransformOptionalEffect":
      return (value) => {
        const option = exitValue(getter.transform(toOption(value), quickOptions))
        return option === unanswered ? unanswered : fromOption(option)
      }
    default:
      return undefined
  }
}

/** `sameExit`, Effect's answer for a value that decodes to itself, as a declaration returns it. */
const jsonAst = Schema.Json.ast as SchemaAST.Declaration
const sameExit: unknown = jsonAst.run([])(0, jsonAst, quickOptions)

const jsonRun = jsonAst.run

// `Schema.Json` (managedFields' `fieldsV1`) checks its value with Effect's
// general tree walk (a WeakMap and a frame per node, for cycles and shared
// nodes): a fifth of an update body's decoding. Here plain recursion accepts
// a subset of what that walk accepts (plain objects and arrays, finite
// numbers, strings, booleans, null); anything deeper than `jsonMaxDepth`
// (cycles included) or larger than `jsonMaxNodes` (shared nodes are visited
// once per path) is left to the Effect parser, so no answer changes.
const jsonMaxDepth = 100
const jsonMaxNodes = 1_000_000
let jsonNodes = 0
const isPlainJson = (value: unknown, depth: number): boolean => {
  if (typeof value !== "object") {
    return (
      typeof value === "string" ||
      typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value))
    )
  }
  if (value === null) return true
  if (depth >= jsonMaxDepth || ++jsonNodes > jsonMaxNodes) return false
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false
    return true
  }
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) return false
  const record = value as Record<string, unknown>
  for (const k in record)
    if (Object.hasOwn(record, k) && !isPlainJson(record[k], depth + 1)) return false
  return true
}

const isRecordInput = (input: unknown): input is Record<string, unknown> =>
  typeof input === "object" && input !== null && !Array.isArray(input)

/** Effect's test for a declared key: own for `__proto__`, else `in`. */
const hasKey = (record: object, key: string): boolean =>
  key === "__proto__" ? Object.hasOwn(record, key) : key in record

const setOwn = (out: Record<string, unknown>, key: string, value: unknown): void => {
  if (key === "__proto__")
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  else out[key] = value
}

const compiledCache = new WeakMap<SchemaAST.AST, Compiled | null>()

/** The compiled decoder of an AST, or undefined when it holds a construct compiled here cannot run. */
const compile = (ast: SchemaAST.AST): Compiled | undefined => {
  const cached = compiledCache.get(ast)
  if (cached !== undefined) return cached ?? undefined
  // A placeholder breaks cycles through suspended schemas (resolved lazily below).
  compiledCache.set(ast, null)
  const compiled = compileNode(ast)
  compiledCache.set(ast, compiled ?? null)
  return compiled
}

const compileNode = (ast: SchemaAST.AST): Compiled | undefined => {
  if ((ast as { encodingChecks?: unknown }).encodingChecks !== undefined) return undefined
  const local = compileLocal(ast)
  if (local === undefined) return undefined
  const checks = ast.checks
  const checked: Compiled =
    checks === undefined
      ? local
      : (input) => {
          const value = local(input)
          if (value === unanswered || value === absent) return value
          return passes(checks, value, ast) ? value : unanswered
        }
  const links = ast.encoding
  if (links === undefined) return checked
  const encoded: Array<Compiled> = []
  const transforms: Array<Compiled> = []
  for (const link of links) {
    const parse = compile(link.to)
    const transform = compileTransformation(link)
    if (parse === undefined || transform === undefined) return undefined
    encoded.push(parse)
    transforms.push(transform)
  }
  const last = links.length - 1
  return (input) => {
    let value = (encoded[last] as Compiled)(input)
    for (let i = last; i >= 0; i--) {
      if (value === unanswered) return unanswered
      value = (transforms[i] as Compiled)(value)
      if (value === unanswered) return unanswered
      if (i !== 0) value = (encoded[i - 1] as Compiled)(value)
    }
    return checked(value)
  }
}

const refinement =
  (test: (input: unknown) => boolean): Compiled =>
  (input) =>
    input === absent ? absent : test(input) ? input : unanswered

const compileLocal = (ast: SchemaAST.AST): Compiled | undefined => {
  switch (ast._tag) {
    case "String":
      return refinement((input) => typeof input === "string")
    case "Number":
      return refinement((input) => typeof input === "number")
    case "Boolean":
      return refinement((input) => typeof input === "boolean")
    case "Literal": {
      const literal = ast.literal
      return refinement((input) => input === literal)
    }
    case "Declaration": {
      if (ast.typeParameters.length > 0) return undefined
      if (ast.run === jsonRun) {
        return (input) => {
          if (input === absent) return absent
          jsonNodes = 0
          return isPlainJson(input, 0) ? input : unanswered
        }
      }
      const run = ast.run(ast.typeParameters)
      return (input) => {
        if (input === absent) return absent
        const result = run(input, ast, quickOptions)
        return result === sameExit ? input : unanswered
      }
    }
    case "Suspend": {
      let inner: Compiled | undefined
      return (input) => {
        inner ??= compile(ast.thunk()) ?? (() => unanswered)
        return inner(input)
      }
    }
    case "Arrays": {
      if (ast.elements.length !== 0 || ast.rest.length !== 1) return undefined
      const item = compile(ast.rest[0] as SchemaAST.AST)
      if (item === undefined) return undefined
      return (input) => {
        if (input === absent) return absent
        if (!Array.isArray(input)) return unanswered
        const out = new Array<unknown>(input.length)
        for (let i = 0; i < input.length; i++) {
          const value = item(input[i])
          if (value === unanswered || value === absent) return unanswered
          out[i] = value
        }
        return out
      }
    }
    case "Union": {
      if (ast.options?.mode === "oneOf") return undefined
      const members: Array<Compiled> = []
      for (const member of ast.types) {
        const compiled = compile(member)
        if (compiled === undefined) return undefined
        members.push(compiled)
      }
      return (input) => {
        if (input === absent) return absent
        for (const member of members) {
          const value = member(input)
          if (value !== unanswered) return value
        }
        return unanswered
      }
    }
    case "Objects":
      return compileObjects(ast)
    default:
      return undefined
  }
}

/**
 * Whether the compiled decoder of `ast` answers `absent` to `absent`, as
 * read off the AST (no call): every node does unless a transformation on its
 * way may make a value of nothing (an optional transformation: decoding
 * defaults) or a suspended schema hides what it is. A struct need not call
 * the decoder of such a key when the key is absent.
 */
const keepsAbsent = (ast: SchemaAST.AST): boolean => {
  if (ast._tag === "Suspend") return false
  for (const link of ast.encoding ?? []) {
    const transformation = link.transformation
    if (transformation._tag !== "Transformation") return false
    const tag = transformation.decode._tag
    if (tag !== "Passthrough" && tag !== "Transform" && tag !== "TransformEffect") return false
    if (!keepsAbsent(link.to)) return false
  }
  return true
}

/** What a struct does with an absent key: decode it (a default may apply), skip it, or give up. */
const decodeAbsent = 0
const skipAbsent = 1
const refuseAbsent = 2

type Rest = (input: Record<string, unknown>, out: Record<string, unknown>) => unknown

/**
 * A struct's decoder as straight-line code, one statement per declared key,
 * doing what the loop in `compileObjects` does: each key's test, load and
 * store name the key literally, so V8 keeps an inline cache per key of each
 * struct instead of one generic keyed access shared by every struct, and
 * builds every output of a struct with the same hidden class. Names are
 * written as JSON string literals (the code is made from the schema alone,
 * never from input); `__proto__`, which `in` and assignment treat
 * specially, keeps the loop.
 */
const generateStruct = (
  names: ReadonlyArray<string>,
  decoders: ReadonlyArray<Compiled>,
  optional: ReadonlyArray<boolean>,
  onAbsent: ReadonlyArray<number>,
  rest: Rest,
): Compiled | undefined => {
  if (names.includes("__proto__")) return undefined
  const lines = [
    "return function decodeStruct(input) {",
    "if (input === A) return A",
    "if (!isRecord(input)) return U",
    "const out = {}",
    "let v",
  ]
  names.forEach((name, i) => {
    const key = JSON.stringify(name)
    const keep = `if (v === U) return U; if (v !== A) out[${key}] = v;${optional[i] ? "" : " else return U;"}`
    const whenAbsent =
      onAbsent[i] === skipAbsent
        ? ""
        : onAbsent[i] === refuseAbsent
          ? " else return U;"
          : ` else { v = d[${i}](A); ${keep} }`
    lines.push(`if (${key} in input) { v = d[${i}](input[${key}]); ${keep} }${whenAbsent}`)
  })
  lines.push("return rest(input, out)", "}")
  const make = new Function("d", "U", "A", "isRecord", "rest", lines.join("\n")) as (
    ...args: ReadonlyArray<unknown>
  ) => Compiled
  return make(decoders, unanswered, absent, isRecordInput, rest)
}

const compileObjects = (ast: SchemaAST.Objects): Compiled | undefined => {
  const { propertySignatures, indexSignatures } = ast
  // An empty struct accepts anything but null and undefined, as it is.
  if (propertySignatures.length === 0 && indexSignatures.length === 0)
    return refinement((input) => input !== null && input !== undefined)
  if (indexSignatures.length > 1) return undefined
  const index = indexSignatures[0]
  if (
    index !== undefined &&
    (index.parameter._tag !== "String" ||
      index.parameter.checks !== undefined ||
      index.parameter.encoding !== undefined)
  )
    return undefined
  const names: Array<string> = []
  const decoders: Array<Compiled> = []
  const optional: Array<boolean> = []
  // Most declared keys are absent from most inputs (a pod update body: 138
  // of 227); when the key's decoder keeps `absent`, its answer is known.
  const onAbsent: Array<number> = []
  for (const ps of propertySignatures) {
    if (typeof ps.name !== "string") return undefined
    const decoder = compile(ps.type)
    if (decoder === undefined) return undefined
    const isOptional = ps.type.context?.isOptional === true
    names.push(ps.name)
    decoders.push(decoder)
    optional.push(isOptional)
    onAbsent.push(!keepsAbsent(ps.type) ? decodeAbsent : isOptional ? skipAbsent : refuseAbsent)
  }
  const declared = new Set(names)
  const value = index === undefined ? undefined : compile(index.type)
  if (index !== undefined && value === undefined) return undefined
  /** After the declared keys: any other key is refused, or taken by the record. */
  const rest: Rest =
    value === undefined
      ? (input, out) => {
          // Unknown keys are errors (Strict) or warnings (Warn): the Effect parser reports them.
          for (const key in input)
            if (Object.hasOwn(input, key) && !declared.has(key)) return unanswered
          return out
        }
      : (input, out) => {
          for (const key in input) {
            if (!Object.hasOwn(input, key)) continue
            const decoded = value(input[key])
            if (decoded === unanswered || decoded === absent) return unanswered
            if (!declared.has(key)) setOwn(out, key, decoded)
          }
          return out
        }
  const generated = generateStruct(names, decoders, optional, onAbsent, rest)
  if (generated !== undefined) return generated
  return (input) => {
    if (input === absent) return absent
    if (!isRecordInput(input)) return unanswered
    const out: Record<string, unknown> = {}
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string
      const present = hasKey(input, name)
      if (!present && onAbsent[i] !== decodeAbsent) {
        if (onAbsent[i] === skipAbsent) continue
        return unanswered
      }
      const decoded = (decoders[i] as Compiled)(present ? input[name] : absent)
      if (decoded === unanswered) return unanswered
      if (decoded === absent) {
        if (!optional[i]) return unanswered
      } else {
        setOwn(out, name, decoded)
      }
    }
    return rest(input, out)
  }
}

/**
 * Decodes `input` with a schema by its compiled decoder: the decoded value,
 * or undefined when the compiled path cannot answer (the input does not
 * decode, or the schema holds a construct it does not run) and the Effect
 * parser must decide. Exported for the tests that hold it to the parser.
 */
export const decodeCompiled = <A>(
  schema: Schema.Codec<A, unknown>,
  input: unknown,
): { readonly value: A } | undefined => {
  const compiled = compile(schema.ast)
  if (compiled === undefined) return undefined
  let value: unknown
  try {
    value = compiled(input)
  } catch {
    return undefined
  }
  return value === unanswered || value === absent ? undefined : { value: value as A }
}

interface Context {
  readonly apiVersion?: string
  readonly kind?: string
  readonly name?: string
  readonly line?: number
}

const makeError = (
  context: Context,
  message: string,
  problems: ReadonlyArray<DecodeProblem>,
): DecodeError =>
  new DecodeError({
    message,
    ...(context.apiVersion === undefined ? {} : { apiVersion: context.apiVersion }),
    ...(context.kind === undefined ? {} : { kind: context.kind }),
    ...(context.name === undefined ? {} : { name: context.name }),
    ...(context.line === undefined ? {} : { line: context.line }),
    problems,
  })

const problemOf = (
  error: FieldError,
  line: number | undefined,
  reason: string = error.type,
  message: string = errorBody(error),
): DecodeProblem => ({
  reason,
  field: error.field,
  message,
  ...(line === undefined ? {} : { line }),
})

/** The text of one problem as it appears in messages: `field: message`. */
export const problemString = (problem: DecodeProblem): string =>
  problem.field === "" ? problem.message : `${problem.field}: ${problem.message}`

const runDecode = <A>(
  schema: Schema.Codec<A, unknown>,
  input: unknown,
  prefix: ReadonlyArray<Segment>,
  fieldPrefix: string,
  options: DecodeOptions | undefined,
  context: Context,
  locate: Locate | undefined,
): Result.Result<Decoded<A>, DecodeError> => {
  const compiled = decodeCompiled(schema, input)
  if (compiled !== undefined) return Result.succeed({ value: compiled.value, warnings: [] })
  const decode = Schema.decodeUnknownResult(schema)
  // Fast path: stop at the first problem (about twice as fast as collecting
  // all of them); only a failing input pays for the full report below.
  const quick = decode(input, quickOptions)
  if (Result.isSuccess(quick)) return Result.succeed({ value: quick.success, warnings: [] })
  const first = decode(input, parseOptions)
  if (Result.isSuccess(first)) return Result.succeed({ value: first.success, warnings: [] })

  const raw: Array<RawProblem> = []
  collect(first.failure.issue, prefix, fieldPrefix, undefined, raw)
  const mode = options?.fieldValidation ?? "Warn"
  const errors = raw.filter((p) => !p.unknown)
  const unknown = raw.filter((p) => p.unknown)
  const lineOf = (p: RawProblem) => locate?.(p.path, p.unknown)

  if (errors.length > 0 || (mode === "Strict" && unknown.length > 0)) {
    const problems = [
      ...errors.map((p) => problemOf(p.error, lineOf(p))),
      ...(mode === "Strict"
        ? unknown.map((p) =>
            problemOf(p.error, lineOf(p), "UnknownField", unknownFieldMessage(p.error.field)),
          )
        : []),
    ]
    const message =
      errors.length === 0
        ? `strict decoding error: ${problems.map((p) => p.message).join(", ")}`
        : `${context.kind ?? "object"} in version ${JSON.stringify(
            context.apiVersion ?? "",
          )} cannot be handled as a ${context.kind ?? "object"}: ${aggregateMessage(
            errors.map((p) => errorString(p.error)),
          )}`
    return Result.fail(makeError(context, message, problems))
  }

  // Only unknown fields, and they are to be dropped: decode ignoring them.
  const second = decode(input, { errors: "all", onExcessProperty: "ignore" })
  if (Result.isFailure(second)) {
    return Result.fail(makeError(context, "decoding failed", []))
  }
  const warnings = mode === "Warn" ? unknown.map((p) => unknownFieldMessage(p.error.field)) : []
  return Result.succeed({ value: second.success, warnings })
}

/** Runs `f`, turning any exception (a stack overflow on absurd nesting, say) into a DecodeError. */
const guard = <A>(
  context: Context,
  f: () => Result.Result<A, DecodeError>,
): Result.Result<A, DecodeError> => {
  try {
    return f()
  } catch (cause) {
    const message = `cannot decode: ${cause instanceof Error ? cause.message : String(cause)}`
    return Result.fail(
      makeError(context, message, [{ reason: "InternalError", field: "", message }]),
    )
  }
}

/**
 * Decodes a value with one schema of the model (the API server knows the
 * kind from the URL; `DeleteOptions` bodies; ...). `null`s are dropped first.
 */
export const decodeWith = <A>(
  schema: Schema.Codec<A, unknown>,
  input: unknown,
  options?: DecodeOptions,
): Result.Result<Decoded<A>, DecodeError> =>
  guard({}, () => runDecode(schema, stripNulls(input), [], "", options, {}, undefined))

const decodeValue = (
  input: unknown,
  prefix: ReadonlyArray<Segment>,
  fieldPrefix: string,
  options: DecodeOptions | undefined,
  locate: Locate | undefined,
  documentLine: number | undefined,
): Result.Result<DecodedObject, DecodeError> => {
  const base: Context = documentLine === undefined ? {} : { line: documentLine }
  const at = (segment: string) => (fieldPrefix === "" ? segment : child(fieldPrefix, segment))
  const lineAt = (segments: ReadonlyArray<Segment>, atKey: boolean) =>
    locate?.([...prefix, ...segments], atKey)
  if (!isRecord(input)) {
    const message = `expected a Kubernetes object (a mapping with apiVersion and kind), got ${describeInput(input)}`
    return Result.fail(
      makeError(base, message, [
        {
          reason: "FieldValueTypeInvalid",
          field: fieldPrefix,
          message,
          ...(lineAt([], false) === undefined ? {} : { line: lineAt([], false) as number }),
        },
      ]),
    )
  }
  const value = stripNulls(input) as Record<string, unknown>
  const metadata = value.metadata
  const name = isRecord(metadata) && typeof metadata.name === "string" ? metadata.name : undefined
  const apiVersion = typeof value.apiVersion === "string" ? value.apiVersion : undefined
  const kind = typeof value.kind === "string" ? value.kind : undefined
  const context: Context = {
    ...base,
    ...(apiVersion === undefined ? {} : { apiVersion }),
    ...(kind === undefined ? {} : { kind }),
    ...(name === undefined ? {} : { name }),
  }
  const missing: Array<DecodeProblem> = []
  for (const [fieldName, present] of [
    ["apiVersion", apiVersion],
    ["kind", kind],
  ] as const) {
    if (present !== undefined && present !== "") continue
    const line = lineAt([fieldName], true) ?? lineAt([], false)
    const error =
      value[fieldName] === undefined || value[fieldName] === ""
        ? required(at(fieldName))
        : typeInvalid(at(fieldName), value[fieldName], "expected string")
    missing.push(problemOf(error, line))
  }
  if (missing.length > 0 || apiVersion === undefined || kind === undefined) {
    const message = `Object 'Kind' or 'apiVersion' is missing: ${aggregateMessage(missing.map(problemString))}`
    return Result.fail(makeError(context, message, missing))
  }
  const info = lookupKind(apiVersion, kind)
  if (info === undefined) {
    const { group } = parseApiVersion(apiVersion)
    const message = `no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)}`
    const line = lineAt(["kind"], false)
    return Result.fail(
      makeError(context, message, [
        {
          reason: "FieldValueNotSupported",
          field: at("kind"),
          message: group === "" && apiVersion !== "v1" ? `${message} (unknown version)` : message,
          ...(line === undefined ? {} : { line }),
        },
      ]),
    )
  }
  return Result.map(
    runDecode(info.schema, value, prefix, fieldPrefix, options, context, locate),
    (decoded): DecodedObject => ({ ...decoded, value: decoded.value as KubeObject, info }),
  )
}

/**
 * Reads JSON that `encode` produced (objects read back from storage): encoded
 * objects already have every required field and string quantities, so their
 * encoded form is their decoded form and parsing is enough. Never use it for
 * input from clients; use `decodeJson` or `decodeObject` there.
 */
export const decodeTrusted = (text: string): KubeObject => JSON.parse(text) as KubeObject

/** Decodes an already-parsed value (e.g. a JSON request body) by its `apiVersion` and `kind`. */
export const decodeObject = (
  input: unknown,
  options?: DecodeOptions,
): Result.Result<DecodedObject, DecodeError> =>
  guard({}, () => decodeValue(input, [], "", options, undefined, undefined))

const syntaxError = (message: string, line: number | undefined): DecodeError =>
  makeError(line === undefined ? {} : { line }, message, [
    { reason: "SyntaxError", field: "", message, ...(line === undefined ? {} : { line }) },
  ])

/**
 * Decodes one JSON document. On failure the problems carry lines, found by
 * re-reading the text (JSON is YAML) only then, so the common path stays fast.
 */
export const decodeJson = (
  text: string,
  options?: DecodeOptions,
): Result.Result<DecodedObject, DecodeError> =>
  guard({}, () => {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (cause) {
      return Result.fail(
        syntaxError(
          `json parse error: ${cause instanceof Error ? cause.message : String(cause)}`,
          undefined,
        ),
      )
    }
    const mode = options?.fieldValidation ?? "Warn"
    const duplicates = mode === "Ignore" ? [] : duplicateFields(text, parsed)
    const fast = decodeValue(parsed, [], "", options, undefined, undefined)
    if (Result.isSuccess(fast) && duplicates.length === 0) return fast
    const decoded = Result.isSuccess(fast)
      ? fast
      : (() => {
          const lines = new LineCounter()
          const doc = parseDocument(text, { lineCounter: lines, ...goYamlOptions })
          return decodeValue(parsed, [], "", options, yamlLocator(doc, lines), undefined)
        })()
    return withDuplicates(decoded, duplicates, mode)
  })

/**
 * Adds duplicate keys to a decoding's outcome as Kubernetes' strict decoder
 * does: warnings under `Warn`; under `Strict`, errors beside any others (a
 * `strict decoding error` when they are the only problems).
 */
const withDuplicates = (
  decoded: Result.Result<DecodedObject, DecodeError>,
  duplicates: ReadonlyArray<DuplicateField>,
  mode: FieldValidation,
): Result.Result<DecodedObject, DecodeError> => {
  if (duplicates.length === 0) return decoded
  if (mode === "Warn") {
    return Result.map(decoded, (d) => ({
      ...d,
      warnings: [...duplicates.map((f) => duplicateFieldMessage(f.field)), ...d.warnings],
    }))
  }
  const problems: Array<DecodeProblem> = duplicates.map((f) => ({
    reason: "DuplicateField",
    field: f.field,
    message: duplicateFieldMessage(f.field),
    line: f.line,
  }))
  if (Result.isFailure(decoded)) {
    const error = decoded.failure
    const strictOnly = error.problems.every((p) => p.reason === "UnknownField")
    // In text order, as Kubernetes' decoder meets them.
    const all = [...problems, ...error.problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
    return Result.fail(
      new DecodeError({
        ...error,
        message: strictOnly
          ? `strict decoding error: ${all.map((p) => p.message).join(", ")}`
          : error.message,
        problems: all,
      }),
    )
  }
  const value = decoded.success.value
  return Result.fail(
    new DecodeError({
      message: `strict decoding error: ${problems.map((p) => p.message).join(", ")}`,
      apiVersion: value.apiVersion,
      kind: value.kind,
      ...(value.metadata?.name === undefined ? {} : { name: value.metadata.name }),
      problems,
    }),
  )
}

/** One document of a YAML stream: its position, its first line and its result. */
export interface YamlDocument {
  readonly index: number
  /** 1-based line where the document's content starts. */
  readonly line: number
  readonly result: Result.Result<DecodedObject, DecodeError>
  /**
   * The line of a field of this document, given as a rendered field path
   * (`spec.template.spec.containers[0].name`): the field's own line when it is
   * in the source, else its nearest ancestor's.
   */
  readonly locate: (field: string) => number
}

/**
 * Decodes a multi-document YAML stream (JSON is YAML too) with the scalar
 * rules kubectl and the API server use (YAML 1.1 as go-yaml v2 reads it:
 * `yes`/`on` booleans, `0644` octal, `<<` merge keys; see `yaml11.ts`). Empty documents
 * are skipped; a `kind: List` document yields one result per item. Syntax
 * errors are reported per document with their line; repeated keys as in
 * `decodeJson` (an error under Strict, a warning under Warn).
 */

/** The parser ran out of stack: nesting deeper than it can follow. */
const stackExhausted = (message: string): boolean =>
  /Maximum call stack size exceeded|Stack overflow|too much recursion/i.test(message)

/** A YAML error's first line, or for an exhausted stack what it means (as go-yaml's "exceeded max depth"). */
const yamlReason = (message: string): string =>
  stackExhausted(message)
    ? "exceeded max depth (nesting deeper than the parser can follow)"
    : (message.split("\n")[0] ?? "")

export const decodeYaml = (text: string, options?: DecodeOptions): ReadonlyArray<YamlDocument> => {
  const mode = options?.fieldValidation ?? "Warn"
  const lines = new LineCounter()
  let docs: ReturnType<typeof parseAllDocuments>
  try {
    // Repeated keys are not a syntax error: they are found below and reported
    // by fieldValidation, as Kubernetes' strict decoder does (the last one wins).
    docs = parseAllDocuments(text, {
      lineCounter: lines,
      prettyErrors: false,
      uniqueKeys: false,
      ...goYamlOptions,
    })
  } catch (cause) {
    return [
      {
        index: 0,
        line: 1,
        result: Result.fail(
          syntaxError(
            `yaml: ${yamlReason(cause instanceof Error ? cause.message : String(cause))}`,
            1,
          ),
        ),
        locate: () => 1,
      },
    ]
  }
  const list = Array.isArray(docs) ? docs : []
  const out: Array<YamlDocument> = []
  const nowhere = (line: number) => () => line
  list.forEach((doc, docIndex) => {
    const contents = doc.contents as YamlNode | null
    const startOffset = contents?.range?.[0] ?? doc.range?.[0] ?? 0
    const line = lines.linePos(startOffset).line
    if (doc.errors.length > 0) {
      let tooDeep = false
      for (const error of doc.errors) {
        // Running out of stack surfaces as several errors (RangeError, a regex's
        // "Stack overflow"); one problem says what it means.
        if (stackExhausted(error.message)) {
          if (tooDeep) continue
          tooDeep = true
        }
        // An error at the end of the input points at the last line with content.
        const offset = Math.min(error.pos[0], Math.max(0, text.trimEnd().length - 1))
        const errorLine = lines.linePos(offset).line
        out.push({
          index: docIndex,
          line: errorLine,
          result: Result.fail(syntaxError(`yaml: ${yamlReason(error.message)}`, errorLine)),
          locate: nowhere(errorLine),
        })
      }
      return
    }
    if (contents === null || (isScalar(contents) && contents.value === null)) return
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: 100 })
    } catch (cause) {
      out.push({
        index: docIndex,
        line,
        result: Result.fail(
          syntaxError(
            `yaml: ${yamlReason(cause instanceof Error ? cause.message : String(cause))}`,
            line,
          ),
        ),
        locate: nowhere(line),
      })
      return
    }
    const locate = yamlLocator(doc, lines)
    const duplicates = mode === "Ignore" ? [] : duplicateKeys(contents, lines)
    const locateField =
      (prefix: ReadonlyArray<Segment>, fallback: number) =>
      (field: string): number =>
        locate([...prefix, ...parseFieldPath(field)], false) ?? fallback
    if (isRecord(value) && value.kind === "List" && Array.isArray(value.items)) {
      value.items.forEach((item, i) => {
        // An item gets its own repeated keys; the List's own ones go to its first item.
        const prefix = `items[${i}]`
        const own = duplicates.filter(
          (d) =>
            d.field === prefix ||
            d.field.startsWith(`${prefix}.`) ||
            d.field.startsWith(`${prefix}[`) ||
            (i === 0 && !d.field.startsWith("items[")),
        )
        out.push({
          index: docIndex,
          line: locate(["items", i], false) ?? line,
          result: withDuplicates(
            guard({ line }, () => decodeValue(item, ["items", i], prefix, options, locate, line)),
            own,
            mode,
          ),
          locate: locateField(["items", i], line),
        })
      })
      return
    }
    out.push({
      index: docIndex,
      line,
      result: withDuplicates(
        guard({ line }, () => decodeValue(value, [], "", options, locate, line)),
        duplicates,
        mode,
      ),
      locate: locateField([], line),
    })
  })
  return out
}

/** The 400 `Status` an API server answers for a body that cannot be decoded. */
export const decodeErrorStatus = (error: DecodeError): Status =>
  badRequestStatus(
    error.message,
    error.problems.map((p) => ({ reason: p.reason, message: p.message, field: p.field })),
  )

// ---------------------------------------------------------------------------
// Encoding

/** An object that cannot be encoded: its kind is unknown or a field breaks its schema. */
export class EncodeError extends Schema.TaggedError<EncodeError>()("EncodeError", {
  message: Schema.String,
}) {}

/**
 * Encodes an object to Kubernetes' JSON shape (a plain JSON value), choosing
 * the schema by its `apiVersion` and `kind`. Field order follows Go's structs.
 */
export const encode = (object: KubeObject): Result.Result<unknown, EncodeError> => {
  const info = lookupKind(object.apiVersion, object.kind)
  if (info === undefined) {
    return Result.fail(
      new EncodeError({
        message: `no kind ${JSON.stringify(object.kind)} is registered for version ${JSON.stringify(object.apiVersion)}`,
      }),
    )
  }
  return encodeWith(info.schema, object)
}

/** Encodes a value with a given schema of the model. */
export const encodeWith = <A>(
  schema: Schema.Codec<A, unknown>,
  value: A,
): Result.Result<unknown, EncodeError> =>
  Result.mapError(
    Schema.encodeUnknownResult(schema)(value, { errors: "all" }),
    (error) => new EncodeError({ message: error.message }),
  )

/** JSON text of an object, as Kubernetes serves it. */
export const encodeJson = (object: KubeObject): Result.Result<string, EncodeError> =>
  Result.map(encode(object), (json) => JSON.stringify(json))

/** A YAML stream of objects, separated by `---`. */
export const encodeYaml = (
  objects: ReadonlyArray<KubeObject>,
): Result.Result<string, EncodeError> => {
  const parts: Array<string> = []
  for (const object of objects) {
    const json = encode(object)
    if (Result.isFailure(json)) return Result.fail(json.failure)
    // With go-yaml's scalars, strings such as "yes" or "0644" are quoted: kubectl reads them back as strings.
    // A key `<<` is quoted too: plain, YAML 1.1 reads it as a merge key (a resource named `<<`, say).
    const options = { lineWidth: 0, indentSeq: false, ...goYamlOptions, merge: false } as const
    const doc = new Document(json.success, options)
    visit(doc, {
      Pair: (_, pair) => {
        if (isScalar(pair.key) && pair.key.value === "<<") pair.key.type = "QUOTE_DOUBLE"
      },
    })
    parts.push(doc.toString(options))
  }
  return Result.succeed(parts.join("---\n"))
}

export type { KindSchema }
