import {
  assertDistinctNames,
  type ExploreOptions,
  type ExploreOutcome,
  type Path,
  resolveExplore,
  SafetyTracker,
  StateFingerprinter,
  type StopReason,
  safetyOutcomes,
  VIOLATED,
} from "./explore.ts"
import { FingerprintTable } from "./fingerprint-table.ts"
import type { Model } from "./model.ts"

/**
 * Depth-first search over fingerprints with an explicit stack (no recursion,
 * so deep models cannot overflow the call stack).
 *
 * Without bounds it visits exactly the states breadth-first search visits.
 * Counterexamples are the stack at the time of the violation: valid, but not
 * necessarily shortest. With a depth bound, a state first met deep (and so
 * not expanded) is not expanded later from a shallower path either, so a
 * bounded depth-first search can cover fewer states than a bounded
 * breadth-first one.
 */
export const dfs = <S, A>(model: Model<S, A>, options: ExploreOptions = {}): ExploreOutcome => {
  assertDistinctNames(model.properties)
  const {
    maxDepth,
    maxStates,
    deadline,
    clock,
    exhaustive,
    stopOnViolation,
    progressEvery,
    onProgress,
    symmetry,
  } = resolveExplore(options)
  const fingerprinter = new StateFingerprinter<S>(model, symmetry)
  const tracker = new SafetyTracker<S>(model.properties)
  const table = new FingerprintTable()
  const within = model.within

  // The stack, as parallel arrays: a state, its enabled actions, the index of
  // the next action to try, and the action index that led to it.
  const states: Array<S> = []
  const actions: Array<Array<A>> = []
  const cursor: Array<number> = []
  const via: Array<number> = []
  // Paths recorded when a property was decided, by property handle.
  const paths: Array<Path> = []

  let generated = 0
  let maxDepthSeen = 0
  let stop: StopReason | undefined
  let bounded = false
  let nextProgress = progressEvery

  const currentPath = (): Path => ({ init: via[0]!, actions: via.slice(1) })

  // Checks a state that is about to be pushed; returns false when it was seen.
  const admit = (state: S): boolean => {
    fingerprinter.of(state)
    const id = table.add(fingerprinter.hi, fingerprinter.lo)
    if (id < 0) return false
    return true
  }

  const push = (state: S, action: number): void => {
    states.push(state)
    via.push(action)
    const depth = states.length - 1
    if (depth > maxDepthSeen) maxDepthSeen = depth
    // The path is recorded lazily: the tracker stores a handle into `paths`.
    const changed = tracker.check(state, paths.length)
    if (changed !== 0) paths.push(currentPath())
    if ((changed & VIOLATED) !== 0 && stopOnViolation) stop = "violation"
    else if (tracker.allDecided && !exhaustive) stop = "all-decided"
    if (table.size >= maxStates && stop === undefined) stop = "max-states"
    const list: Array<A> = []
    if (depth < maxDepth) model.actions(state, list)
    else bounded = true
    actions.push(list)
    cursor.push(0)
  }

  const inits = model.initialStates
  for (let i = 0; i < inits.length && stop === undefined; i++) {
    const s = inits[i]!
    generated++
    if (within !== undefined && !within(s)) continue
    if (!admit(s)) continue
    push(s, i)
    while (stop === undefined && states.length > 0) {
      const top = states.length - 1
      const list = actions[top]!
      const k = cursor[top]!
      if (k >= list.length) {
        states.pop()
        actions.pop()
        cursor.pop()
        via.pop()
        continue
      }
      cursor[top] = k + 1
      const t = model.next(states[top]!, list[k]!)
      if (t === undefined) continue
      generated++
      if (within !== undefined && !within(t)) continue
      if (admit(t)) push(t, k)
      if (generated >= nextProgress) {
        nextProgress = generated + progressEvery
        if (clock !== undefined && clock() > deadline) stop = "time-limit"
        onProgress?.({
          generated,
          unique: table.size,
          maxDepth: maxDepthSeen,
          queued: states.length,
        })
      }
    }
  }
  if (stop === undefined) stop = bounded ? "max-depth" : "exhausted"

  const reason = stop
  const properties = safetyOutcomes(model.properties, reason, (kind, i) => {
    const hit = kind === "always" ? tracker.alwaysHit[i]! : tracker.sometimesHit[i]!
    return hit >= 0 ? paths[hit] : undefined
  })
  return {
    generated,
    unique: table.size,
    maxDepth: maxDepthSeen,
    complete: stop === "exhausted",
    stopReason: stop,
    properties,
  }
}
