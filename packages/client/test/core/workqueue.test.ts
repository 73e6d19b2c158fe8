import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  ControllerRateLimiter,
  ItemExponentialBackoff,
  TokenBucket,
  WorkQueueState,
} from "../../src/core/workqueue.ts"

const queue = () => new WorkQueueState<string>((s) => s)

describe("WorkQueueState", () => {
  it("queues an item once however often it is added", () => {
    const q = queue()
    q.add("a")
    q.add("b")
    q.add("a")
    expect(q.length).toBe(2)
    expect(q.get()).toBe("a")
    expect(q.get()).toBe("b")
    expect(q.get()).toBeUndefined()
  })

  it("never hands an item to two workers: re-adds while processing wait for done", () => {
    const q = queue()
    q.add("a")
    expect(q.get()).toBe("a")
    q.add("a")
    expect(q.get()).toBeUndefined()
    expect(q.isProcessing("a")).toBe(true)
    q.done("a")
    expect(q.get()).toBe("a")
    q.done("a")
    expect(q.get()).toBeUndefined()
  })

  it("ignores a done for an item no worker holds (a second done)", () => {
    const q = queue()
    q.add("a")
    expect(q.get()).toBe("a")
    q.done("a")
    q.add("a")
    // A worker calls done twice (say in a finalizer too): before the fix "a" was queued twice.
    q.done("a")
    expect(q.length).toBe(1)
    expect(q.get()).toBe("a")
    expect(q.get()).toBeUndefined()
    expect(q.isProcessing("a")).toBe(true)
    q.done("a")
    expect(q.get()).toBeUndefined()
  })

  it("releases delayed items at their time, the earliest time winning", () => {
    const q = queue()
    q.addAt("late", 100, 0)
    q.addAt("early", 50, 0)
    q.addAt("late", 30, 0)
    expect(q.nextReadyAt()).toBe(30)
    q.advance(29)
    expect(q.get()).toBeUndefined()
    q.advance(30)
    expect(q.get()).toBe("late")
    q.advance(50)
    expect(q.get()).toBe("early")
    expect(q.waitingCount).toBe(0)
  })

  it("stops accepting after shutdown but drains what it has", () => {
    const q = queue()
    q.add("a")
    q.shutDown()
    q.add("b")
    expect(q.get()).toBe("a")
    expect(q.get()).toBeUndefined()
  })

  it("releases delayed items in ready-time order, each once (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.integer({ min: 0, max: 20 }),
            at: fc.integer({ min: 1, max: 1000 }),
          }),
          {
            maxLength: 100,
          },
        ),
        (adds) => {
          const q = new WorkQueueState<number>(String)
          const earliest = new Map<number, number>()
          for (const a of adds) {
            q.addAt(a.key, a.at, 0)
            earliest.set(a.key, Math.min(earliest.get(a.key) ?? Number.POSITIVE_INFINITY, a.at))
          }
          const released: Array<[number, number]> = []
          for (let t = 0; t <= 1000; t++) {
            q.advance(t)
            for (let item = q.get(); item !== undefined; item = q.get()) {
              released.push([item, t])
              q.done(item)
            }
          }
          expect(released.length).toBe(earliest.size)
          for (const [item, t] of released) expect(t).toBe(earliest.get(item))
        },
      ),
    )
  })
})

describe("rate limiters", () => {
  it("backs off per item exponentially from 5 ms, capped, until forgotten", () => {
    const b = new ItemExponentialBackoff(5, 1000)
    expect([1, 2, 3, 4, 5].map(() => b.when("x"))).toEqual([5, 10, 20, 40, 80])
    expect(b.when("y")).toBe(5)
    for (let i = 0; i < 20; i++) b.when("x")
    expect(b.when("x")).toBe(1000)
    expect(b.numRequeues("x")).toBe(26)
    b.forget("x")
    expect(b.when("x")).toBe(5)
  })

  it("lets a burst through, then spaces requests at the bucket's rate", () => {
    const bucket = new TokenBucket(10, 3)
    expect([0, 0, 0].map((t) => bucket.reserve(t))).toEqual([0, 0, 0])
    expect(bucket.reserve(0)).toBe(100)
    expect(bucket.reserve(0)).toBe(200)
    expect(bucket.reserve(1000)).toBe(0)
  })

  it("takes the larger of backoff and bucket", () => {
    const limiter = new ControllerRateLimiter(
      new ItemExponentialBackoff(5, 1000),
      new TokenBucket(1, 1),
    )
    expect(limiter.when("a", 0)).toBe(5)
    expect(limiter.when("b", 0)).toBe(1000)
  })
})
