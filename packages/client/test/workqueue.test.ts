// The work queue's Effect shell on the test clock.
import { assert, describe, it } from "@effect/vitest"
import { Clock, type Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import {
  ControllerRateLimiter,
  ItemExponentialBackoff,
  TokenBucket,
} from "../src/core/workqueue.ts"
import { makeWorkQueue } from "../src/workqueue.ts"

/** Advances the test clock in steps until the fiber is done. */
const until = <A>(fiber: Fiber.Fiber<A>, step: Duration.Input) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100 && fiber.pollUnsafe() === undefined; i++) {
      yield* TestClock.adjust(step)
      yield* Effect.yieldNow
    }
    return yield* Fiber.join(fiber)
  })

describe("makeWorkQueue", () => {
  it.effect("get waits for an item", () =>
    Effect.gen(function* () {
      const q = yield* makeWorkQueue<string>()
      const fiber = yield* Effect.forkChild(q.get)
      for (let i = 0; i < 3; i++) yield* Effect.yieldNow
      assert.isUndefined(fiber.pollUnsafe())
      yield* q.add("x")
      assert.strictEqual(yield* Fiber.join(fiber), "x")
    }),
  )

  it.effect("holds addAfter items until their time", () =>
    Effect.gen(function* () {
      const q = yield* makeWorkQueue<string>()
      yield* q.addAfter("later", "10 seconds")
      const fiber = yield* Effect.forkChild(q.get)
      yield* TestClock.adjust("9 seconds")
      yield* Effect.yieldNow
      assert.isUndefined(fiber.pollUnsafe())
      assert.strictEqual(yield* until(fiber, "1 second"), "later")
    }),
  )

  it.effect("backs off rate-limited items and forgets on success", () =>
    Effect.gen(function* () {
      const q = yield* makeWorkQueue<string>({
        rateLimiter: new ControllerRateLimiter(
          new ItemExponentialBackoff(1000, 60_000),
          new TokenBucket(1000, 1000),
        ),
      })
      yield* q.addRateLimited("x")
      assert.strictEqual(yield* until(yield* Effect.forkChild(q.get), "100 millis"), "x")
      yield* q.done("x")
      yield* q.addRateLimited("x")
      assert.strictEqual(yield* q.numRequeues("x"), 2)
      const second = yield* Effect.forkChild(q.get)
      yield* TestClock.adjust("1900 millis")
      yield* Effect.yieldNow
      assert.isUndefined(second.pollUnsafe())
      assert.strictEqual(yield* until(second, "100 millis"), "x")
      yield* q.forget("x")
      assert.strictEqual(yield* q.numRequeues("x"), 0)
    }),
  )

  it.effect(
    "a worker that finishes inside the wake-up does not take a second item (it was lost)",
    () =>
      Effect.gen(function* () {
        const q = yield* makeWorkQueue<string>()
        const seen: Array<string> = []
        yield* Effect.forkChild(
          Effect.gen(function* () {
            for (;;) {
              const key = yield* q.get
              if (key === undefined) return
              seen.push(key)
              yield* Effect.sleep(0)
              yield* q.done(key)
            }
          }),
        )
        yield* Effect.yieldNow
        // Both due at once: the timer's wake-up hands "a" to the waiting worker,
        // which runs, calls done, and done's own wake-up must not find it waiting still.
        yield* q.addAfter("a", "10 millis")
        yield* q.addAfter("b", "10 millis")
        for (let i = 0; i < 4; i++) {
          yield* TestClock.adjust("5 millis")
          yield* Effect.yieldNow
        }
        assert.deepStrictEqual(seen, ["a", "b"])
        assert.strictEqual(yield* q.length, 0)
      }),
  )

  it.effect("answers undefined once shut down", () =>
    Effect.gen(function* () {
      const q = yield* makeWorkQueue<string>()
      const fiber = yield* Effect.forkChild(q.get)
      yield* q.shutDown
      assert.isUndefined(yield* Fiber.join(fiber))
    }),
  )

  it("never gives one item to two workers, loses no add, honours delays, and drains on shutdown (property)", async () => {
    const request = fc.record({
      key: fc.integer({ min: 0, max: 4 }),
      at: fc.integer({ min: 0, max: 1000 }),
      delay: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 500 })),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(request, { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 5, maxLength: 5 }),
        (requests, workers, workTimes, failures) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const q = yield* makeWorkQueue<number>({
                  rateLimiter: new ControllerRateLimiter(
                    new ItemExponentialBackoff(5, 1000),
                    new TokenBucket(1000, 1000),
                  ),
                })
                /** Every request: key, when it was made, and how long it asked to wait. */
                const asked: Array<{ key: number; at: number; delay: number }> = []
                const starts: Array<{ key: number; at: number }> = []
                const active = new Set<number>()
                const overlaps: Array<number> = []
                const failuresLeft = [...failures]
                let n = 0
                const worker = Effect.gen(function* () {
                  for (;;) {
                    const key = yield* q.get
                    if (key === undefined) return
                    if (active.has(key)) overlaps.push(key)
                    active.add(key)
                    starts.push({ key, at: yield* Clock.currentTimeMillis })
                    yield* Effect.sleep(workTimes[n++ % workTimes.length] as number)
                    active.delete(key)
                    if ((failuresLeft[key] ?? 0) > 0) {
                      failuresLeft[key] = (failuresLeft[key] ?? 0) - 1
                      asked.push({ key, at: yield* Clock.currentTimeMillis, delay: -1 })
                      yield* q.addRateLimited(key)
                    } else yield* q.forget(key)
                    yield* q.done(key)
                  }
                })
                const fibers = []
                for (let w = 0; w < workers; w++) fibers.push(yield* Effect.forkChild(worker))
                const producer = yield* Effect.forkChild(
                  Effect.forEach(
                    [...requests].sort((a, b) => a.at - b.at),
                    (r) =>
                      Effect.gen(function* () {
                        const now = yield* Clock.currentTimeMillis
                        if (r.at > now) yield* Effect.sleep(r.at - now)
                        asked.push({ key: r.key, at: r.at, delay: r.delay })
                        yield* r.delay === 0 ? q.add(r.key) : q.addAfter(r.key, r.delay)
                      }),
                    { discard: true },
                  ),
                )
                for (let t = 0; t < 3000; t += 5) {
                  yield* TestClock.adjust(5)
                  for (let i = 0; i < 5; i++) yield* Effect.yieldNow
                }
                yield* Fiber.join(producer)
                assert.strictEqual(yield* q.length, 0)
                yield* q.shutDown
                // Shutdown wakes every waiting worker with undefined.
                for (const f of fibers) yield* Fiber.join(f)
                assert.deepStrictEqual(overlaps, [], "an item was processed by two workers at once")
                for (const a of asked) {
                  // Not lost: a worker took the item at or after the request (an add
                  // while it was processed waits for done).
                  assert.isTrue(
                    starts.some((s) => s.key === a.key && s.at >= a.at),
                    `request ${JSON.stringify(a)} was never processed`,
                  )
                }
                for (const s of starts) {
                  // Delays honoured: some request of the key was due by then.
                  assert.isTrue(
                    asked.some(
                      (a) =>
                        a.key === s.key && (a.delay === -1 ? a.at + 5 : a.at + a.delay) <= s.at,
                    ),
                    `key ${s.key} processed at ${s.at} before any request was due`,
                  )
                }
                // De-duplicated: never more starts than requests.
                assert.isAtMost(starts.length, asked.length)
                assert.isUndefined(yield* q.get)
              }),
            ).pipe(Effect.provide(TestClock.layer())),
          ),
      ),
      { numRuns: 40 },
    )
  })
})
