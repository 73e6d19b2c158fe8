// An Effect scheduler for a member's hot path. Effect's default dispatches
// fiber wake-ups with setImmediate: one event-loop turn per hop, and a request
// crosses a dozen fibers (gRPC call, proposal, Raft driver, writer, applier)
// on its way. This one dispatches in a microtask, for at most `budget`
// dispatches per event-loop turn, and with setImmediate after that, so that
// I/O is never starved by fibers waking each other.
import { Scheduler } from "effect"

export const makeMemberScheduler = (budget = 64): Scheduler.Scheduler => {
  let streak = 0
  let resetting = false
  const reset = (): void => {
    streak = 0
    resetting = false
  }
  const dispatch = (f: () => void): (() => void) => {
    if (streak < budget) {
      streak++
      // The next check phase starts a new turn's budget.
      if (!resetting) {
        resetting = true
        setImmediate(reset)
      }
      let cancelled = false
      queueMicrotask(() => {
        if (!cancelled) f()
      })
      return () => {
        cancelled = true
      }
    }
    const t = setImmediate(f)
    return () => clearImmediate(t)
  }
  return new Scheduler.MixedScheduler("async", dispatch)
}
