import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { KeyedHeap } from "../../src/core/heap.ts"
import { QueueError, SchedulingQueue } from "../../src/core/queue.ts"

interface P {
  readonly key: string
  readonly priority: number
}
const pod = (key: string, priority = 0): P => ({ key, priority })

describe("KeyedHeap", () => {
  it("pops in order under random add/update/delete", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom("add", "del"),
            fc.integer({ min: 0, max: 20 }),
            fc.integer({ min: -50, max: 50 }),
          ),
        ),
        (ops) => {
          const h = new KeyedHeap<{ k: string; v: number }>(
            (x) => x.k,
            (a, b) => a.v < b.v || (a.v === b.v && a.k < b.k),
          )
          const model = new Map<string, number>()
          for (const [op, k, v] of ops) {
            if (op === "add") {
              h.addOrUpdate({ k: `k${k}`, v })
              model.set(`k${k}`, v)
            } else {
              h.delete(`k${k}`)
              model.delete(`k${k}`)
            }
          }
          const want = [...model.entries()]
            .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
            .map((e) => e[0])
          const got: Array<string> = []
          for (let x = h.pop(); x !== undefined; x = h.pop()) got.push(x.k)
          expect(got).toEqual(want)
        },
      ),
    )
  })
})

describe("SchedulingQueue", () => {
  it("pops by priority, then arrival", () => {
    const q = new SchedulingQueue<P>()
    q.add(pod("a", 0), 10)
    q.add(pod("b", 5), 20)
    q.add(pod("c", 0), 5)
    q.add(pod("d", 5), 30)
    expect([q.pop()?.pod.key, q.pop()?.pod.key, q.pop()?.pod.key, q.pop()?.pod.key]).toEqual([
      "b",
      "d",
      "c",
      "a",
    ])
    expect(q.pop()).toBeUndefined()
  })

  it("keeps arrival order for pods added at the same time", () => {
    const q = new SchedulingQueue<P>()
    for (const k of ["e", "b", "d", "a", "c"]) q.add(pod(k), 7)
    const order: Array<string> = []
    for (let i = q.pop(); i !== undefined; i = q.pop()) order.push(i.pod.key)
    expect(order).toEqual(["e", "b", "d", "a", "c"])
  })

  it("backs off 1 s doubling to 10 s", () => {
    const q = new SchedulingQueue<P>()
    const durations: Array<number> = []
    for (let attempts = 1; attempts <= 7; attempts++) {
      durations.push(
        q.backoffDuration({
          pod: pod("x"),
          timestamp: 0,
          initialAttemptTimestamp: 0,
          attempts,
          seq: 0,
        }),
      )
    }
    expect(durations).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000, 10_000])
  })

  it("parks a failed pod in unschedulableQ until a cluster event moves it", () => {
    const q = new SchedulingQueue<P>()
    q.add(pod("a"), 0)
    const info = q.pop()!
    expect(info.attempts).toBe(1)
    q.addUnschedulableIfNotPresent(info, q.cycle, 100)
    expect(q.where("a")).toBe("unschedulable")
    q.flush(5000)
    expect(q.where("a")).toBe("unschedulable") // no event, no timeout yet
    // An event while still backing off (100 + 1000 > 600) goes to backoffQ.
    q.moveAllToActiveOrBackoffQueue("NodeAdd", 600)
    expect(q.where("a")).toBe("backoff")
    q.flush(1099)
    expect(q.where("a")).toBe("backoff")
    q.flush(1100)
    expect(q.where("a")).toBe("active")
    expect(q.pop()?.attempts).toBe(2)
  })

  it("an event after backoff ended goes straight to activeQ", () => {
    const q = new SchedulingQueue<P>()
    q.add(pod("a"), 0)
    const info = q.pop()!
    q.addUnschedulableIfNotPresent(info, q.cycle, 0)
    q.moveAllToActiveOrBackoffQueue("AssignedPodDelete", 5000)
    expect(q.where("a")).toBe("active")
  })

  it("a move request during the attempt sends the failed pod to backoffQ", () => {
    const q = new SchedulingQueue<P>()
    q.add(pod("a"), 0)
    const info = q.pop()!
    const cycle = q.cycle
    q.moveAllToActiveOrBackoffQueue("NodeAdd", 10) // arrives while "a" is being scheduled
    q.addUnschedulableIfNotPresent(info, cycle, 20)
    expect(q.where("a")).toBe("backoff")
  })

  it("retries pods left in unschedulableQ after the timeout", () => {
    const q = new SchedulingQueue<P>()
    q.add(pod("a"), 0)
    q.addUnschedulableIfNotPresent(q.pop()!, q.cycle, 0)
    q.flush(60_000)
    expect(q.where("a")).toBe("unschedulable")
    q.flush(60_001)
    expect(q.where("a")).toBe("active")
  })

  it("moves only pods whose affinity matches an assigned pod", () => {
    const q = new SchedulingQueue<P>()
    q.add(pod("a"), 0)
    q.add(pod("b"), 0)
    const first = q.pop()!
    const second = q.pop()!
    q.addUnschedulableIfNotPresent(first, q.cycle, 0)
    q.addUnschedulableIfNotPresent(second, q.cycle, 0)
    q.assignedPodAdded("web", (p, assigned) => p.key === "b" && assigned === "web", 50_000)
    expect(q.where("a")).toBe("unschedulable")
    expect(q.where("b")).toBe("active")
  })

  it("refuses a pod twice and keeps each pod in one queue", () => {
    const q = new SchedulingQueue<P>()
    q.add(pod("a"), 0)
    const info = q.pop()!
    q.addUnschedulableIfNotPresent(info, q.cycle, 0)
    expect(() => q.addUnschedulableIfNotPresent(info, q.cycle, 0)).toThrow(QueueError)
    q.update(pod("a", 3), 10)
    expect(q.where("a")).toBe("active")
    expect(q.size).toBe(1)
    q.update(pod("a", 4), 10)
    expect(q.size).toBe(1)
    expect(q.delete("a")).toBe(true)
    expect(q.size).toBe(0)
  })

  it("never holds a pod in two queues under random operations", () => {
    const op = fc.oneof(
      fc.record({
        t: fc.constant("add" as const),
        k: fc.integer({ min: 0, max: 5 }),
        p: fc.integer({ min: 0, max: 3 }),
      }),
      fc.record({ t: fc.constant("fail" as const) }),
      fc.record({ t: fc.constant("move" as const) }),
      fc.record({ t: fc.constant("flush" as const), dt: fc.integer({ min: 0, max: 20_000 }) }),
      fc.record({ t: fc.constant("del" as const), k: fc.integer({ min: 0, max: 5 }) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const q = new SchedulingQueue<P>()
        let now = 0
        const known = new Set<string>()
        for (const o of ops) {
          now += 1
          if (o.t === "add") {
            q.add(pod(`p${o.k}`, o.p), now)
            known.add(`p${o.k}`)
          } else if (o.t === "fail") {
            const info = q.pop()
            if (info) q.addUnschedulableIfNotPresent(info, q.cycle, now)
          } else if (o.t === "move") q.moveAllToActiveOrBackoffQueue("NodeAdd", now)
          else if (o.t === "flush") {
            now += o.dt
            q.flush(now)
          } else {
            q.delete(`p${o.k}`)
            known.delete(`p${o.k}`)
          }
          let total = 0
          for (const k of known) if (q.where(k) !== undefined) total++
          expect(q.size).toBe(total)
          expect(q.size).toBe(q.activeCount + q.backoffCount + q.unschedulableCount)
        }
      }),
    )
  })
})
