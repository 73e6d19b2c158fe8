// The event recorder against a real API server: repeats become one event with a count.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeEventRecorder } from "../src/recorder.ts"
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
})
