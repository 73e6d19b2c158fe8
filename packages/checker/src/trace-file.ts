import { Result, Schema, SchemaIssue } from "effect"
import type { Trace } from "./core/trace.ts"

/**
 * The JSON form of a trace file, decoded with errors naming the field and
 * the reason (`steps[3].action: Expected an integer`).
 */
const Step = Schema.Struct({
  action: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  label: Schema.String,
  changes: Schema.Array(Schema.String),
  fingerprint: Schema.String.check(Schema.isPattern(/^[0-9a-f]{16}$/)),
})

export const TraceFile = Schema.Struct({
  format: Schema.Literal("flotilla-trace/1"),
  model: Schema.String,
  options: Schema.Record(Schema.String, Schema.String),
  symmetry: Schema.Boolean,
  property: Schema.Struct({
    name: Schema.String,
    kind: Schema.Literals(["always", "sometimes", "eventually"]),
  }),
  outcome: Schema.Literals(["violation", "example"]),
  ending: Schema.optional(Schema.Literals(["terminal", "cycle"])),
  initial: Schema.Struct({
    index: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    description: Schema.String,
    fingerprint: Schema.String.check(Schema.isPattern(/^[0-9a-f]{16}$/)),
  }),
  steps: Schema.Array(Step),
  loopAt: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
})

export class TraceFileError extends Error {
  constructor(message: string) {
    super(message)
    this.name = "TraceFileError"
  }
}

/** Parses and validates the text of a trace file. Throws a `TraceFileError` saying what is wrong. */
export const parseTrace = (text: string): Trace => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new TraceFileError(`not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  const decoded = Schema.decodeUnknownResult(TraceFile)(json, { errors: "all" })
  if (Result.isFailure(decoded)) {
    throw new TraceFileError(`not a flotilla trace: ${issueText(decoded.failure.issue)}`)
  }
  const trace = decoded.success as Trace
  // The loop closes on a state of the path: 0 (initial) to steps.length.
  if (trace.loopAt !== undefined && trace.loopAt > trace.steps.length) {
    throw new TraceFileError(
      `not a flotilla trace: loopAt: must be at most ${trace.steps.length} (the last state of its ${trace.steps.length} steps), got ${trace.loopAt}`,
    )
  }
  return trace
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** Every issue on one line, each as `path: message` (`steps[3].action: Expected an integer`). */
const issueText = (issue: SchemaIssue.Issue): string =>
  formatter(issue)
    .issues.map((i) => {
      const path = (i.path ?? []).reduce<string>((out, k) => {
        const key = typeof k === "object" && k !== null && "key" in k ? k.key : k
        return typeof key === "number"
          ? `${out}[${key}]`
          : out === ""
            ? String(key)
            : `${out}.${String(key)}`
      }, "")
      return path === "" ? i.message : `${path}: ${i.message}`
    })
    .join("; ")

/** The text of a trace file. */
export const stringifyTrace = (trace: Trace): string => `${JSON.stringify(trace, null, 2)}\n`
