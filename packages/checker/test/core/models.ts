import { canonicalEncoding } from "../../src/core/hash.ts"
import { always, eventually, type Model, sometimes } from "../../src/core/model.ts"

/**
 * Small models whose state spaces are known by hand, shared by the engine tests.
 */

/** `n` counters, each incremented up to `max`: (max+1)^n states, depth n*max. */
export const counters = (
  n: number,
  max: number,
  options: { readonly symmetric?: boolean; readonly limit?: number } = {},
): Model<ReadonlyArray<number>, number> => ({
  name: "counters",
  initialStates: [Array.from({ length: n }, () => 0)],
  actions: (state, out) => {
    for (let i = 0; i < n; i++) if (state[i]! < max) out.push(i)
  },
  next: (state, i) => state.map((c, j) => (j === i ? c + 1 : c)),
  properties: [
    always("sum below limit", (s) => s.reduce((a, b) => a + b, 0) < (options.limit ?? Infinity)),
    sometimes("all at max", (s) => s.every((c) => c === max)),
    eventually("some counter moved", (s) => s.some((c) => c > 0)),
  ],
  ...(options.symmetric ? { representative: (s) => [...s].sort((a, b) => a - b) } : {}),
  describeAction: (_, i) => `increment counter ${i}`,
})

/** A clock that counts modulo `m`: m states in one cycle; `eventually` of an unreachable value fails on the cycle. */
export const clock = (m: number, goal: number): Model<number, "tick"> => ({
  name: "clock",
  initialStates: [0],
  actions: (_, out) => {
    out.push("tick")
  },
  next: (s) => (s + 1) % m,
  properties: [eventually("reaches goal", (s) => s === goal)],
})

/** A chain 0 -> 1 -> ... -> length that stops: `eventually` of a value past the end fails at the terminal state. */
export const chain = (length: number, goal: number): Model<number, "step"> => ({
  name: "chain",
  initialStates: [0],
  actions: (s, out) => {
    if (s < length) out.push("step")
  },
  next: (s) => s + 1,
  properties: [
    eventually("reaches goal", (s) => s === goal),
    always("never past end", (s) => s <= length),
  ],
})

/**
 * An independent oracle: every reachable state of a model, found by a naive
 * breadth-first search keyed by canonical encodings (no fingerprints, no
 * fingerprint table). Returns the encodings with their depths.
 */
export const enumerate = <S, A>(model: Model<S, A>): Map<string, number> => {
  const seen = new Map<string, number>()
  let frontier: Array<S> = []
  for (const s of model.initialStates) {
    const k = canonicalEncoding(s)
    if (!seen.has(k)) {
      seen.set(k, 0)
      frontier.push(s)
    }
  }
  for (let depth = 1; frontier.length > 0; depth++) {
    const next: Array<S> = []
    for (const s of frontier) {
      const actions: Array<A> = []
      model.actions(s, actions)
      for (const a of actions) {
        const t = model.next(s, a)
        if (t === undefined) continue
        const k = canonicalEncoding(t)
        if (!seen.has(k)) {
          seen.set(k, depth)
          next.push(t)
        }
      }
    }
    frontier = next
  }
  return seen
}

/**
 * What `project` says of every reachable state inside the model's boundary,
 * found breadth-first with states told apart by `key` (two levels held at
 * once), and how many states that was. Used to compare a reduced search with
 * the full one.
 */
export const reachable = <S, A>(
  model: Model<S, A>,
  key: (state: S) => string,
  project: (state: S) => string,
): { readonly projections: Set<string>; readonly states: number } => {
  const seen = new Set<string>()
  const out = new Set<string>()
  const actions: Array<A> = []
  for (let level = [...model.initialStates]; level.length > 0; ) {
    const following: Array<S> = []
    for (const s of level) {
      out.add(project(s))
      actions.length = 0
      model.actions(s, actions)
      for (const a of actions) {
        const t = model.next(s, a)
        if (t === undefined || (model.within !== undefined && !model.within(t))) continue
        const k = key(t)
        if (seen.has(k)) continue
        seen.add(k)
        following.push(t)
      }
    }
    level = following
  }
  return { projections: out, states: seen.size }
}

/** `counters` with one argument, for worker threads (which build models from a module export). */
export const countersFrom = (args: {
  readonly n: number
  readonly max: number
  readonly symmetric?: boolean
  readonly limit?: number
}) =>
  counters(args.n, args.max, {
    ...(args.symmetric === undefined ? {} : { symmetric: args.symmetric }),
    ...(args.limit === undefined ? {} : { limit: args.limit }),
  })
