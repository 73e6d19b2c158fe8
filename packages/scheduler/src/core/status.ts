/**
 * Plugin results, in the vocabulary of the Kubernetes scheduling framework.
 *
 * A Filter separates three failures: `Unschedulable` (the node does not fit now,
 * preemption or a cluster change may help), `UnschedulableAndUnresolvable` (the
 * node cannot fit whatever happens to the pods on it) and `Error` (the plugin
 * itself failed; the whole cycle is aborted).
 */
export const Code = {
  Success: 0,
  Error: 1,
  Unschedulable: 2,
  UnschedulableAndUnresolvable: 3,
  Wait: 4,
  Skip: 5,
} as const
export type Code = (typeof Code)[keyof typeof Code]

const codeNames: ReadonlyArray<string> = [
  "Success",
  "Error",
  "Unschedulable",
  "UnschedulableAndUnresolvable",
  "Wait",
  "Skip",
]

export const codeName = (code: Code): string => codeNames[code] ?? `Code(${code})`

/**
 * A non-success result. Success is represented by `undefined` so that the hot
 * filter loop allocates nothing for nodes that fit; plugins return shared,
 * frozen Status objects for their constant reasons.
 */
export interface Status {
  readonly code: Code
  /** Reasons as Kubernetes prints them, each counted once per node in a FitError. */
  readonly reasons: ReadonlyArray<string>
  /** The plugin that produced it (filled in by the framework when missing). */
  readonly plugin?: string
}

export type Result = Status | undefined

export const make = (code: Code, ...reasons: ReadonlyArray<string>): Status =>
  Object.freeze({ code, reasons: Object.freeze(reasons) })

export const unschedulable = (...reasons: ReadonlyArray<string>): Status =>
  make(Code.Unschedulable, ...reasons)

export const unresolvable = (...reasons: ReadonlyArray<string>): Status =>
  make(Code.UnschedulableAndUnresolvable, ...reasons)

export const error = (reason: string): Status => make(Code.Error, reason)

export const skip: Status = make(Code.Skip)

export const isSuccess = (s: Result): s is undefined => s === undefined || s.code === Code.Success

export const isUnschedulable = (s: Result): boolean =>
  s !== undefined && (s.code === Code.Unschedulable || s.code === Code.UnschedulableAndUnresolvable)

export const withPlugin = (s: Status, plugin: string): Status =>
  s.plugin === plugin ? s : Object.freeze({ code: s.code, reasons: s.reasons, plugin })

/** `Error: reason1, reason2` style text for logs and errors. */
export const message = (s: Status): string => s.reasons.join(", ")
