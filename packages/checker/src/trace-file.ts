import { Schema } from "effect"
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
  try {
    return Schema.decodeUnknownSync(TraceFile, { errors: "all" })(json) as Trace
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new TraceFileError(`not a flotilla trace: ${message}`)
  }
}

/** The text of a trace file. */
export const stringifyTrace = (trace: Trace): string => `${JSON.stringify(trace, null, 2)}\n`
