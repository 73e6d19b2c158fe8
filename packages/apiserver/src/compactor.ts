/**
 * The store's compactor, as Kubernetes' API server runs it
 * (`--etcd-compaction-interval`, 5 minutes): every interval it compacts the
 * store to the revision it saw one interval earlier, so the store keeps
 * between one and two intervals of history (a watch or list from an older
 * revision gets 410 Gone) instead of every version ever written, whose
 * memory the store (and every decoded copy of it) would otherwise hold for
 * good. API servers sharing a store take turns through the version of one
 * key: only the server whose transaction finds the version it last saw
 * compacts (and bumps it); the others learn the new version and wait.
 */
import type { KVShape, TxnResponse } from "@flotilla/store"
import { Duration, Effect, type Scope } from "effect"
import { keyBytes } from "./core/keys.ts"

/** The key whose version the compactors of a store share (Kubernetes' own). */
export const compactRevKey = "compact_rev_key"

/** Kubernetes' default compaction interval. */
export const defaultCompactionIntervalMs = 5 * 60 * 1000

/** What a compactor knows between intervals. */
export interface CompactorState {
  /** The version of `compactRevKey` it last saw (0: none yet). */
  readonly version: number
  /** The store's revision at its last turn: what the next turn compacts to (0: nothing). */
  readonly revision: number
}

export const initialCompactorState: CompactorState = { version: 0, revision: 0 }

/**
 * The next state after a turn's transaction, and the revision to compact to
 * (undefined when another server took the turn, or there is nothing to
 * compact yet). Pure: the shell runs the transaction and the compaction.
 */
export const afterTurn = (
  state: CompactorState,
  response: TxnResponse,
): { readonly next: CompactorState; readonly compactTo: number | undefined } => {
  const revision = response.header.revision
  if (!response.succeeded) {
    // Another server compacted this interval: take its version and wait a turn.
    const range = response.responses[0]
    const seen =
      range !== undefined && "response_range" in range ? range.response_range.kvs[0] : undefined
    return { next: { version: seen?.version ?? 0, revision }, compactTo: undefined }
  }
  return {
    next: { version: state.version + 1, revision },
    compactTo: state.revision > 0 ? state.revision : undefined,
  }
}

const key = keyBytes(compactRevKey)
const encoder = new TextEncoder()

/** One turn: claim it through the key's version, then compact to the revision of the last turn. */
export const compactTurn = (
  kv: KVShape,
  state: CompactorState,
): Effect.Effect<{ readonly next: CompactorState; readonly compacted: number | undefined }> =>
  Effect.gen(function* () {
    const response = yield* kv.txn({
      compare: [{ key, target: "VERSION", result: "EQUAL", version: state.version }],
      success: [{ request_put: { key, value: encoder.encode(String(state.revision)) } }],
      failure: [{ request_range: { key } }],
    })
    const { next, compactTo } = afterTurn(state, response)
    if (compactTo === undefined) return { next, compacted: undefined }
    // A compaction that fails (already compacted further by hand, say) is not retried:
    // the next turn compacts to a later revision anyway.
    const compacted = yield* kv.compact({ revision: compactTo }).pipe(
      Effect.as(compactTo),
      Effect.orElseSucceed(() => undefined),
    )
    return { next, compacted }
  }).pipe(
    // An unreachable store: the state stays, and the next interval tries again.
    Effect.orElseSucceed(() => ({ next: state, compacted: undefined })),
  )

/** Runs the compactor in the scope: a turn every `intervalMs`. */
export const runCompactor = (
  kv: KVShape,
  intervalMs: number = defaultCompactionIntervalMs,
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.asVoid(
    Effect.forkScoped(
      Effect.gen(function* () {
        let state = initialCompactorState
        while (true) {
          yield* Effect.sleep(Duration.millis(intervalMs))
          state = (yield* compactTurn(kv, state)).next
        }
      }),
    ),
  )
