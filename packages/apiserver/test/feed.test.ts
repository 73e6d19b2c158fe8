// The watch feed's rules: a consumer gets what was offered, in order, from
// the start, until the feed ends; what waits before it attaches is bounded;
// a consumer that refuses ends the feed; the end comes once.
import * as fc from "fast-check"
import { describe, expect, it, vi } from "vitest"
import { after, WatchFeed } from "../src/feed.ts"

type Step =
  | { readonly _tag: "offer"; readonly events: number }
  | { readonly _tag: "attach" }
  | { readonly _tag: "close" }

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ _tag: fc.constant("offer" as const), events: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "attach" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "close" as const }) },
)

describe("WatchFeed", () => {
  it("delivers a prefix of the offers in order, bounded before attaching, ending once (property)", () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.option(fc.nat(12), { nil: undefined }),
        (steps, maxPending, capacity) => {
          const feed = new WatchFeed(maxPending)
          const offered: Array<string> = []
          let written = ""
          let writtenEvents = 0
          let ends = 0
          let releases = 0
          feed.onClose(() => releases++)
          let attached = false
          let waiting = 0
          let overflowed = false
          let refused = false
          let n = 0
          for (const step of steps) {
            if (step._tag === "offer") {
              const text = `${n++}:${step.events};`
              if (!feed.closed && !attached && waiting + step.events > maxPending) overflowed = true
              if (!feed.closed && !attached && !overflowed) waiting += step.events
              if (!feed.closed && !overflowed) offered.push(text)
              feed.offer(text, step.events)
            } else if (step._tag === "attach" && !attached) {
              attached = true
              feed.attach({
                write: (text, events) => {
                  expect(ends).toBe(0)
                  written += text
                  writtenEvents += events
                  // A consumer with a capacity refuses once it holds more events than that.
                  const ok = capacity === undefined || writtenEvents <= capacity
                  if (!ok) refused = true
                  return ok
                },
                end: () => ends++,
              })
            } else if (step._tag === "close") {
              feed.close()
            }
            if (overflowed) expect(feed.closed).toBe(true)
          }
          // What was written is the offers in order, from the first, with none skipped.
          expect(offered.join("").startsWith(written)).toBe(true)
          if (attached && !refused) expect(written).toBe(offered.join(""))
          if (refused) expect(feed.closed).toBe(true)
          expect(ends).toBe(attached && feed.closed ? 1 : 0)
          expect(releases).toBe(feed.closed ? 1 : 0)
        },
      ),
    )
  })

  it("runs release functions added after it closed at once", () => {
    const feed = new WatchFeed(1)
    feed.close()
    let released = false
    feed.onClose(() => {
      released = true
    })
    expect(released).toBe(true)
    expect(() => feed.attach({ write: () => true, end: () => {} })).not.toThrow()
    expect(() => feed.attach({ write: () => true, end: () => {} })).toThrow(/one consumer/)
  })
})

describe("after", () => {
  it("waits past node's longest timer, and can be cancelled on the way", () => {
    vi.useFakeTimers()
    try {
      const max = 2 ** 31 - 1
      let fired = 0
      after(max + 1000, () => fired++)
      vi.advanceTimersByTime(max)
      expect(fired).toBe(0)
      vi.advanceTimersByTime(1000)
      expect(fired).toBe(1)
      let cancelled = 0
      const cancel = after(2 * max, () => cancelled++)
      vi.advanceTimersByTime(max)
      cancel()
      vi.advanceTimersByTime(max)
      expect(cancelled).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })
})
