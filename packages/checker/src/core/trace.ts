import type { Path, PropertyOutcome } from "./explore.ts"
import { StateFingerprinter } from "./explore.ts"
import { canonicalEncoding, fingerprintHex } from "./hash.ts"
import type { Model, PropertyKind } from "./model.ts"

/** One step of a trace: the action taken and what it changed. */
export interface TraceStep {
  /** Index of the action in the enabled-action list of the previous state. */
  readonly action: number
  /** A one-line description of the action. */
  readonly label: string
  /** Readable lines describing what changed. */
  readonly changes: ReadonlyArray<string>
  /** Fingerprint of the state after the step (16 hex digits). */
  readonly fingerprint: string
}

/**
 * A counterexample (or example) saved as JSON. It names the model and the
 * options it was built with, so `replay` can rebuild the model, take the same
 * actions by index and confirm every fingerprint and the property's outcome.
 */
export interface Trace {
  readonly format: "flotilla-trace/1"
  readonly model: string
  readonly options: Readonly<Record<string, string>>
  readonly symmetry: boolean
  readonly property: { readonly name: string; readonly kind: PropertyKind }
  /** What the trace shows. */
  readonly outcome: "violation" | "example"
  /** For `eventually` violations: a terminal state, or a cycle back to `loopAt`. */
  readonly ending?: "terminal" | "cycle"
  readonly initial: {
    readonly index: number
    readonly description: string
    readonly fingerprint: string
  }
  readonly steps: ReadonlyArray<TraceStep>
  /** Position (0 = initial state) of the state the last step returns to. */
  readonly loopAt?: number
}

/** The states along a path, replayed from its initial state. Throws if the path does not fit the model. */
export const statesAlong = <S, A>(model: Model<S, A>, path: Path): Array<S> => {
  const init = model.initialStates[path.init]
  if (init === undefined) {
    throw new Error(
      `initial state ${path.init} does not exist (the model has ${model.initialStates.length})`,
    )
  }
  const states: Array<S> = [init]
  const buffer: Array<A> = []
  let state = init
  path.actions.forEach((index, step) => {
    buffer.length = 0
    model.actions(state, buffer)
    const action = buffer[index]
    if (action === undefined) {
      throw new Error(
        `step ${step + 1}: action ${index} is not enabled (the state has ${buffer.length} actions)`,
      )
    }
    const next = model.next(state, action)
    if (next === undefined) throw new Error(`step ${step + 1}: action ${index} does nothing`)
    states.push(next)
    state = next
  })
  return states
}

const defaultDescribeAction = (action: unknown): string => canonicalEncoding(action)

/** Builds the saved form of a property outcome's path. */
export const traceOf = <S, A>(
  model: Model<S, A>,
  outcome: PropertyOutcome & { readonly path: Path },
  context: {
    readonly options?: Readonly<Record<string, string>>
    readonly symmetry?: boolean
  } = {},
): Trace => {
  const symmetry = context.symmetry ?? true
  const fingerprinter = new StateFingerprinter<S>(model, symmetry)
  const hex = (s: S): string => {
    fingerprinter.of(s)
    return fingerprintHex(fingerprinter.hi, fingerprinter.lo)
  }
  const path = outcome.path
  const states = statesAlong(model, path)
  const buffer: Array<A> = []
  const steps = path.actions.map((index, i): TraceStep => {
    const prev = states[i]!
    const next = states[i + 1]!
    buffer.length = 0
    model.actions(prev, buffer)
    const action = buffer[index]!
    return {
      action: index,
      label: model.describeAction?.(prev, action) ?? defaultDescribeAction(action),
      changes: model.describeStep?.(prev, action, next) ?? [],
      fingerprint: hex(next),
    }
  })
  const first = states[0]!
  return {
    format: "flotilla-trace/1",
    model: model.name,
    options: context.options ?? {},
    symmetry,
    property: { name: outcome.name, kind: outcome.kind },
    outcome: outcome.status === "reached" ? "example" : "violation",
    ...(outcome.ending === undefined ? {} : { ending: outcome.ending }),
    initial: {
      index: path.init,
      description: model.describeState?.(first) ?? canonicalEncoding(first),
      fingerprint: hex(first),
    },
    steps,
    ...(path.loopAt === undefined ? {} : { loopAt: path.loopAt }),
  }
}

export interface ReplayResult<S> {
  /** True when every fingerprint matched and the property's outcome was reproduced. */
  readonly ok: boolean
  readonly states: ReadonlyArray<S>
  /** What went wrong, when not ok. */
  readonly problems: ReadonlyArray<string>
}

/**
 * Replays a trace against a model: takes the same actions by index, checks
 * every state's fingerprint, and checks that the trace shows what it claims
 * (the `always` condition fails at the end, the `sometimes` condition holds at
 * the end, the `eventually` condition fails at every state and the path ends
 * in a terminal state or closes its cycle).
 */
export const replayTrace = <S, A>(model: Model<S, A>, trace: Trace): ReplayResult<S> => {
  const problems: Array<string> = []
  const property = model.properties.find(
    (p) => p.name === trace.property.name && p.kind === trace.property.kind,
  )
  if (property === undefined) {
    problems.push(`the model has no ${trace.property.kind} property named "${trace.property.name}"`)
  }
  let states: Array<S>
  try {
    states = statesAlong(model, {
      init: trace.initial.index,
      actions: trace.steps.map((s) => s.action),
    })
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error))
    return { ok: false, states: [], problems }
  }
  const fingerprinter = new StateFingerprinter<S>(model, trace.symmetry)
  const hexAt = (i: number): string => {
    fingerprinter.of(states[i]!)
    return fingerprintHex(fingerprinter.hi, fingerprinter.lo)
  }
  const expected = [trace.initial.fingerprint, ...trace.steps.map((s) => s.fingerprint)]
  expected.forEach((fp, i) => {
    const actual = hexAt(i)
    if (actual !== fp) {
      problems.push(`state ${i}: fingerprint ${actual} differs from the trace's ${fp}`)
    }
  })
  if (property !== undefined && problems.length === 0) {
    const last = states[states.length - 1]!
    if (property.kind === "always" && property.holds(last)) {
      problems.push(`"${property.name}" holds at the last state: no violation`)
    }
    if (property.kind === "sometimes" && !property.holds(last)) {
      problems.push(`"${property.name}" does not hold at the last state`)
    }
    if (property.kind === "eventually") {
      const good = states.findIndex((s) => property.holds(s))
      if (good >= 0) problems.push(`"${property.name}" holds at state ${good}`)
      if (trace.ending === "cycle") {
        const loopAt = trace.loopAt
        if (loopAt === undefined || expected[loopAt] !== expected[expected.length - 1]) {
          problems.push("the trace does not return to the state it says it loops to")
        }
      } else {
        const buffer: Array<A> = []
        model.actions(last, buffer)
        if (buffer.some((a) => model.next(last, a) !== undefined)) {
          problems.push("the last state is not terminal")
        }
      }
    }
  }
  return { ok: problems.length === 0, states, problems }
}

/** Renders a trace as readable text, one numbered step per action. */
export const formatTrace = (trace: Trace): string => {
  const lines: Array<string> = []
  const what = trace.outcome === "example" ? "example for" : "counterexample to"
  const ending =
    trace.ending === "terminal"
      ? ", ending in a terminal state"
      : trace.ending === "cycle"
        ? `, ending in a cycle back to state ${trace.loopAt}`
        : ""
  lines.push(
    `${what} ${trace.property.kind} "${trace.property.name}" (${trace.steps.length} steps${ending}):`,
  )
  lines.push(`  0. initial state: ${trace.initial.description}`)
  const width = String(trace.steps.length).length
  trace.steps.forEach((step, i) => {
    lines.push(`  ${String(i + 1).padStart(width)}. ${step.label}`)
    for (const change of step.changes) lines.push(`  ${" ".repeat(width)}    ${change}`)
  })
  if (trace.ending === "cycle")
    lines.push(`  (state ${trace.steps.length} = state ${trace.loopAt})`)
  return lines.join("\n")
}
