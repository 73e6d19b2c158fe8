// The README's examples run and print what the README says.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { program } from "../examples/kv.ts"
import { KV } from "../src/kv.ts"

describe("examples/kv.ts", () => {
  it.effect("prints the put, the swap, the range, the watch and the lease", () =>
    Effect.gen(function* () {
      const lines = yield* program
      assert.deepStrictEqual(lines, [
        "put at revision 2",
        "cas succeeded: true",
        "config/mode = safe (version 2)",
        "watch: PUT config/mode = fast",
        "watch: PUT config/mode = safe",
        "after revoke: 0 key",
      ])
    }).pipe(Effect.provide(KV.layerMemory())),
  )
})
