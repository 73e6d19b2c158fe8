// Embedded clusters on the live clock with real files: a 3-member cluster on
// a data directory keeps its data across restarts (what `flotilla up` needs),
// and a single member works alone.
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Applier } from "../src/applier.ts"
import { fromUtf8, utf8 } from "../src/core/bytes.ts"
import { makeEmbeddedCluster } from "../src/embedded.ts"
import { KV } from "../src/kv.ts"

const values = (kv: KV["Service"]) =>
  Effect.map(kv.range({ key: utf8("k/"), range_end: utf8("k0") }), (r) =>
    r.kvs.map((e) => `${fromUtf8(e.key)}=${fromUtf8(e.value)}`),
  )

describe("embedded clusters on disk", () => {
  it.live("keep their data across restarts", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flotilla-embedded-"))
    const life = <A, E>(f: (kv: KV["Service"]) => Effect.Effect<A, E>) =>
      Effect.scoped(
        Effect.flatMap(makeEmbeddedCluster({ dataDir: dir, tickMs: 20, snapshotCount: 8 }), (c) =>
          f(c.members[0]!.get(KV)),
        ),
      )
    return Effect.gen(function* () {
      const written = yield* life((kv) =>
        Effect.gen(function* () {
          for (let i = 0; i < 20; i++) {
            yield* kv.put({ key: utf8(`k/${String(i).padStart(2, "0")}`), value: utf8(`v${i}`) })
          }
          return yield* values(kv)
        }),
      )
      assert.strictEqual(written.length, 20)
      // Again on the same directory: snapshots and logs are read back.
      const read = yield* life((kv) =>
        Effect.gen(function* () {
          const before = yield* values(kv)
          yield* kv.put({ key: utf8("k/20"), value: utf8("v20") })
          return { before, after: yield* values(kv) }
        }),
      )
      assert.deepStrictEqual(read.before, written)
      assert.strictEqual(read.after.length, 21)
    }).pipe(
      Effect.timeout("60 seconds"),
      Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))),
    )
  })

  it.live("refuses to start when one member's log is gone and the others kept theirs", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flotilla-embedded-"))
    const start = Effect.scoped(
      Effect.flatMap(makeEmbeddedCluster({ dataDir: dir, tickMs: 20 }), (c) =>
        c.members[0]!.get(KV).put({ key: utf8("k/1"), value: utf8("v") }),
      ),
    )
    return Effect.gen(function* () {
      yield* start
      // m2 loses its log (its directory is left, empty of segments).
      for (const f of readdirSync(path.join(dir, "m2")))
        if (f.endsWith(".wal")) rmSync(path.join(dir, "m2", f))
      const refused = yield* Effect.flip(start)
      assert.strictEqual(refused._tag, "StorageFailure")
      assert.include(refused.message, path.join(dir, "m2"))
      assert.include(refused.message, "could vote twice in a term")
      // The whole directory gone: a new, empty store starts.
      rmSync(dir, { recursive: true, force: true })
      yield* start
    }).pipe(
      Effect.timeout("60 seconds"),
      Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))),
    )
  })

  it.live("runs with one member", () =>
    Effect.gen(function* () {
      const kv = yield* KV
      const put = yield* kv.put({ key: utf8("solo"), value: utf8("1") })
      const got = yield* kv.range({ key: utf8("solo") })
      assert.strictEqual(fromUtf8(got.kvs[0]!.value), "1")
      assert.strictEqual(got.header.revision, put.header.revision)
      const status = yield* (yield* Applier).status
      assert.strictEqual(status.leader, status.memberId)
    }).pipe(
      Effect.provide(Layer.fresh(KV.layerRaft({ members: 1, tickMs: 20 }))),
      Effect.timeout("30 seconds"),
    ),
  )
})
