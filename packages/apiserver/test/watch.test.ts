// Watch delivery: fast-check drives random writes while many watchers start
// at random past revisions (and at random moments); each must see exactly
// the changes after its revision, once each and in order. Plus the watch
// protocol's edges: synthetic ADDED events, Tables in events, selectors that
// turn updates into ADDED/DELETED, bookmarks, and 410 for compacted revisions.
import { assert, describe, it } from "@effect/vitest"
import { KV } from "@flotilla/store"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { it as vitestIt } from "vitest"
import { type Doc, makeApi, pod } from "./support-handler.ts"

const pods = "/api/v1/namespaces/default/pods"
const names = ["a", "b", "c", "d"] as const

interface Op {
  readonly kind: "write" | "delete"
  readonly name: (typeof names)[number]
}

interface Watcher {
  /** Index of the op before which its start revision was current. */
  readonly from: number
  /** How many ops after `from` it is started (it starts in the past). */
  readonly lag: number
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom("write" as const, "write" as const, "delete" as const),
  name: fc.constantFrom(...names),
})

interface Expected {
  readonly type: string
  readonly name: string
  readonly rv: string
}

describe("watch delivery", () => {
  vitestIt.each([
    ["through the watch cache", { caches: true }],
    [
      "with a 3-change cache history, older revisions from the store",
      { caches: true, historySize: 3 },
    ],
    ["on direct store watches", { caches: false }],
    ["through the watch cache, pushed as the HTTP shell takes it", { caches: true, push: true }],
  ] as const)(
    "every watcher sees exactly the changes after its revision, in order (%s)",
    async (_, mode) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb, { minLength: 1, maxLength: 30 }),
          fc.array(fc.record({ from: fc.nat(), lag: fc.nat({ max: 10 }) }), {
            minLength: 1,
            maxLength: 12,
          }),
          (ops, rawWatchers) =>
            Effect.runPromise(
              Effect.gen(function* () {
                const api = yield* makeApi(mode)
                const watchers: Array<Watcher> = rawWatchers.map((w) => ({
                  from: w.from % (ops.length + 1),
                  lag: w.lag,
                }))
                // revisions[i]: the store's revision before op i.
                const revisions: Array<string> = []
                const expected: Array<Expected> = []
                const live = new Map<string, boolean>()
                const started: Array<{
                  readonly w: Watcher
                  readonly fiber: Fiber.Fiber<Array<Doc>>
                }> = []
                const startDue = (i: number) =>
                  Effect.gen(function* () {
                    for (const w of watchers) {
                      if (Math.min(w.from + w.lag, ops.length) !== i) continue
                      const stream = yield* api.watch(pods, {
                        resourceVersion: revisions[w.from] as string,
                      })
                      const fiber = yield* stream.pipe(
                        Stream.takeUntil((e: Doc) => e.object?.metadata?.name === "zz-end"),
                        Stream.runCollect,
                        Effect.forkChild,
                      )
                      started.push({ w, fiber })
                    }
                  })
                for (let i = 0; i < ops.length; i++) {
                  const list = yield* api.call("GET", pods)
                  revisions.push(list.body.metadata.resourceVersion)
                  yield* startDue(i)
                  const op = ops[i] as Op
                  if (op.kind === "write") {
                    if (live.get(op.name) === true) {
                      const r = yield* api.call("PATCH", `${pods}/${op.name}`, {
                        contentType: "application/merge-patch+json",
                        body: { metadata: { labels: { step: String(i) } } },
                      })
                      expected.push({
                        type: "MODIFIED",
                        name: op.name,
                        rv: r.body.metadata.resourceVersion,
                      })
                    } else {
                      const r = yield* api.call("POST", pods, { body: pod(op.name) })
                      expected.push({
                        type: "ADDED",
                        name: op.name,
                        rv: r.body.metadata.resourceVersion,
                      })
                      live.set(op.name, true)
                    }
                  } else if (live.get(op.name) === true) {
                    const r = yield* api.call("DELETE", `${pods}/${op.name}`)
                    expected.push({
                      type: "DELETED",
                      name: op.name,
                      rv: r.body.metadata.resourceVersion,
                    })
                    live.set(op.name, false)
                  } else {
                    expected.push({ type: "NONE", name: op.name, rv: "" })
                  }
                }
                revisions.push((yield* api.call("GET", pods)).body.metadata.resourceVersion)
                yield* startDue(ops.length)
                yield* api.call("POST", pods, { body: pod("zz-end") })
                for (const { w, fiber } of started) {
                  const events = yield* Fiber.join(fiber)
                  const seen = events.slice(0, -1).map((e: Doc) => ({
                    type: e.type,
                    name: e.object.metadata.name,
                    rv: e.object.metadata.resourceVersion,
                  }))
                  const want = expected.slice(w.from).filter((e) => e.type !== "NONE")
                  assert.deepStrictEqual(seen, want)
                }
              }).pipe(Effect.provide(KV.layerMemory()), Effect.scoped),
            ),
        ),
        { numRuns: 40 },
      )
    },
  )
})

describe("watch protocol", () => {
  it.effect("starts with synthetic ADDED events only when no resourceVersion is given", () =>
    Effect.gen(function* () {
      const api = yield* makeApi()
      yield* api.call("POST", pods, { body: pod("a") })
      const listed = yield* api.call("GET", pods)
      const fromList = yield* api.watch(pods, {
        resourceVersion: listed.body.metadata.resourceVersion,
      })
      const fromNothing = yield* api.watch(pods)
      const fromZero = yield* api.watch(pods, { resourceVersion: "0" })
      const f1 = yield* Effect.forkChild(Stream.runCollect(Stream.take(fromList, 1)))
      const f2 = yield* Effect.forkChild(Stream.runCollect(Stream.take(fromNothing, 2)))
      const f3 = yield* Effect.forkChild(Stream.runCollect(Stream.take(fromZero, 2)))
      yield* api.call("POST", pods, { body: pod("b") })
      const names = (events: ReadonlyArray<Doc>) =>
        events.map((e) => `${e.type} ${e.object.metadata.name}`)
      assert.deepStrictEqual(names(yield* Fiber.join(f1)), ["ADDED b"])
      assert.deepStrictEqual(names(yield* Fiber.join(f2)), ["ADDED a", "ADDED b"])
      assert.deepStrictEqual(names(yield* Fiber.join(f3)), ["ADDED a", "ADDED b"])
    }).pipe(Effect.provide(KV.layerMemory())),
  )

  it.effect("turns label changes into ADDED and DELETED for a selector, and sends Table rows", () =>
    Effect.gen(function* () {
      const api = yield* makeApi()
      const created = yield* api.call("POST", pods, { body: pod("a") })
      const stream = yield* api.watch(
        pods,
        { resourceVersion: created.body.metadata.resourceVersion, labelSelector: "tier=web" },
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
      )
      const fiber = yield* Effect.forkChild(Stream.runCollect(Stream.take(stream, 2)))
      const label = (value: string | null) =>
        api.call("PATCH", `${pods}/a`, {
          contentType: "application/merge-patch+json",
          body: { metadata: { labels: { tier: value } } },
        })
      yield* label("web")
      yield* label("db")
      const events = yield* Fiber.join(fiber)
      assert.deepStrictEqual(
        events.map((e: Doc) => e.type),
        ["ADDED", "DELETED"],
      )
      assert.strictEqual(events[0].object.kind, "Table")
      assert.deepStrictEqual(events[0].object.rows[0].cells.slice(0, 3), ["a", "0/1", "Pending"])
      assert.strictEqual(events[0].object.columnDefinitions[0].name, "Name")
    }).pipe(Effect.provide(KV.layerMemory())),
  )

  it.effect("sends bookmarks when allowed", () =>
    Effect.gen(function* () {
      const api = yield* makeApi({ bookmarkIntervalMs: 1000 })
      const listed = yield* api.call("GET", pods)
      const stream = yield* api.watch(pods, {
        resourceVersion: listed.body.metadata.resourceVersion,
        allowWatchBookmarks: "true",
      })
      const fiber = yield* Effect.forkChild(Stream.runCollect(Stream.take(stream, 1)))
      // Advance the test clock until the watch's timer has fired (it registers when the fiber runs).
      for (let i = 0; i < 20 && fiber.pollUnsafe() === undefined; i++) {
        yield* TestClock.adjust("1 second")
        yield* Effect.yieldNow
      }
      const [bookmark] = yield* Fiber.join(fiber)
      assert.strictEqual(bookmark.type, "BOOKMARK")
      assert.strictEqual(bookmark.object.kind, "Pod")
      assert.strictEqual(
        bookmark.object.metadata.resourceVersion,
        listed.body.metadata.resourceVersion,
      )
    }).pipe(Effect.provide(KV.layerMemory())),
  )

  it.effect("answers a compacted revision with a 410 Expired event (direct store watch)", () =>
    Effect.gen(function* () {
      const api = yield* makeApi({ caches: false })
      const first = yield* api.call("POST", pods, { body: pod("a") })
      yield* api.call("POST", pods, { body: pod("b") })
      yield* api.call("POST", pods, { body: pod("c") })
      const latest = yield* api.call("GET", pods)
      const kv = yield* KV
      yield* kv.compact({ revision: Number(latest.body.metadata.resourceVersion) })
      const stream = yield* api.watch(pods, {
        resourceVersion: first.body.metadata.resourceVersion,
      })
      const [event] = yield* Stream.runCollect(Stream.take(stream, 1))
      assert.strictEqual(event.type, "ERROR")
      assert.strictEqual(event.object.code, 410)
      assert.strictEqual(event.object.reason, "Expired")
      const list = yield* api.call("GET", pods, {
        query: {
          resourceVersion: first.body.metadata.resourceVersion,
          resourceVersionMatch: "Exact",
        },
      })
      assert.strictEqual(list.status, 410)
    }).pipe(Effect.provide(KV.layerMemory())),
  )

  it.effect(
    "serves old revisions past the cache's history from the store, 410 once compacted",
    () =>
      Effect.gen(function* () {
        const api = yield* makeApi({ historySize: 2 })
        const first = yield* api.call("POST", pods, { body: pod("a") })
        for (const n of ["b", "c", "d"]) yield* api.call("POST", pods, { body: pod(n) })
        // Older than the cache's two changes: a direct store watch, still complete.
        const fromStore = yield* api.watch(pods, {
          resourceVersion: first.body.metadata.resourceVersion,
        })
        const events = yield* Stream.runCollect(Stream.take(fromStore, 3))
        assert.deepStrictEqual(
          events.map((e: Doc) => e.object.metadata.name),
          ["b", "c", "d"],
        )
        const kv = yield* KV
        const latest = yield* api.call("GET", pods)
        yield* kv.compact({ revision: Number(latest.body.metadata.resourceVersion) })
        const [gone] = yield* Stream.runCollect(
          Stream.take(
            yield* api.watch(pods, { resourceVersion: first.body.metadata.resourceVersion }),
            1,
          ),
        )
        assert.strictEqual(gone.type, "ERROR")
        assert.strictEqual(gone.object.code, 410)
      }).pipe(Effect.provide(KV.layerMemory())),
  )

  it.effect("ends at timeoutSeconds", () =>
    Effect.gen(function* () {
      const api = yield* makeApi()
      const listed = yield* api.call("GET", pods)
      const stream = yield* api.watch(pods, {
        resourceVersion: listed.body.metadata.resourceVersion,
        timeoutSeconds: "5",
      })
      const fiber = yield* Effect.forkChild(Stream.runCollect(stream))
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow
      assert.strictEqual(fiber.pollUnsafe(), undefined, "the watch ended before its timeout")
      for (let i = 0; i < 20 && fiber.pollUnsafe() === undefined; i++) {
        yield* TestClock.adjust("5 seconds")
        yield* Effect.yieldNow
      }
      const events = yield* Fiber.join(fiber)
      assert.deepStrictEqual(events, [])
    }).pipe(Effect.provide(KV.layerMemory())),
  )
})

describe("slow watchers", () => {
  it.effect(
    "end when too far behind, and lose nothing by watching again from their last revision",
    () =>
      Effect.gen(function* () {
        const api = yield* makeApi({ maxPendingWatchChunks: 3 })
        const listed = yield* api.call("GET", pods)
        const stream = yield* api.watch(pods, {
          resourceVersion: listed.body.metadata.resourceVersion,
        })
        // The reader takes the first change, then stops reading while nine more happen.
        const gate = yield* Deferred.make<void>()
        const first: Array<Doc> = []
        const reader = yield* Effect.forkChild(
          Stream.runForEach(stream, (e: Doc) =>
            Effect.andThen(
              Effect.sync(() => first.push(e)),
              Deferred.await(gate),
            ),
          ),
        )
        const names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
        yield* api.call("POST", pods, { body: pod("a") })
        for (let i = 0; i < 10 && first.length === 0; i++) yield* Effect.yieldNow
        for (const n of names.slice(1)) yield* api.call("POST", pods, { body: pod(n) })
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(reader)
        assert.isBelow(first.length, names.length)
        assert.deepStrictEqual(
          first.map((e: Doc) => e.object.metadata.name),
          names.slice(0, first.length),
        )
        const last = first[first.length - 1].object.metadata.resourceVersion
        const rest = yield* Stream.runCollect(
          Stream.take(
            yield* api.watch(pods, { resourceVersion: last }),
            names.length - first.length,
          ),
        )
        assert.deepStrictEqual(
          [...first, ...rest].map((e: Doc) => e.object.metadata.name),
          names,
        )
      }).pipe(Effect.provide(KV.layerMemory())),
  )
})

describe("event TTL", () => {
  it.effect("events vanish an hour after their last write, and watchers see them go", () =>
    Effect.gen(function* () {
      const api = yield* makeApi()
      const events = "/api/v1/namespaces/default/events"
      const event = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "e1" },
        involvedObject: { kind: "Pod", name: "p", namespace: "default" },
        reason: "Test",
        message: "m",
        type: "Normal",
      }
      const created = yield* api.call("POST", events, { body: event })
      assert.strictEqual(created.status, 201)
      const stream = yield* api.watch(events, {
        resourceVersion: created.body.metadata.resourceVersion,
        timeoutSeconds: "100000",
      })
      const fiber = yield* Effect.forkChild(Stream.runCollect(Stream.take(stream, 1)))
      yield* TestClock.adjust("30 minutes")
      yield* Effect.yieldNow
      assert.strictEqual((yield* api.call("GET", `${events}/e1`)).status, 200)
      for (let i = 0; i < 40 && fiber.pollUnsafe() === undefined; i++) {
        yield* TestClock.adjust("5 minutes")
        yield* Effect.yieldNow
      }
      const [deleted] = yield* Fiber.join(fiber)
      assert.strictEqual(deleted.type, "DELETED")
      assert.strictEqual(deleted.object.metadata.name, "e1")
      assert.strictEqual((yield* api.call("GET", `${events}/e1`)).status, 404)
      const pods = yield* api.call("POST", "/api/v1/namespaces/default/pods", {
        body: pod("stays"),
      })
      yield* TestClock.adjust("3 hours")
      yield* Effect.yieldNow
      assert.strictEqual(
        (yield* api.call("GET", `/api/v1/namespaces/default/pods/stays`)).status,
        200,
      )
      assert.strictEqual(pods.status, 201)
    }).pipe(Effect.provide(KV.layerMemory())),
  )
})
