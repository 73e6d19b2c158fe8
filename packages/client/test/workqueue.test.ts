// The work queue's Effect shell on the test clock.
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
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

  it.effect("answers undefined once shut down", () =>
    Effect.gen(function* () {
      const q = yield* makeWorkQueue<string>()
      const fiber = yield* Effect.forkChild(q.get)
      yield* q.shutDown
      assert.isUndefined(yield* Fiber.join(fiber))
    }),
  )
})
