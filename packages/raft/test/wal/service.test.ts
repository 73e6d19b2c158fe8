import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { WalInputError, WalLockedError } from "../../src/wal/errors.ts"
import { Wal } from "../../src/wal/service.ts"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fsp.mkdtemp(path.join(os.tmpdir(), "flotilla-wal-"))),
  (dir) => Effect.promise(() => fsp.rm(dir, { recursive: true, force: true })),
)

const data = new Uint8Array([1, 2, 3])

describe("Wal service", () => {
  it.live("holds the directory for the layer's lifetime and reports typed errors", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* Effect.gen(function* () {
        const wal = yield* Wal
        assert.strictEqual(wal.recovery.lastIndex, 0)
        yield* wal.save({ term: 1, vote: "n1", commit: 0 }, [{ index: 1, term: 1, type: 0, data }])
        yield* wal.append([{ index: 2, term: 1, type: 1, data }])
        assert.strictEqual(yield* wal.lastIndex, 2)
        const gap = yield* Effect.flip(wal.append([{ index: 9, term: 1, type: 0, data }]))
        assert.instanceOf(gap, WalInputError)
        assert.strictEqual(gap._tag, "WalInputError")
        // While the layer is alive a second opener is refused.
        const locked = yield* Effect.flip(Effect.scoped(Layer.build(Wal.layer({ dir }))))
        assert.instanceOf(locked, WalLockedError)
      }).pipe(Effect.provide(Wal.layer({ dir, segmentBytes: 4096 })))

      // The layer released the directory: it opens again with the same contents.
      const recovery = yield* Effect.gen(function* () {
        return (yield* Wal).recovery
      }).pipe(Effect.provide(Wal.layer({ dir })))
      assert.deepStrictEqual(
        recovery.entries.map((e) => [e.index, e.type]),
        [
          [1, 0],
          [2, 1],
        ],
      )
      assert.deepStrictEqual(recovery.hardState, { term: 1, vote: "n1", commit: 0 })
    }).pipe(Effect.scoped),
  )
})
