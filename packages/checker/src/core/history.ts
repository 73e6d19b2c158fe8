import type { HistoryEvent, SystemState } from "./actor.ts"
import {
  checkLinearizability,
  type LinearizabilityResult,
  type Operation,
  type SequentialSpec,
} from "./linearizability.ts"
import { always, type Property } from "./model.ts"

/**
 * Turns an actor system's history (invocations and returns, in order) into
 * operations whose times are event positions. A client has at most one
 * operation outstanding; an invocation without a return is pending.
 */
export const operationsOf = <I, O>(
  history: ReadonlyArray<HistoryEvent<I, O>>,
): Array<Operation<I, O>> => {
  const ops: Array<{ client: number; input: I; output?: O; call: number; return?: number }> = []
  const open = new Map<number, number>()
  history.forEach((event, time) => {
    if (event.kind === "invoke") {
      if (open.has(event.client)) {
        throw new Error(
          `history[${time}]: client ${event.client} invoked an operation while one was outstanding`,
        )
      }
      open.set(event.client, ops.length)
      ops.push({ client: event.client, input: event.input, call: time })
    } else {
      const index = open.get(event.client)
      if (index === undefined) {
        throw new Error(`history[${time}]: client ${event.client} returned without an invocation`)
      }
      open.delete(event.client)
      const op = ops[index]!
      op.output = event.output
      op.return = time
    }
  })
  return ops
}

/**
 * The `always` property "the clients' history is linearizable" for an actor
 * system, against a sequential specification. Results are memoised per
 * history (histories are shared between states that did not change them).
 */
export const linearizable = <S, M, T, P, I, O, Q>(
  spec: SequentialSpec<Q, I, O>,
  name = "linearizable",
): Property<SystemState<S, M, T, P, I, O>> => {
  const memo = new WeakMap<object, boolean>()
  return always(name, (state) => {
    const history = state.history
    if (history.length === 0) return true
    const known = memo.get(history)
    if (known !== undefined) return known
    const result: LinearizabilityResult<I, O> = checkLinearizability(spec, operationsOf(history))
    const ok = result.linearizable !== false
    memo.set(history, ok)
    return ok
  })
}
