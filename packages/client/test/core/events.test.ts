import { describe, expect, it } from "vitest"
import {
  EventCorrelator,
  type EventDraft,
  eventNameSuffix,
  maxSimilarEvents,
  spamBurst,
} from "../../src/core/events.ts"

const draft = (message: string, reason = "FailedScheduling"): EventDraft => ({
  involvedObject: { kind: "Pod", namespace: "default", name: "web-1", uid: "u1", apiVersion: "v1" },
  type: "Warning",
  reason,
  message,
  source: { component: "default-scheduler" },
})

describe("EventCorrelator", () => {
  it("creates an event once, then counts repeats with a new lastTimestamp", () => {
    const c = new EventCorrelator()
    const first = c.correlate(draft("0/3 nodes are available"), 1_000, "a")
    expect(first.action).toBe("create")
    expect(first.event).toMatchObject({
      name: "web-1.a",
      namespace: "default",
      count: 1,
      firstTimestamp: "1970-01-01T00:00:01Z",
    })
    const second = c.correlate(draft("0/3 nodes are available"), 61_000, "b")
    expect(second.action).toBe("patch")
    expect(second.event).toMatchObject({
      name: "web-1.a",
      count: 2,
      firstTimestamp: "1970-01-01T00:00:01Z",
      lastTimestamp: "1970-01-01T00:01:01Z",
    })
    const other = c.correlate(draft("0/3 nodes are available", "Scheduled"), 62_000, "c")
    expect(other.action).toBe("create")
  })

  it("combines similar events once ten distinct messages arrive within ten minutes", () => {
    const c = new EventCorrelator()
    const results = Array.from({ length: maxSimilarEvents + 2 }, (_, i) =>
      c.correlate(draft(`message ${i}`), i * 1000, `s${i}`),
    )
    expect(results.slice(0, maxSimilarEvents - 1).every((r) => r.action === "create")).toBe(true)
    const combined = results[maxSimilarEvents - 1]
    expect(combined?.action).toBe("create")
    expect(combined?.event.message).toBe(
      `(combined from similar events): message ${maxSimilarEvents - 1}`,
    )
    const next = results[maxSimilarEvents]
    expect(next?.action).toBe("patch")
    expect(next?.event.name).toBe(combined?.event.name)
    expect(next?.event.count).toBe(2)
  })

  it("starts over after the aggregation interval", () => {
    const c = new EventCorrelator()
    for (let i = 0; i < maxSimilarEvents - 1; i++) c.correlate(draft(`m${i}`), 0, `s${i}`)
    const later = c.correlate(draft("m-late"), 11 * 60 * 1000, "late")
    expect(later.event.message).toBe("m-late")
  })

  it("names events with the time in hex nanoseconds", () => {
    expect(eventNameSuffix(1, 0)).toBe((1_000_000).toString(16))
    expect(eventNameSuffix(1, 5)).toBe((1_000_005).toString(16))
  })

  it("keeps events about different fields of one object apart (the field path is in the key)", () => {
    const c = new EventCorrelator()
    const about = (fieldPath: string): EventDraft => ({
      ...draft("Back-off restarting failed container", "BackOff"),
      involvedObject: { ...draft("").involvedObject, fieldPath },
    })
    expect(c.correlate(about("spec.containers{a}"), 0, "a").action).toBe("create")
    // Before the fix this bumped container a's event instead.
    const b = c.correlate(about("spec.containers{b}"), 1, "b")
    expect(b.action).toBe("create")
    expect(b.event.involvedObject.fieldPath).toBe("spec.containers{b}")
    expect(c.correlate(about("spec.containers{a}"), 2, "c").event.count).toBe(2)
  })

  it("lets 25 events per source and object through, then one per 5 minutes (spam filter)", () => {
    const c = new EventCorrelator()
    const actions = Array.from(
      { length: spamBurst + 5 },
      (_, i) => c.correlate(draft("same", `Reason${i % 3}`), i, `s${i}`).action,
    )
    // Before the fix every one was written: 30 requests.
    expect(actions.filter((a) => a !== "skip")).toHaveLength(spamBurst)
    expect(actions.slice(spamBurst)).toEqual(Array(5).fill("skip"))
    expect(c.correlate(draft("same", "Reason0"), 299_000, "t").action).toBe("skip")
    expect(c.correlate(draft("same", "Reason0"), 300_100, "u").action).toBe("patch")
    // Another object has its own allowance.
    const other = {
      ...draft("same"),
      involvedObject: { ...draft("").involvedObject, name: "web-2" },
    }
    expect(c.correlate(other, 300_200, "v").action).toBe("create")
  })
})
