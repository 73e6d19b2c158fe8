// The compactor, as Kubernetes' API server runs it: each turn compacts the
// store to the revision of the turn before, and servers sharing a store take
// turns through one key's version, so each interval compacts once.
import { assert, describe, it } from "@effect/vitest"
import { KV, type KVShape } from "@flotilla/store"
import { Effect, Exit } from "effect"
import { TestClock } from "effect/testing"
import {
  type CompactorState,
  compactRevKey,
  compactTurn,
  initialCompactorState,
  runCompactor,
} from "../src/compactor.ts"
import { keyBytes } from "../src/core/keys.ts"

const encoder = new TextEncoder()
const key = "/registry/pods/default/x"
const put = (kv: KVShape, value: string) =>
  Effect.map(
    Effect.orDie(kv.put({ key: keyBytes(key), value: encoder.encode(value) })),
    (r) => r.header.revision,
  )
/** Whether the key can still be read at `revision` (false once it is compacted). */
const readableAt = (kv: KVShape, revision: number) =>
  Effect.map(Effect.exit(kv.range({ key: keyBytes(key), revision })), Exit.isSuccess)
const settle = Effect.gen(function* () {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow
})

describe("compactor", () => {
  it.effect("compacts every interval to the revision of the turn before", () =>
    Effect.gen(function* () {
      const kv = yield* KV
      yield* runCompactor(kv, 60_000)
      const r1 = yield* put(kv, "1")
      yield* TestClock.adjust("1 minute")
      yield* settle
      // The first turn only notes the revision: nothing is compacted yet.
      assert.isTrue(yield* readableAt(kv, r1))
      const r2 = yield* put(kv, "2")
      yield* TestClock.adjust("1 minute")
      yield* settle
      // The second compacts to the first turn's revision, which is after r1 and before r2.
      assert.isFalse(yield* readableAt(kv, r1))
      assert.isTrue(yield* readableAt(kv, r2))
      const r3 = yield* put(kv, "3")
      yield* TestClock.adjust("1 minute")
      yield* settle
      assert.isFalse(yield* readableAt(kv, r2))
      assert.isTrue(yield* readableAt(kv, r3))
    }).pipe(Effect.provide(KV.layerMemory()), Effect.scoped),
  )

  it.effect("lets servers sharing a store take turns: one compaction per interval", () =>
    Effect.gen(function* () {
      const kv = yield* KV
      let a: CompactorState = initialCompactorState
      let b: CompactorState = initialCompactorState
      let last = 0
      for (let turn = 0; turn < 8; turn++) {
        yield* put(kv, String(turn))
        // Either server may reach the store first.
        const order = turn % 3 === 1 ? ["b", "a"] : ["a", "b"]
        const compacted: Array<number> = []
        for (const who of order) {
          const r = yield* compactTurn(kv, who === "a" ? a : b)
          if (who === "a") a = r.next
          else b = r.next
          if (r.compacted !== undefined) compacted.push(r.compacted)
        }
        const version = (yield* Effect.orDie(kv.range({ key: keyBytes(compactRevKey) }))).kvs[0]
          ?.version
        // Exactly one server claimed the turn (the key's version counts turns).
        assert.strictEqual(version, turn + 1)
        // From the second turn on, exactly one compaction, each past the last.
        assert.strictEqual(compacted.length, turn === 0 ? 0 : 1)
        for (const c of compacted) {
          assert.isAbove(c, last)
          last = c
        }
      }
    }).pipe(Effect.provide(KV.layerMemory())),
  )
})
