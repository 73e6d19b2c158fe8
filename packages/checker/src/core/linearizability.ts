import { canonicalEncoding } from "./hash.ts"
import { Random } from "./random.ts"

/**
 * Linearizability checking of concurrent histories against a sequential
 * specification: Wing & Gong's search, with Lowe's memoisation of
 * (linearized set, state) pairs, as in Porcupine; histories are split into
 * independent partitions first (P-compositionality: a key-value history is
 * linearizable exactly when the history of every key is).
 *
 * A history is linearizable when every operation can be given a single point
 * between its call and its return such that, taken in the order of those
 * points, the operations are a legal run of the specification.
 */

/** One operation of a history. Times are any numbers that order events (event indices, nanoseconds). */
export interface Operation<I, O> {
  /** Who issued it (for reports). */
  readonly client: number | string
  readonly input: I
  /** The observed result; absent when the operation never returned. */
  readonly output?: O
  readonly call: number
  /**
   * When the result was observed. Absent means the operation is pending (its
   * client crashed or timed out): it may have taken effect at any point after
   * its call, or not at all.
   */
  readonly return?: number
}

/** A sequential specification. */
export interface SequentialSpec<S, I, O> {
  readonly init: () => S
  /**
   * The state after `input` when it returned `output`, or `undefined` when the
   * specification cannot produce that output in `state`. `output` is
   * `undefined` for pending operations: accept any result.
   */
  readonly step: (state: S, input: I, output: O | undefined) => S | undefined
  /** A canonical key of a state (equal keys = interchangeable states), for memoisation. */
  readonly key: (state: S) => string | number
  /** Splits a history into independent parts (for example per key). Default: one part. */
  readonly partition?: (
    operations: ReadonlyArray<Operation<I, O>>,
  ) => ReadonlyArray<ReadonlyArray<Operation<I, O>>>
  /** A short description of an operation, for reports. */
  readonly describe?: (operation: Operation<I, O>) => string
}

export interface LinearizabilityOptions {
  /**
   * Give up (result `"unknown"`) after this many search steps in one
   * partition. Default: unbounded.
   */
  readonly maxSteps?: number
}

export interface LinearizabilityResult<I, O> {
  /** `"unknown"` when a partition hit `maxSteps`. */
  readonly linearizable: boolean | "unknown"
  readonly partitions: number
  /** Search steps over all partitions (for performance reports). */
  readonly steps: number
  /** For a history that is not linearizable: the first failing partition. */
  readonly counterexample?: {
    readonly partition: number
    readonly operations: ReadonlyArray<Operation<I, O>>
    /** The longest sequence of operations the search could linearize, in order. */
    readonly longestLinearization: ReadonlyArray<Operation<I, O>>
    /** Operations that could not be placed after that sequence (the ones that return next). */
    readonly stuck: ReadonlyArray<Operation<I, O>>
  }
}

const validate = <I, O>(ops: ReadonlyArray<Operation<I, O>>): void => {
  ops.forEach((op, i) => {
    if (typeof op.call !== "number" || Number.isNaN(op.call)) {
      throw new TypeError(`operations[${i}].call: expected a number, got ${String(op.call)}`)
    }
    if (op.return !== undefined) {
      if (typeof op.return !== "number" || Number.isNaN(op.return)) {
        throw new TypeError(`operations[${i}].return: expected a number, got ${String(op.return)}`)
      }
      if (op.return < op.call) {
        throw new RangeError(`operations[${i}].return: ${op.return} is before its call ${op.call}`)
      }
    }
  })
}

/**
 * Checks a history. Throws a `TypeError`/`RangeError` naming the operation
 * and field for malformed input (a non-numeric time, a return before its call).
 */
export const checkLinearizability = <S, I, O>(
  spec: SequentialSpec<S, I, O>,
  operations: ReadonlyArray<Operation<I, O>>,
  options: LinearizabilityOptions = {},
): LinearizabilityResult<I, O> => {
  validate(operations)
  const parts = spec.partition?.(operations) ?? [operations]
  let steps = 0
  let unknown = false
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!
    const r = searchPartition(spec, part, options.maxSteps ?? Number.POSITIVE_INFINITY)
    steps += r.steps
    if (r.verdict === "unknown") unknown = true
    else if (r.verdict === false) {
      return {
        linearizable: false,
        partitions: parts.length,
        steps,
        counterexample: {
          partition: p,
          operations: part,
          longestLinearization: r.longest.map((i) => part[i]!),
          stuck: r.stuck.map((i) => part[i]!),
        },
      }
    }
  }
  return { linearizable: unknown ? "unknown" : true, partitions: parts.length, steps }
}

interface SearchResult {
  readonly verdict: boolean | "unknown"
  readonly steps: number
  readonly longest: ReadonlyArray<number>
  readonly stuck: ReadonlyArray<number>
}

const NIL = -1

/**
 * The search over one partition.
 *
 * Events (calls and returns, 2n of them, in time order; calls before returns
 * at equal times, so touching operations count as concurrent) form a doubly
 * linked list. Walking it from the head, a call may be linearized now if the
 * specification accepts it from the current state; it is then "lifted" (its
 * call and return unlinked) and the walk restarts from the head. Reaching a
 * return means its operation should already have been linearized: backtrack
 * to the last lifted call and try the next candidate. A pending operation has
 * its return at +infinity and two alternatives: it took effect, or it never
 * did. Each (set of linearized operations, state) pair is searched once: the
 * memo keys on a Zobrist hash of the set and the state's key, and confirms
 * hits by comparing the sets exactly.
 */
const searchPartition = <S, I, O>(
  spec: SequentialSpec<S, I, O>,
  ops: ReadonlyArray<Operation<I, O>>,
  maxSteps: number,
): SearchResult => {
  const n = ops.length
  if (n === 0) return { verdict: true, steps: 0, longest: [], stuck: [] }

  // Event e < n is the call of op e; e >= n is the return of op e - n.
  const order = Array.from({ length: 2 * n }, (_, e) => e)
  const time = (e: number): number =>
    e < n ? ops[e]!.call : (ops[e - n]!.return ?? Number.POSITIVE_INFINITY)
  order.sort((a, b) => {
    const d = time(a) - time(b)
    if (d !== 0 && !Number.isNaN(d)) return d
    const ka = a < n ? 0 : 1
    const kb = b < n ? 0 : 1
    return ka - kb || a - b
  })
  const head = 2 * n
  const next = new Int32Array(2 * n + 1)
  const prev = new Int32Array(2 * n + 1)
  let last = head
  for (const e of order) {
    next[last] = e
    prev[e] = last
    last = e
  }
  next[last] = NIL

  const unlink = (e: number): void => {
    const p = prev[e]!
    const q = next[e]!
    next[p] = q
    if (q !== NIL) prev[q] = p
  }
  const relink = (e: number): void => {
    const p = prev[e]!
    const q = next[e]!
    next[p] = e
    if (q !== NIL) prev[q] = e
  }

  // Zobrist keys: a random 32-bit pair per operation (seeded: deterministic).
  const random = new Random(0x5eed)
  const z1 = new Int32Array(n)
  const z2 = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    z1[i] = random.next() | 0
    z2[i] = random.next() | 0
  }
  const words = (n + 31) >>> 5
  const bits = new Uint32Array(words)
  let h1 = 0
  let h2 = 0
  const memo = new Map<string, Array<Uint32Array>>()
  const remember = (stateKey: string | number): boolean => {
    const key = `${h1}:${h2}:${stateKey}`
    const seen = memo.get(key)
    if (seen === undefined) {
      memo.set(key, [bits.slice()])
      return true
    }
    outer: for (const other of seen) {
      for (let w = 0; w < words; w++) if (other[w] !== bits[w]) continue outer
      return false
    }
    seen.push(bits.slice())
    return true
  }
  const flip = (op: number): void => {
    bits[op >>> 5]! ^= 1 << (op & 31)
    h1 ^= z1[op]!
    h2 ^= z2[op]!
  }

  // The stack of linearized operations: the call event, the state before it,
  // and which alternative was taken (0: took effect, 1: pending op omitted).
  const stackOp: Array<number> = []
  const stackState: Array<S> = []
  const stackAlt: Array<number> = []
  // The deepest linearization seen, copied only when the search backs out of
  // it (so a history that never backtracks never copies).
  let longest: Array<number> = []
  let stuck = NIL

  let state = spec.init()
  let entry = next[head]!
  let startAlt = 0
  let steps = 0
  while (next[head] !== NIL) {
    if (++steps > maxSteps) return { verdict: "unknown", steps, longest, stuck: [] }
    if (entry !== NIL && entry < n) {
      const op = ops[entry]!
      const pending = op.return === undefined
      let placed = false
      for (let alt = startAlt; alt < (pending ? 2 : 1) && !placed; alt++) {
        const after = alt === 0 ? spec.step(state, op.input, op.output) : state
        if (after === undefined) continue
        flip(entry)
        if (remember(spec.key(after))) {
          stackOp.push(entry)
          stackState.push(state)
          stackAlt.push(alt)
          state = after
          unlink(entry)
          unlink(entry + n)
          placed = true
        } else flip(entry)
      }
      startAlt = 0
      entry = placed ? next[head]! : next[entry]!
      continue
    }
    // A return: its operation was not linearized in time. Back out of the
    // last choice (dancing links: relink in the reverse order of unlinking).
    if (stackOp.length > longest.length || (stuck === NIL && longest.length === 0)) {
      longest = stackOp.slice()
      stuck = entry === NIL ? NIL : entry - n
    }
    if (stackOp.length === 0) {
      return { verdict: false, steps, longest, stuck: stuck === NIL ? [] : [stuck] }
    }
    const e = stackOp.pop()!
    const alt = stackAlt.pop()!
    state = stackState.pop()!
    flip(e)
    relink(e + n)
    relink(e)
    entry = e
    startAlt = alt + 1
    if (startAlt > 1 || ops[e]!.return !== undefined) {
      startAlt = 0
      entry = next[e]!
    }
  }
  return { verdict: true, steps, longest: [], stuck: [] }
}

/* ---------------------------------------------------------------------------
 * Specifications
 * ------------------------------------------------------------------------ */

const same = (a: unknown, b: unknown): boolean =>
  a === b ||
  (typeof a === "object" &&
    a !== null &&
    typeof b === "object" &&
    b !== null &&
    canonicalEncoding(a) === canonicalEncoding(b))

const keyOf = (v: unknown): string | number =>
  typeof v === "number" ? v : typeof v === "string" ? `s${v}` : canonicalEncoding(v)

/** Register operations: write a value, read it, compare-and-set. */
export type RegisterInput<V> =
  | { readonly type: "write"; readonly value: V }
  | { readonly type: "read" }
  | { readonly type: "cas"; readonly expected: V; readonly value: V }

/** Outputs: a read returns the value; a write returns `null`; a CAS returns whether it swapped. */
export type RegisterOutput<V> = V | null | boolean

/** A single register holding `initial` at first. */
export const registerSpec = <V>(
  initial: V,
): SequentialSpec<V, RegisterInput<V>, RegisterOutput<V>> => ({
  init: () => initial,
  step: (state, input, output) => {
    switch (input.type) {
      case "write":
        return input.value
      case "read":
        return output === undefined || same(output, state) ? state : undefined
      case "cas": {
        const swap = same(input.expected, state)
        if (output !== undefined && output !== swap) return undefined
        return swap ? input.value : state
      }
    }
  },
  key: keyOf,
  describe: (op) => describeRegisterOp(op.input, op.output),
})

const show = (v: unknown): string => (v === undefined ? "?" : canonicalEncoding(v))

const describeRegisterOp = <V>(input: RegisterInput<V>, output: unknown): string => {
  switch (input.type) {
    case "write":
      return `write(${show(input.value)})`
    case "read":
      return `read() -> ${show(output)}`
    case "cas":
      return `cas(${show(input.expected)}, ${show(input.value)}) -> ${show(output)}`
  }
}

/** Key-value operations; every operation touches one key. */
export type KvInput<K, V> =
  | { readonly type: "put"; readonly key: K; readonly value: V }
  | { readonly type: "get"; readonly key: K }
  | { readonly type: "delete"; readonly key: K }
  | { readonly type: "cas"; readonly key: K; readonly expected: V | null; readonly value: V }

/** Outputs: `get` returns the value or `null` when absent; `put`/`delete` return `null`; `cas` whether it swapped. */
export type KvOutput<V> = V | null | boolean

/**
 * A key-value map (absent keys read as `null`), checked one key at a time.
 * The state of each partition is the value of its key.
 */
export const kvSpec = <K, V>(): SequentialSpec<V | null, KvInput<K, V>, KvOutput<V>> => ({
  init: () => null,
  step: (state, input, output) => {
    switch (input.type) {
      case "put":
        return input.value
      case "delete":
        return null
      case "get":
        return output === undefined || same(output, state) ? state : undefined
      case "cas": {
        const swap = same(input.expected, state)
        if (output !== undefined && output !== swap) return undefined
        return swap ? input.value : state
      }
    }
  },
  key: (state) => (state === null ? "null" : keyOf(state)),
  partition: (ops) => {
    const byKey = new Map<string | number, Array<Operation<KvInput<K, V>, KvOutput<V>>>>()
    for (const op of ops) {
      const k = keyOf(op.input.key)
      let list = byKey.get(k)
      if (list === undefined) byKey.set(k, (list = []))
      list.push(op)
    }
    return [...byKey.values()]
  },
  describe: (op) => {
    const i = op.input
    const key = show(i.key)
    switch (i.type) {
      case "put":
        return `put(${key}, ${show(i.value)})`
      case "get":
        return `get(${key}) -> ${show(op.output)}`
      case "delete":
        return `delete(${key})`
      case "cas":
        return `cas(${key}, ${show(i.expected)}, ${show(i.value)}) -> ${show(op.output)}`
    }
  },
})

/** Renders a failing result's counterexample as readable lines. */
export const describeCounterexample = <S, I, O>(
  spec: SequentialSpec<S, I, O>,
  result: LinearizabilityResult<I, O>,
): string => {
  const c = result.counterexample
  if (c === undefined) return "linearizable"
  const d = spec.describe ?? ((op: Operation<I, O>) => canonicalEncoding(op.input))
  const line = (op: Operation<I, O>) =>
    `  [${op.call}, ${op.return ?? "pending"}] ${String(op.client)}: ${d(op)}`
  return [
    `not linearizable (partition ${c.partition}, ${c.operations.length} operations):`,
    ...c.operations.map(line),
    "longest linearizable prefix:",
    ...c.longestLinearization.map(line),
    "cannot be placed next:",
    ...c.stuck.map(line),
  ].join("\n")
}
