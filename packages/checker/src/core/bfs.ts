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
import { FingerprintTable, IntColumn } from "./fingerprint-table.ts"
import type { Model } from "./model.ts"

/**
 * Breadth-first search, level by level, over fingerprints.
 *
 * Each new state is checked when it is first generated, and states are
 * generated in order of depth, so the first violation found is at the least
 * depth and its path (rebuilt from parent links) is a shortest counterexample.
 * Only `always` and `sometimes` properties are decided here; `eventually`
 * properties need the cycle search of `eventually.ts`.
 *
 * Memory: one fingerprint table entry (12-20 bytes) plus a parent id and an
 * action index per unique state, and the states of two levels.
 */
export const bfs = <S, A>(model: Model<S, A>, options: ExploreOptions = {}): ExploreOutcome => {
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
  // Per entry id: the parent's id (-1 for initial states) and the action
  // index taken from the parent (the initial-state index for roots).
  const parents = new IntColumn()
  const via = new IntColumn()
  const within = model.within

  let generated = 0
  let depth = 0
  let stop: StopReason | undefined
  let level: Array<S> = []
  let levelIds: Array<number> = []

  const admit = (state: S, parent: number, action: number): number => {
    fingerprinter.of(state)
    const id = table.add(fingerprinter.hi, fingerprinter.lo)
    if (id < 0) return -1
    parents.set(id, parent)
    via.set(id, action)
    if ((tracker.check(state, id) & VIOLATED) !== 0 && stopOnViolation) stop = "violation"
    else if (tracker.allDecided && !exhaustive) stop = "all-decided"
    if (table.size >= maxStates && stop === undefined) stop = "max-states"
    return id
  }

  const inits = model.initialStates
  for (let i = 0; i < inits.length && stop === undefined; i++) {
    const s = inits[i]!
    generated++
    if (within !== undefined && !within(s)) continue
    const id = admit(s, -1, i)
    if (id >= 0) {
      level.push(s)
      levelIds.push(id)
    }
  }

  const buffer: Array<A> = []
  let nextProgress = progressEvery
  while (stop === undefined && level.length > 0) {
    if (depth >= maxDepth) {
      stop = "max-depth"
      break
    }
    let nextLevel: Array<S> = []
    let nextIds: Array<number> = []
    for (let k = 0; k < level.length && stop === undefined; k++) {
      const s = level[k]!
      const parentId = levelIds[k]!
      buffer.length = 0
      model.actions(s, buffer)
      for (let a = 0; a < buffer.length; a++) {
        const t = model.next(s, buffer[a]!)
        if (t === undefined) continue
        generated++
        if (within !== undefined && !within(t)) continue
        const id = admit(t, parentId, a)
        if (id >= 0) {
          nextLevel.push(t)
          nextIds.push(id)
          if (stop !== undefined) break
        }
      }
      if (generated >= nextProgress) {
        nextProgress = generated + progressEvery
        if (clock !== undefined && clock() > deadline) stop = "time-limit"
        onProgress?.({
          generated,
          unique: table.size,
          maxDepth: depth + (nextLevel.length > 0 ? 1 : 0),
          queued: level.length - k - 1 + nextLevel.length,
        })
      }
    }
    // Release the finished level before the next one grows.
    level = nextLevel
    levelIds = nextIds
    nextLevel = []
    nextIds = []
    if (level.length > 0) depth++
  }
  if (stop === undefined) stop = "exhausted"

  const pathTo = (id: number): Path => {
    const actions: Array<number> = []
    let cur = id
    while (parents.get(cur) !== -1) {
      actions.push(via.get(cur))
      cur = parents.get(cur)
    }
    actions.reverse()
    return { init: via.get(cur), actions }
  }

  const reason = stop
  const properties = safetyOutcomes(model.properties, reason, (kind, i) => {
    const hit = kind === "always" ? tracker.alwaysHit[i]! : tracker.sometimesHit[i]!
    return hit >= 0 ? pathTo(hit) : undefined
  })
  return {
    generated,
    unique: table.size,
    maxDepth: depth,
    complete: stop === "exhausted",
    stopReason: stop,
    properties,
  }
}
