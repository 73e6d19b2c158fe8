// The application a Raft node replicates: it applies committed entries in
// order, and the node pulls snapshots from it to compact the log.
import { Context, Effect, Layer } from "effect"
import type { Entry, Snapshot } from "../core/types.ts"

export class StateMachine extends Context.Service<
  StateMachine,
  {
    /** How far the state machine already is when the node starts (0 if rebuilt from the log). */
    readonly appliedIndex: Effect.Effect<number>
    /**
     * Applies committed entries, in log order (membership entries included).
     * Synchronous and plain: it runs on the node's apply path, once per batch.
     */
    readonly apply: (entries: ReadonlyArray<Entry>) => void
    /** Replaces the state with a snapshot's (received from the leader, or at restart). */
    readonly restore: (snapshot: Snapshot) => void
    /**
     * Captures the state as it is now (synchronously, when called: `index` is
     * the last entry it includes) and returns the work that encodes it. The
     * node runs that work beside its apply path, so later entries may be
     * applied while it runs: it must encode the captured state, not the live
     * one (a copy-on-write view, say).
     */
    readonly snapshot: () => {
      readonly index: number
      readonly data: Effect.Effect<Uint8Array>
    }
  }
>()("@flotilla/raft/runtime/StateMachine") {
  /** An in-memory log of applied data (tests, examples). */
  static readonly layerMemory = (
    sm: MemoryStateMachine = new MemoryStateMachine(),
  ): Layer.Layer<StateMachine> => Layer.succeed(StateMachine, sm.service())
}

/** Keeps the data of every applied normal entry; snapshots encode the list. */
export class MemoryStateMachine {
  index = 0
  values: Uint8Array[] = []

  service(): StateMachine["Service"] {
    return StateMachine.of({
      appliedIndex: Effect.succeed(0),
      apply: (entries) => {
        for (const e of entries) {
          if (e.type === "Normal" && e.data.byteLength > 0) this.values.push(e.data)
          this.index = e.index
        }
      },
      snapshot: () => {
        // The captured view: values are never changed in place, only appended.
        const values = this.values.slice()
        return { index: this.index, data: Effect.sync(() => encodeValues(values)) }
      },
      restore: (snapshot) => {
        this.values = snapshot.data.byteLength === 0 ? [] : decodeValues(snapshot.data)
        this.index = snapshot.index
      },
    })
  }

  /** Applied values as text. */
  strings(): string[] {
    const dec = new TextDecoder()
    return this.values.map((v) => dec.decode(v))
  }
}

const encodeValues = (values: ReadonlyArray<Uint8Array>): Uint8Array => {
  let n = 4
  for (const v of values) n += 4 + v.byteLength
  const out = new Uint8Array(n)
  const view = new DataView(out.buffer)
  view.setUint32(0, values.length)
  let at = 4
  for (const v of values) {
    view.setUint32(at, v.byteLength)
    out.set(v, at + 4)
    at += 4 + v.byteLength
  }
  return out
}

const decodeValues = (data: Uint8Array): Uint8Array[] => {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const count = view.getUint32(0)
  const out: Uint8Array[] = []
  let at = 4
  for (let i = 0; i < count; i++) {
    const len = view.getUint32(at)
    out.push(data.slice(at + 4, at + 4 + len))
    at += 4 + len
  }
  return out
}
