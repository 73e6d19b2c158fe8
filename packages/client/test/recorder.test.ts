// The event recorder against a real API server (repeats become one event
// with a count), and against a server that never answers.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { makeClient } from "../src/client.ts"
import { makeEventRecorder, maxQueuedEvents, writeTimeoutMs } from "../src/recorder.ts"
import { fakeServer } from "./fake-server.ts"
import { pod, withServer } from "./support.ts"

describe("EventRecorder", () => {
  it.live("writes an event once and counts its repeats", () =>
    Effect.gen(function* () {
      const { client } = yield* withServer
      const p = yield* client.pods.create("default", pod("web-1"))
      const recorder = makeEventRecorder(client, { component: "default-scheduler" })
      for (let i = 0; i < 3; i++) {
        yield* recorder.eventOrFail(
          p,
          "Warning",
          "FailedScheduling",
          "0/3 nodes are available: 3 Insufficient cpu.",
        )
      }
      yield* recorder.event(
        p,
        "Normal",
        "Scheduled",
        "Successfully assigned default/web-1 to node-1",
      )
      yield* recorder.flush
      const events = (yield* client.events.list("default")).items
      assert.strictEqual(events.length, 2)
      const failed = events.find((e) => e.reason === "FailedScheduling")
      assert.strictEqual(failed?.count, 3)
      assert.strictEqual(failed?.involvedObject.uid, p.metadata.uid)
      assert.strictEqual(failed?.source?.component, "default-scheduler")
      const byField = yield* client.events.list("default", {
        fieldSelector: `involvedObject.name=web-1,involvedObject.uid=${p.metadata.uid},reason=Scheduled`,
      })
      assert.deepStrictEqual(
        byField.items.map((e) => e.message),
        ["Successfully assigned default/web-1 to node-1"],
      )
    }),
  )

  it.effect(
    "never blocks its caller on a stalled server, and keeps at most 1000 events waiting",
    () =>
      Effect.gen(function* () {
        // Takes the request and never answers.
        const server = yield* fakeServer(() => {})
        const recorder = makeEventRecorder(makeClient({ server: server.url }), {
          component: "test-controller",
        })
        const ref = { kind: "Pod", namespace: "default", name: "p", uid: "u1" }
        // Before the fix the first call waited on the server for ever.
        const calls = yield* Effect.forkChild(
          Effect.gen(function* () {
            for (let i = 0; i < 1500; i++)
              yield* recorder.event(ref, "Warning", "BackOff", `attempt ${i}`)
          }),
        )
        for (let i = 0; i < 20 && calls.pollUnsafe() === undefined; i++) yield* Effect.yieldNow
        assert.isDefined(calls.pollUnsafe(), "event returned without waiting for the server")
        // One write is in flight; 1000 wait; the rest were dropped.
        assert.deepStrictEqual(yield* recorder.stats, {
          queued: maxQueuedEvents,
          dropped: 1500 - 1 - maxQueuedEvents,
        })
        // Each write is given up after its deadline; the next one starts.
        yield* TestClock.adjust(writeTimeoutMs)
        for (let i = 0; i < 20; i++) yield* Effect.yieldNow
        assert.strictEqual((yield* recorder.stats).queued, maxQueuedEvents - 1)
        yield* Fiber.join(calls)
      }),
  )

  it.effect(
    "two recorders naming events about one object in the same millisecond pick different names",
    () =>
      Effect.gen(function* () {
        const names: Array<string> = []
        // Answers a create with what it was sent (as a server would).
        const server = yield* fakeServer((req, res) => {
          let body = ""
          req.on("data", (c) => {
            body += c
          })
          req.on("end", () => {
            names.push(JSON.parse(body).metadata.name)
            res.writeHead(201, { "content-type": "application/json" })
            res.end(body)
          })
        })
        const client = makeClient({ server: server.url })
        const ref = { kind: "Pod", namespace: "default", name: "p", uid: "u1" }
        // The test clock stands still: both at the same millisecond.
        yield* makeEventRecorder(client, { component: "default-scheduler" }).eventOrFail(
          ref,
          "Normal",
          "Scheduled",
          "one",
        )
        yield* makeEventRecorder(client, { component: "batch-scheduler" }).eventOrFail(
          ref,
          "Normal",
          "Scheduled",
          "two",
        )
        // Before the fix both were "p.0": the second create was refused (AlreadyExists) and lost.
        assert.strictEqual(names.length, 2)
        assert.notStrictEqual(names[0], names[1])
      }),
  )

  it.live("goes on writing after an event it cannot make", () =>
    Effect.gen(function* () {
      const { client } = yield* withServer
      const p = yield* client.pods.create("default", pod("web-2"))
      const recorder = makeEventRecorder(client, { component: "test-controller" })
      // Not an object at all (a JavaScript caller, or a cast gone wrong).
      yield* recorder.event(null as never, "Normal", "Broken", "no object")
      yield* recorder.event(p, "Normal", "Fine", "written")
      // Before the fix the writer died on the first: flush waited for ever, nothing more was written.
      yield* recorder.flush
      const events = (yield* client.events.list("default")).items
      assert.deepStrictEqual(
        events.map((e) => e.reason),
        ["Fine"],
      )
    }),
  )
})
