import { Hasher } from "./hash.ts"
import type { Model, Property, PropertyKind } from "./model.ts"

/**
 * A path through a model: an initial state (by index into `initialStates`)
 * followed by actions, each given by its index in the enabled-action list of
 * the state it is taken from. Paths replay deterministically because action
 * order is deterministic. `loopAt`, when present, says that the last state is
 * the state at that position again (the same fingerprint): the path ends in a
 * cycle.
 */
export interface Path {
  readonly init: number
  readonly actions: ReadonlyArray<number>
  readonly loopAt?: number
}

export type PropertyStatus =
  /** `always` / `eventually`: no counterexample exists (or none within the bounds). */
  | "holds"
  /** `always` / `eventually`: a counterexample was found. */
  | "violated"
  /** `sometimes`: an example was found. */
  | "reached"
  /** `sometimes`: no reachable state satisfies it (within the bounds). */
  | "unreached"
  /** Not decided: exploration stopped before the property could be checked. */
  | "unknown"

export interface PropertyOutcome {
  readonly name: string
  readonly kind: PropertyKind
  readonly status: PropertyStatus
  /** The counterexample (violated) or the example (reached). */
  readonly path?: Path
  /** For `eventually` counterexamples: how the bad behaviour ends. */
  readonly ending?: "terminal" | "cycle"
}

export type StopReason =
  | "exhausted"
  | "violation"
  | "all-decided"
  | "max-depth"
  | "max-states"
  | "time-limit"
  | "walks-done"

export interface ExploreStats {
  /** States computed as successors (plus the initial states), duplicates included. */
  readonly generated: number
  /** Distinct states (by fingerprint, after symmetry reduction). */
  readonly unique: number
  /** The deepest depth reached (initial states are at depth 0). */
  readonly maxDepth: number
}

export interface ExploreOutcome extends ExploreStats {
  readonly properties: ReadonlyArray<PropertyOutcome>
  /** True when every state within the boundary was explored. */
  readonly complete: boolean
  readonly stopReason: StopReason
}

export interface Progress extends ExploreStats {
  /** States waiting to be explored (BFS: the rest of this level and the next level). */
  readonly queued: number
}

/** Common exploration options; all bounds are optional. */
export interface ExploreOptions {
  /** States at this depth are checked but not expanded. */
  readonly maxDepth?: number
  /** Stop after this many unique states. */
  readonly maxStates?: number
  /** Stop when `clock()` passes this value. */
  readonly deadline?: number
  /** The clock compared with `deadline` (injected; the loops never read time themselves). */
  readonly clock?: () => number
  /** Stop at the first `always`/`eventually` violation (default true). */
  readonly stopOnViolation?: boolean
  /**
   * Explore every state even when all properties are decided and after
   * violations (default false; for state counts and benchmarks).
   */
  readonly exhaustive?: boolean
  /** Use the model's symmetry reduction, if it has one (default true). */
  readonly symmetry?: boolean
  /** Called every `progressEvery` generated states. */
  readonly onProgress?: (progress: Progress) => void
  readonly progressEvery?: number
}

/** Computes fingerprints of a model's states, through its representative when symmetry is on. */
export class StateFingerprinter<S> {
  private readonly hasher = new Hasher()
  hi = 0
  lo = 0

  private readonly model: Model<S, unknown>
  private readonly symmetry: boolean

  constructor(model: Model<S, unknown>, symmetry: boolean) {
    this.model = model
    this.symmetry = symmetry
  }

  of(state: S): void {
    const model = this.model
    const h = this.hasher.reset()
    if (this.symmetry && model.symmetricFingerprint !== undefined) {
      model.symmetricFingerprint(state, h)
      h.finish()
      this.hi = h.hi
      this.lo = h.lo
      return
    }
    const s =
      this.symmetry && model.representative !== undefined ? model.representative(state) : state
    if (model.fingerprint !== undefined) model.fingerprint(s, h)
    else h.value(s)
    h.finish()
    this.hi = h.hi
    this.lo = h.lo
  }
}

/** `SafetyTracker.check` result bits. */
export const VIOLATED = 1
export const REACHED = 2

/** Bookkeeping for `always` and `sometimes` properties during a search. */
export class SafetyTracker<S> {
  readonly always: Array<Property<S>> = []
  readonly sometimes: Array<Property<S>> = []
  readonly eventually: Array<Property<S>> = []
  /** Entry id (or other handle) of the first state found per property, -1 if none. */
  readonly alwaysHit: Array<number>
  readonly sometimesHit: Array<number>
  private pendingAlways: number
  private pendingSometimes: number

  constructor(properties: ReadonlyArray<Property<S>>) {
    for (const p of properties) {
      if (p.kind === "always") this.always.push(p)
      else if (p.kind === "sometimes") this.sometimes.push(p)
      else this.eventually.push(p)
    }
    this.alwaysHit = this.always.map(() => -1)
    this.sometimesHit = this.sometimes.map(() => -1)
    this.pendingAlways = this.always.length
    this.pendingSometimes = this.sometimes.length
  }

  /**
   * Checks a newly found state, recording `handle` for every property it
   * decides. Returns `VIOLATED` and/or `REACHED` bits for what changed.
   */
  check(state: S, handle: number): number {
    let changed = 0
    if (this.pendingAlways > 0) {
      for (let i = 0; i < this.always.length; i++) {
        if (this.alwaysHit[i] === -1 && !this.always[i]!.holds(state)) {
          this.alwaysHit[i] = handle
          this.pendingAlways--
          changed |= VIOLATED
        }
      }
    }
    if (this.pendingSometimes > 0) {
      for (let i = 0; i < this.sometimes.length; i++) {
        if (this.sometimesHit[i] === -1 && this.sometimes[i]!.holds(state)) {
          this.sometimesHit[i] = handle
          this.pendingSometimes--
          changed |= REACHED
        }
      }
    }
    return changed
  }

  get anyViolated(): boolean {
    return this.pendingAlways < this.always.length
  }

  /** True when no `always`/`sometimes` property can change any more and none is `eventually`. */
  get allDecided(): boolean {
    return this.pendingAlways === 0 && this.pendingSometimes === 0 && this.eventually.length === 0
  }
}

/** Orders outcomes as the model lists its properties. */
export const inModelOrder = <S>(
  properties: ReadonlyArray<Property<S>>,
  outcomes: ReadonlyArray<PropertyOutcome>,
): Array<PropertyOutcome> =>
  properties.map((p) => {
    const found = outcomes.find((o) => o.name === p.name && o.kind === p.kind)
    return found ?? { name: p.name, kind: p.kind, status: "unknown" }
  })

/** Throws when two properties share a name (outcomes and traces refer to properties by name). */
export const assertDistinctNames = <S>(properties: ReadonlyArray<Property<S>>): void => {
  const seen = new Set<string>()
  for (const p of properties) {
    if (seen.has(p.name)) throw new Error(`two properties are named "${p.name}"`)
    seen.add(p.name)
  }
}

/** Exploration options with their defaults filled in. */
export interface ResolvedExplore {
  readonly maxDepth: number
  readonly maxStates: number
  readonly deadline: number
  readonly clock: (() => number) | undefined
  readonly exhaustive: boolean
  readonly stopOnViolation: boolean
  readonly progressEvery: number
  readonly onProgress: ((progress: Progress) => void) | undefined
  readonly symmetry: boolean
}

export const resolveExplore = (options: ExploreOptions): ResolvedExplore => {
  const exhaustive = options.exhaustive ?? false
  return {
    maxDepth: options.maxDepth ?? Number.POSITIVE_INFINITY,
    maxStates: options.maxStates ?? Number.POSITIVE_INFINITY,
    deadline: options.deadline ?? Number.POSITIVE_INFINITY,
    clock: options.clock,
    exhaustive,
    stopOnViolation: !exhaustive && (options.stopOnViolation ?? true),
    progressEvery: options.progressEvery ?? 1 << 16,
    onProgress: options.onProgress,
    symmetry: options.symmetry ?? true,
  }
}

/**
 * The outcomes of `always` and `sometimes` properties from where each was
 * first decided (`hit(kind, index)`: a path, or undefined when it was not).
 * Undecided ones hold / are unreached, or are unknown when the search stopped
 * at a violation.
 */
export const safetyOutcomes = <S>(
  properties: ReadonlyArray<Property<S>>,
  stop: StopReason,
  hit: (kind: "always" | "sometimes", index: number) => Path | undefined,
): Array<PropertyOutcome> => {
  const outcomes: Array<PropertyOutcome> = []
  let always = 0
  let sometimes = 0
  for (const p of properties) {
    if (p.kind === "eventually") continue
    const index = p.kind === "always" ? always++ : sometimes++
    const path = hit(p.kind, index)
    if (path !== undefined) {
      outcomes.push({
        name: p.name,
        kind: p.kind,
        status: p.kind === "always" ? "violated" : "reached",
        path,
      })
    } else {
      const status = stop === "violation" ? "unknown" : p.kind === "always" ? "holds" : "unreached"
      outcomes.push({ name: p.name, kind: p.kind, status })
    }
  }
  return inModelOrder(properties, outcomes)
}
