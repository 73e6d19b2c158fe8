import fc from "fast-check"
import {
  assertDistinctNames,
  type ExploreOptions,
  type ExploreOutcome,
  inModelOrder,
  type Path,
  type PropertyOutcome,
  StateFingerprinter,
  type StopReason,
} from "./explore.ts"
import { FingerprintTable } from "./fingerprint-table.ts"
import type { Model, Property } from "./model.ts"
import { Random } from "./random.ts"

export interface SimulateOptions extends ExploreOptions {
  /** Seed of the random walks (default 0): the same seed gives the same walks. */
  readonly seed?: number
  /** Number of random walks (default 1000). */
  readonly walks?: number
  /** Shrink failing schedules with fast-check (default true). */
  readonly shrink?: boolean
}

/** Default length of a walk when no `maxDepth` is given. */
export const DEFAULT_WALK_LENGTH = 200

/**
 * A schedule: the choices of one walk. `schedule[0]` picks the initial state,
 * `schedule[i]` the action at step `i`. A choice `c` at a state with `n`
 * enabled actions means action `c mod n`, or if that action does nothing (or
 * leaves the boundary) the next one that does, cyclically; so every list of
 * naturals is a valid schedule, which is what lets fast-check shrink them.
 */
export type Schedule = ReadonlyArray<number>

interface Target<S> {
  readonly property: Property<S>
  /** Index in `model.properties`. */
  readonly index: number
}

type Verdict = { readonly path: Path; readonly ending?: "terminal" | "cycle" } | undefined

/**
 * Random simulation: walks from an initial state choosing uniformly among the
 * enabled actions, up to `maxDepth` steps, `walks` times, checking every
 * property along each walk (`eventually` on walks that end in a terminal state
 * or revisit a state of the same walk). A failing walk's schedule is then
 * shrunk by fast-check to a minimal one that still fails the same property.
 * Deterministic: the same seed gives the same walks and the same shrunk
 * counterexamples.
 */
export const simulate = <S, A>(
  model: Model<S, A>,
  options: SimulateOptions = {},
): ExploreOutcome => {
  assertDistinctNames(model.properties)
  const walkLength = options.maxDepth ?? DEFAULT_WALK_LENGTH
  const walks = options.walks ?? 1000
  const maxStates = options.maxStates ?? Number.POSITIVE_INFINITY
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY
  const clock = options.clock
  const exhaustive = options.exhaustive ?? false
  const stopOnViolation = !exhaustive && (options.stopOnViolation ?? true)
  const shrink = options.shrink ?? true
  const seed = options.seed ?? 0
  const progressEvery = options.progressEvery ?? 1 << 16
  const fingerprinter = new StateFingerprinter<S>(model, options.symmetry ?? true)
  const unique = new FingerprintTable()
  const properties = model.properties
  const within = model.within
  const random = new Random(seed)

  const decided: Array<PropertyOutcome | undefined> = properties.map(() => undefined)
  let generated = 0
  let maxDepth = 0
  let stop: StopReason | undefined
  let nextProgress = progressEvery

  /**
   * Runs one walk. `choose(n)` returns the choice for a state with `n`
   * options, or -1 to end the walk. Calls `observe` with each decided
   * property; returns when the walk ends or `observe` returns true.
   */
  const walk = (
    choose: (n: number) => number,
    watched: ReadonlyArray<Target<S>>,
    observe: (target: Target<S>, verdict: NonNullable<Verdict>) => boolean,
    count: boolean,
  ): void => {
    const inits = model.initialStates
    if (inits.length === 0) return
    const c0 = choose(inits.length)
    if (c0 < 0) return
    let init = -1
    for (let j = 0; j < inits.length; j++) {
      const i = (c0 + j) % inits.length
      if (within === undefined || within(inits[i]!)) {
        init = i
        break
      }
    }
    if (init < 0) return
    let state: S = inits[init]!
    const actions: Array<number> = []
    // Per walk: fingerprints seen (for cycles) and their positions.
    const seen = new FingerprintTable(64)
    const seenAt: Array<number> = []
    const satisfied = watched.map(() => false)
    const path = (): Path => ({ init, actions: actions.slice() })
    const buffer: Array<A> = []

    for (let depth = 0; ; depth++) {
      fingerprinter.of(state)
      if (count) {
        generated++
        unique.add(fingerprinter.hi, fingerprinter.lo)
        if (depth > maxDepth) maxDepth = depth
      }
      // Safety and reachability at this state; `eventually` bookkeeping.
      for (let w = 0; w < watched.length; w++) {
        const { property } = watched[w]!
        const ok = property.holds(state)
        if (property.kind === "always" && !ok) {
          if (observe(watched[w]!, { path: path() })) return
        } else if (property.kind === "sometimes" && ok) {
          if (observe(watched[w]!, { path: path() })) return
        } else if (property.kind === "eventually" && ok) satisfied[w] = true
      }
      const id = seen.add(fingerprinter.hi, fingerprinter.lo)
      if (id < 0) {
        // Back at a state of this walk: a cycle, repeatable forever.
        const loopAt = seenAt[-id - 1]!
        for (let w = 0; w < watched.length; w++) {
          if (watched[w]!.property.kind === "eventually" && !satisfied[w]) {
            const p = path()
            if (observe(watched[w]!, { path: { ...p, loopAt }, ending: "cycle" })) return
          }
        }
        return
      }
      seenAt[id] = depth
      if (depth >= walkLength) return
      buffer.length = 0
      model.actions(state, buffer)
      let next: S = state
      let found = false
      let moved = false
      if (buffer.length > 0) {
        const c = choose(buffer.length)
        if (c < 0) return
        for (let j = 0; j < buffer.length; j++) {
          const a = (c + j) % buffer.length
          const t = model.next(state, buffer[a]!)
          if (t === undefined) continue
          moved = true
          if (within !== undefined && !within(t)) continue
          next = t
          found = true
          actions.push(a)
          break
        }
      }
      if (!found) {
        if (!moved) {
          for (let w = 0; w < watched.length; w++) {
            if (watched[w]!.property.kind === "eventually" && !satisfied[w]) {
              if (observe(watched[w]!, { path: path(), ending: "terminal" })) return
            }
          }
        }
        return
      }
      state = next
    }
  }

  // Replays a schedule for one target; the verdict when it decides the target.
  const replay = (schedule: Schedule, target: Target<S>): Verdict => {
    let step = 0
    let verdict: Verdict
    walk(
      (n) => {
        const c = schedule[step++]
        return c === undefined ? -1 : c % n
      },
      [target],
      (_, v) => {
        verdict = v
        return true
      },
      false,
    )
    return verdict
  }

  const scheduleOf = (path: Path): Array<number> => [path.init, ...path.actions]

  const shrinkFor = (target: Target<S>, found: NonNullable<Verdict>): NonNullable<Verdict> => {
    if (!shrink) return found
    const original = scheduleOf(found.path)
    const max = Math.max(1, ...original)
    const details = fc.check(
      fc.property(fc.array(fc.nat({ max }), { maxLength: original.length }), (schedule) => {
        return replay(schedule, target) === undefined
      }),
      { examples: [[original]], numRuns: 1, seed, endOnFailure: false },
    )
    const shrunk = details.counterexample?.[0]
    if (shrunk === undefined) return found
    return replay(shrunk, target) ?? found
  }

  const targets: Array<Target<S>> = properties.map((property, index) => ({ property, index }))
  for (let w = 0; w < walks && stop === undefined; w++) {
    const open = targets.filter((t) => decided[t.index] === undefined)
    if (open.length === 0 && !exhaustive) {
      stop = "all-decided"
      break
    }
    walk(
      (n) => random.below(n),
      open,
      (target, verdict) => {
        const p = target.property
        if (decided[target.index] !== undefined) return false
        const v = shrinkFor(target, verdict)
        decided[target.index] =
          p.kind === "sometimes"
            ? { name: p.name, kind: p.kind, status: "reached", path: v.path }
            : {
                name: p.name,
                kind: p.kind,
                status: "violated",
                path: v.path,
                ...(v.ending === undefined ? {} : { ending: v.ending }),
              }
        if (p.kind !== "sometimes" && stopOnViolation) {
          stop = "violation"
          return true
        }
        return false
      },
      true,
    )
    if (stop === undefined && unique.size >= maxStates) stop = "max-states"
    if (generated >= nextProgress) {
      nextProgress = generated + progressEvery
      if (clock !== undefined && clock() > deadline) stop = "time-limit"
      options.onProgress?.({ generated, unique: unique.size, maxDepth, queued: walks - w - 1 })
    }
  }
  if (stop === undefined) stop = "walks-done"

  const outcomes = properties.map((p, i): PropertyOutcome => {
    const d = decided[i]
    if (d !== undefined) return d
    if (stop === "violation") return { name: p.name, kind: p.kind, status: "unknown" }
    // Random walks cannot prove anything: no counterexample found is "holds"
    // within these walks, and a goal never met is "unreached".
    return { name: p.name, kind: p.kind, status: p.kind === "sometimes" ? "unreached" : "holds" }
  })
  return {
    generated,
    unique: unique.size,
    maxDepth,
    complete: false,
    stopReason: stop,
    properties: inModelOrder(properties, outcomes),
  }
}
