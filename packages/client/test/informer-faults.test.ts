// The reflector under faults, against a scripted client on the test clock:
// every retry backs off (no busy loop), Retry-After is honoured, a handler
// that throws does not stop the informer, and deletes missed while the watch
// was down reach the handlers after the relist.
import { assert, describe, it } from "@effect/vitest"
import type { Pod } from "@flotilla/api"
import { Effect, Stream } from "effect"
import { TestClock } from "effect/testing"
import {
  ApiStatusError,
  type ClientError,
  type List,
  type ResourceClient,
  TransportError,
  type WatchEvent,
  type WatchOptions,
} from "../src/client.ts"
import { backoffDelayMs, makeInformer, reflectorBackoff } from "../src/informer.ts"
import { goneEvent, pod } from "./support.ts"

const p = (name: string, rv: string): Pod => ({
  ...pod(name),
  metadata: { name, namespace: "default", resourceVersion: rv },
})

const list = (rv: string, ...names: Array<string>): List<Pod> => ({
  items: names.map((n) => p(n, rv)),
  resourceVersion: rv,
  continue: undefined,
})

const gone = goneEvent<Pod>("too old resource version")

/** A client whose lists and watches follow a script; it counts the calls. */
const scripted = (script: {
  readonly list: (n: number) => Effect.Effect<List<Pod>, ClientError>
  readonly watch: (n: number) => Stream.Stream<WatchEvent<Pod>, ClientError>
}) => {
  const calls = { list: 0, watch: 0 }
  /** The resourceVersion each watch asked for. */
  const watchedFrom: Array<string | undefined> = []
  const client = {
    listAll: () => Effect.suspend(() => script.list(calls.list++)),
    watch: (_: string, o?: WatchOptions) =>
      Stream.suspend(() => {
        watchedFrom.push(o?.resourceVersion)
        return script.watch(calls.watch++)
      }),
  } as unknown as ResourceClient<Pod>
  return { client, calls, watchedFrom }
}

/** Lets the informer's fiber run as far as it can without the clock moving. */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow
})

/** Moves the test clock on, then settles. */
const step = (ms: number) => Effect.andThen(TestClock.adjust(ms), settle)

/** An informer over `client`, synced and settled. */
const synced = (client: ResourceClient<Pod>) =>
  Effect.gen(function* () {
    const informer = yield* makeInformer(client)
    yield* informer.waitForSync
    yield* settle
    return informer
  })

describe("reflector backoff", () => {
  it("doubles from 0.8 s to 30 s, and a Retry-After longer than the step wins (capped)", () => {
    assert.deepStrictEqual(
      [0, 1, 2, 5, 6, 100].map((n) => backoffDelayMs(n)),
      [800, 1600, 3200, 25_600, 30_000, 30_000],
    )
    assert.strictEqual(backoffDelayMs(0, 10), 10_000)
    assert.strictEqual(backoffDelayMs(5, 10), 25_600)
    assert.strictEqual(backoffDelayMs(0, 1e9), reflectorBackoff.maxRetryAfterMs)
  })

  it.effect("a watch the server closes at once is retried once per backoff step", () =>
    Effect.gen(function* () {
      const { client, calls } = scripted({
        list: () => Effect.succeed(list("5", "a")),
        watch: () => Stream.empty,
      })
      const informer = yield* makeInformer(client)
      yield* informer.waitForSync
      yield* settle
      // Before the fix this looped without waiting: thousands of watches a second.
      assert.strictEqual(calls.watch, 1)
      yield* TestClock.adjust("799 millis")
      yield* settle
      assert.strictEqual(calls.watch, 1)
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.strictEqual(calls.watch, 2)
      yield* TestClock.adjust("1600 millis")
      yield* settle
      assert.strictEqual(calls.watch, 3)
      assert.strictEqual(calls.list, 1)
      assert.deepStrictEqual(informer.indexer.keys(), ["default/a"])
    }),
  )

  it.effect(
    "a watch that only repeats a bookmark at the same revision is retried once per step",
    () =>
      Effect.gen(function* () {
        const { client, calls } = scripted({
          list: () => Effect.succeed(list("5", "a")),
          watch: () => Stream.make({ type: "BOOKMARK", resourceVersion: "5" } as const),
        })
        const informer = yield* makeInformer(client)
        yield* informer.waitForSync
        yield* settle
        // Before the fix the bookmark counted as progress: watch after watch, no pause.
        assert.strictEqual(calls.watch, 1)
        yield* TestClock.adjust("800 millis")
        yield* settle
        assert.strictEqual(calls.watch, 2)
      }),
  )

  it.effect("a short watch that moves the revision on is resumed at once", () =>
    Effect.gen(function* () {
      const { client, watchedFrom } = scripted({
        list: () => Effect.succeed(list("5", "a")),
        watch: (n) =>
          n < 3
            ? Stream.make({ type: "BOOKMARK", resourceVersion: String(6 + n) } as const)
            : Stream.never,
      })
      const informer = yield* makeInformer(client)
      yield* informer.waitForSync
      yield* settle
      assert.deepStrictEqual(watchedFrom, ["5", "6", "7", "8"])
    }),
  )

  it.effect("a watch answered with 410 every time relists once per backoff step", () =>
    Effect.gen(function* () {
      const { client, calls } = scripted({
        list: (n) => Effect.succeed(list(String(5 + n), "a")),
        watch: () => Stream.make(gone),
      })
      const informer = yield* makeInformer(client)
      yield* informer.waitForSync
      yield* settle
      // Before the fix: list, watch, 410, list, ... with no pause.
      assert.strictEqual(calls.list, 1)
      yield* TestClock.adjust("800 millis")
      yield* settle
      assert.strictEqual(calls.list, 2)
      yield* TestClock.adjust("1599 millis")
      yield* settle
      assert.strictEqual(calls.list, 2)
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.strictEqual(calls.list, 3)
      assert.strictEqual(yield* informer.resourceVersion, "7")
    }),
  )

  it.effect(
    "lists again when the server is behind the revision (504 ResourceVersionTooLarge)",
    () =>
      Effect.gen(function* () {
        const tooLarge = {
          apiVersion: "v1",
          kind: "Status",
          code: 504,
          reason: "Timeout",
          message: "Timeout: Too large resource version: 500, current: 7",
          details: {
            causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
          },
        }
        const { client, calls, watchedFrom } = scripted({
          // The store was reset: the second list is at revision 7.
          list: (n) => Effect.succeed(n === 0 ? list("500", "a") : list("7", "b")),
          watch: (n) =>
            n === 0
              ? Stream.fail(
                  new ApiStatusError({
                    code: 504,
                    reason: "Timeout",
                    message: tooLarge.message,
                    status: tooLarge,
                  }),
                )
              : n === 1
                ? Stream.make({ type: "ERROR", status: tooLarge } as unknown as WatchEvent<Pod>)
                : Stream.never,
        })
        const informer = yield* makeInformer(client)
        const deleted: Array<string> = []
        yield* informer.addEventHandler({ onDelete: (o) => deleted.push(o.metadata.name ?? "") })
        yield* informer.waitForSync
        for (let i = 0; i < 10 && calls.list < 3; i++) {
          yield* settle
          yield* TestClock.adjust("2 seconds")
        }
        yield* settle
        // Before the fix the watch from 500 was retried for ever; the cache kept a.
        assert.strictEqual(calls.list, 3)
        assert.deepStrictEqual(watchedFrom, ["500", "7", "7"])
        assert.deepStrictEqual(deleted, ["a"])
        assert.deepStrictEqual(informer.indexer.keys(), ["default/b"])
      }),
  )

  it.effect("honours a 503's Retry-After on the list", () =>
    Effect.gen(function* () {
      const unavailable = new ApiStatusError({
        code: 503,
        reason: "ServiceUnavailable",
        message: "the store is not ready",
        status: {},
        retryAfterSeconds: 5,
      })
      const { client, calls } = scripted({
        list: (n) => (n === 0 ? Effect.fail(unavailable) : Effect.succeed(list("5", "a"))),
        watch: () => Stream.never,
      })
      const informer = yield* makeInformer(client)
      yield* settle
      yield* step(4999)
      assert.strictEqual(calls.list, 1)
      yield* step(1)
      assert.strictEqual(calls.list, 2)
      assert.isTrue(yield* informer.hasSynced)
    }),
  )

  it.effect("says why it is retrying until a list succeeds", () =>
    Effect.gen(function* () {
      const refused = new TransportError({ message: "GET ...: fetch failed: connect ECONNREFUSED" })
      const { client } = scripted({
        list: (n) => (n < 2 ? Effect.fail(refused) : Effect.succeed(list("5", "a"))),
        watch: () => Stream.never,
      })
      const informer = yield* makeInformer(client)
      yield* settle
      assert.strictEqual(
        yield* informer.lastError,
        "list failed: GET ...: fetch failed: connect ECONNREFUSED",
      )
      assert.isFalse(yield* informer.hasSynced)
      yield* step(800)
      yield* step(1600)
      assert.isTrue(yield* informer.hasSynced)
      assert.isUndefined(yield* informer.lastError)
    }),
  )

  it.effect("gives up on a list that takes over 60 s and lists again", () =>
    Effect.gen(function* () {
      const { client, calls } = scripted({
        list: (n) => (n === 0 ? Effect.never : Effect.succeed(list("5", "a"))),
        watch: () => Stream.never,
      })
      const informer = yield* makeInformer(client)
      yield* settle
      yield* TestClock.adjust(reflectorBackoff.listTimeoutMs - 1)
      yield* settle
      assert.strictEqual(calls.list, 1)
      // Timed out at 60 s, then the first backoff step.
      yield* TestClock.adjust(1 + reflectorBackoff.initialMs)
      yield* settle
      assert.strictEqual(calls.list, 2)
      assert.isTrue(yield* informer.hasSynced)
    }),
  )

  it.effect("honours a 429's Retry-After on the watch", () =>
    Effect.gen(function* () {
      const { client, calls } = scripted({
        list: () => Effect.succeed(list("5", "a")),
        watch: (n) =>
          n === 0
            ? Stream.fail(
                new ApiStatusError({
                  code: 429,
                  reason: "TooManyRequests",
                  message: "slow down",
                  status: {},
                  retryAfterSeconds: 10,
                }),
              )
            : Stream.never,
      })
      const informer = yield* makeInformer(client)
      yield* informer.waitForSync
      yield* settle
      assert.strictEqual(calls.watch, 1)
      // Before the fix the watch was retried after a second whatever the server asked.
      yield* TestClock.adjust("9999 millis")
      yield* settle
      assert.strictEqual(calls.watch, 1)
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.strictEqual(calls.watch, 2)
    }),
  )

  it.effect("backs off failed watches exponentially, and starts over after two quiet minutes", () =>
    Effect.gen(function* () {
      const refused = new TransportError({ message: "connect ECONNREFUSED 127.0.0.1:1" })
      const { client, calls } = scripted({
        list: () => Effect.succeed(list("5", "a")),
        watch: (n) =>
          n === 5
            ? // Up for three minutes, then the connection drops.
              Stream.fromEffect(Effect.andThen(Effect.sleep("3 minutes"), Effect.fail(refused)))
            : n < 7
              ? Stream.fail(refused)
              : Stream.never,
      })
      const informer = yield* makeInformer(client)
      yield* informer.waitForSync
      yield* settle
      assert.strictEqual(calls.watch, 1)
      /** The next watch starts exactly `ms` from now. */
      const nextAfter = (ms: number) =>
        Effect.gen(function* () {
          const before = calls.watch
          yield* TestClock.adjust(ms - 1)
          yield* settle
          assert.strictEqual(calls.watch, before, `no watch before ${ms} ms`)
          yield* TestClock.adjust(1)
          yield* settle
          assert.strictEqual(calls.watch, before + 1, `a watch at ${ms} ms`)
        })
      // Before the fix: every second, whatever the count.
      for (const ms of [800, 1600, 3200, 6400]) yield* nextAfter(ms)
      yield* nextAfter(12_800) // watch 5: up for three minutes
      yield* TestClock.adjust("3 minutes")
      yield* settle
      assert.strictEqual(calls.watch, 6)
      // Back to the first step (not 25.6 s) after two minutes without a retry.
      yield* nextAfter(800)
      assert.deepStrictEqual(informer.indexer.keys(), ["default/a"])
    }),
  )
})

describe("informer handlers", () => {
  it.effect("a handler that throws is logged and skipped; the informer goes on", () =>
    Effect.gen(function* () {
      const { client } = scripted({
        list: () => Effect.succeed(list("5", "a")),
        watch: (n) =>
          n === 0 ? Stream.make({ type: "ADDED", object: p("b", "6") } as const) : Stream.never,
      })
      const informer = yield* makeInformer(client)
      const seen: Array<string> = []
      yield* informer.addEventHandler({
        onAdd: (o) => {
          if (o.metadata.name === "a") throw new Error("handler bug")
          seen.push(o.metadata.name ?? "")
        },
      })
      yield* informer.addEventHandler({ onAdd: (o) => seen.push(`other ${o.metadata.name}`) })
      yield* informer.waitForSync
      yield* settle
      // Before the fix the throw killed the reflector: b never arrived.
      assert.deepStrictEqual(seen, ["other a", "b", "other b"])
      assert.deepStrictEqual(informer.indexer.keys().sort(), ["default/a", "default/b"])
      assert.strictEqual(yield* informer.resourceVersion, "6")
    }),
  )
})

describe("informer revisions and resync", () => {
  it.effect("an event without a resourceVersion does not reset the revision to resume from", () =>
    Effect.gen(function* () {
      const noRv = { ...p("b", ""), metadata: { name: "b", namespace: "default" } }
      const { client, watchedFrom } = scripted({
        list: () => Effect.succeed(list("5", "a")),
        watch: (n) =>
          n === 0
            ? Stream.make(
                { type: "ADDED", object: noRv } as const,
                {
                  type: "BOOKMARK",
                  resourceVersion: "",
                } as const,
              )
            : Stream.never,
      })
      const informer = yield* synced(client)
      // No revision moved: the next watch waits the first backoff step.
      yield* step(800)
      // Before the fix the second watch asked for "" (the server's present),
      // skipping every change after revision 5.
      assert.deepStrictEqual(watchedFrom, ["5", "5"])
      assert.strictEqual(yield* informer.resourceVersion, "5")
      assert.deepStrictEqual(informer.indexer.keys().sort(), ["default/a", "default/b"])
    }),
  )

  it.effect("a resync period of 0 means never; under a second means a second", () =>
    Effect.gen(function* () {
      const { client } = scripted({
        list: () => Effect.succeed(list("5", "a")),
        watch: () => Stream.never,
      })
      let never = 0
      let fast = 0
      const zero = yield* makeInformer(client, { resyncPeriod: 0 })
      yield* zero.addEventHandler({ onUpdate: () => never++ })
      const tenth = yield* makeInformer(client, { resyncPeriod: "100 millis" })
      yield* tenth.addEventHandler({ onUpdate: () => fast++ })
      yield* zero.waitForSync
      yield* tenth.waitForSync
      yield* settle
      // Before the fix a period of 0 resynced without pause.
      assert.strictEqual(never, 0)
      yield* TestClock.adjust("999 millis")
      yield* settle
      assert.strictEqual(fast, 0)
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.deepStrictEqual([never, fast], [0, 1])
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.deepStrictEqual([never, fast], [0, 11])
    }),
  )
})

describe("malformed watches", () => {
  it.effect("a watch event that cannot be read makes the informer list again, not replay it", () =>
    Effect.gen(function* () {
      const bad = new TransportError({
        message: "watch ...: the server sent a Pod that does not decode",
        malformed: true,
      })
      const { client, calls, watchedFrom } = scripted({
        // The bad event sits at revision 6; the second list is at 9, with b gone.
        list: (n) => Effect.succeed(n === 0 ? list("5", "a", "b") : list("9", "a")),
        watch: (n) => (n === 0 ? Stream.fail(bad) : Stream.never),
      })
      const deleted: Array<string> = []
      const informer = yield* makeInformer(client)
      yield* informer.addEventHandler({ onDelete: (o) => deleted.push(o.metadata.name ?? "") })
      yield* informer.waitForSync
      yield* settle
      yield* step(800)
      // Before the fix: watched from 5 again and again, the cache kept b for ever.
      assert.strictEqual(calls.list, 2)
      assert.deepStrictEqual(watchedFrom, ["5", "9"])
      assert.deepStrictEqual(deleted, ["b"])
    }),
  )
})

describe("informer defects", () => {
  it.effect("a defect while watching is logged and retried; the informer does not die", () =>
    Effect.gen(function* () {
      const { client, calls } = scripted({
        list: () => Effect.succeed(list("5", "a")),
        watch: (n) =>
          n === 0
            ? Stream.die(new Error("a bug somewhere"))
            : n === 1
              ? Stream.make({ type: "ADDED", object: p("b", "6") } as const)
              : Stream.never,
      })
      const informer = yield* synced(client)
      yield* step(800)
      // Before the fix the reflector's fiber died with the defect: no second watch.
      assert.strictEqual(calls.watch, 3)
      assert.deepStrictEqual(informer.indexer.keys().sort(), ["default/a", "default/b"])
    }),
  )
})

describe("informer indexes", () => {
  it.effect(
    "an index function that throws leaves that object out of that index; the informer goes on",
    () =>
      Effect.gen(function* () {
        const { client } = scripted({
          list: () => Effect.succeed(list("5", "a")),
          watch: (n) =>
            n === 0
              ? Stream.make(
                  { type: "ADDED", object: p("b", "6") } as const,
                  { type: "ADDED", object: p("c", "7") } as const,
                  { type: "DELETED", object: p("b", "8") } as const,
                )
              : Stream.never,
        })
        const informer = yield* makeInformer(client, {
          indexers: {
            first: (o) => {
              if (o.metadata.name === "b") throw new Error("no spec")
              return [(o.metadata.name ?? "").slice(0, 1)]
            },
          },
        })
        const added: Array<string> = []
        yield* informer.addEventHandler({ onAdd: (o) => added.push(o.metadata.name ?? "") })
        yield* informer.waitForSync
        yield* settle
        // Before the fix the throw killed the reflector: c and the delete never arrived.
        assert.deepStrictEqual(added, ["a", "b", "c"])
        assert.deepStrictEqual(informer.indexer.keys().sort(), ["default/a", "default/c"])
        assert.deepStrictEqual(informer.indexer.indexValues("first").sort(), ["a", "c"])
        assert.strictEqual(yield* informer.resourceVersion, "8")
      }),
  )
})
