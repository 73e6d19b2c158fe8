import { type ExploreOptions, type PropertyOutcome, StateFingerprinter } from "./explore.ts"
import { FingerprintTable } from "./fingerprint-table.ts"
import type { Model, Property } from "./model.ts"

const ON_STACK = 1
const DONE = 2

export interface EventuallyOutcome extends PropertyOutcome {
  /** States visited by this search (all of them violate the property's condition). */
  readonly visited: number
  readonly generated: number
  /** False when a bound cut the search short. */
  readonly complete: boolean
}

/**
 * Decides an `eventually` property (see `Property` for the exact meaning).
 *
 * The bad behaviours are exactly the paths that stay inside the region of
 * states where the condition is false. So this runs a depth-first search from
 * the initial states restricted to that region (a successor where the
 * condition holds ends that path well), looking for a terminal state (a state
 * with no transition at all) or a back edge to a state on the stack (a cycle).
 * Every cycle reachable in the region produces a back edge in a complete
 * depth-first search, so the search is exact when no bound cuts it.
 *
 * With symmetry reduction, "the same state" means the same representative: a
 * cycle may return to a state symmetric to the one it left, which repeats
 * forever under the symmetry just as well.
 */
export const checkEventually = <S, A>(
  model: Model<S, A>,
  property: Property<S>,
  options: ExploreOptions = {},
): EventuallyOutcome => {
  const maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY
  const maxStates = options.maxStates ?? Number.POSITIVE_INFINITY
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY
  const clock = options.clock
  const fingerprinter = new StateFingerprinter<S>(model, options.symmetry ?? true)
  const table = new FingerprintTable()
  const colour: Array<number> = []
  const within = model.within
  const holds = property.holds

  const states: Array<S> = []
  const ids: Array<number> = []
  const actions: Array<Array<A>> = []
  const cursor: Array<number> = []
  const via: Array<number> = []
  // Whether the state at each stack position has at least one transition.
  const moved: Array<boolean> = []

  let generated = 0
  let complete = true
  let timeChecks = 0

  const base = { name: property.name, kind: property.kind } as const
  const result = (
    status: "holds" | "violated" | "unknown",
    extra: Partial<PropertyOutcome> = {},
  ): EventuallyOutcome => ({
    ...base,
    status,
    ...extra,
    visited: table.size,
    generated,
    complete,
  })

  const push = (state: S, id: number, action: number): void => {
    states.push(state)
    ids.push(id)
    via.push(action)
    moved.push(false)
    const list: Array<A> = []
    model.actions(state, list)
    if (states.length - 1 >= maxDepth && list.length > 0) {
      // Not expanded: neither terminal nor known to be safe.
      complete = false
      list.length = 0
      moved[moved.length - 1] = true
    }
    actions.push(list)
    cursor.push(0)
  }

  const inits = model.initialStates
  for (let i = 0; i < inits.length; i++) {
    const s = inits[i]!
    generated++
    if ((within !== undefined && !within(s)) || holds(s)) continue
    fingerprinter.of(s)
    const id = table.add(fingerprinter.hi, fingerprinter.lo)
    if (id < 0) continue
    colour[id] = ON_STACK
    push(s, id, i)
    while (states.length > 0) {
      const top = states.length - 1
      const list = actions[top]!
      const k = cursor[top]!
      if (k >= list.length) {
        if (!moved[top]) {
          return result("violated", {
            path: { init: via[0]!, actions: via.slice(1) },
            ending: "terminal",
          })
        }
        colour[ids[top]!] = DONE
        states.pop()
        ids.pop()
        actions.pop()
        cursor.pop()
        via.pop()
        moved.pop()
        continue
      }
      cursor[top] = k + 1
      const t = model.next(states[top]!, list[k]!)
      if (t === undefined) continue
      generated++
      moved[top] = true
      if (within !== undefined && !within(t)) {
        complete = false
        continue
      }
      if (holds(t)) continue
      fingerprinter.of(t)
      const tid = table.add(fingerprinter.hi, fingerprinter.lo)
      if (tid >= 0) {
        colour[tid] = ON_STACK
        push(t, tid, k)
        if (table.size >= maxStates) {
          complete = false
          return result("unknown")
        }
      } else if (colour[-tid - 1] === ON_STACK) {
        const loopAt = ids.indexOf(-tid - 1)
        return result("violated", {
          path: { init: via[0]!, actions: [...via.slice(1), k], loopAt },
          ending: "cycle",
        })
      }
      if (clock !== undefined && ++timeChecks >= 4096) {
        timeChecks = 0
        if (clock() > deadline) {
          complete = false
          return result("unknown")
        }
      }
    }
  }
  // Depth and boundary cuts leave "holds within the bounds" (`complete` says
  // which); only the state and time limits abort the search undecided.
  return result("holds")
}
