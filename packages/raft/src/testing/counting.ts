// A state machine for load runs: it counts applied entries without keeping
// them (snapshots carry only the index), so memory stays flat however long
// the run.
import { Effect } from "effect"
import type { Entry } from "../core/types.ts"
import { StateMachine } from "../runtime/state-machine.ts"

export const countingStateMachine = (): StateMachine["Service"] => {
  let index = 0
  return StateMachine.of({
    appliedIndex: Effect.succeed(0),
    apply: (entries: ReadonlyArray<Entry>) => {
      if (entries.length > 0) index = entries[entries.length - 1]!.index
    },
    snapshot: () => ({ index, data: Effect.succeed(new Uint8Array(8)) }),
    restore: (s) => {
      index = s.index
    },
  })
}
