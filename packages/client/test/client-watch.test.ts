// The client's watch and error decoding against a scratch server that sends
// exactly the fault under test.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { makeClient, maxErrorMessageLength, watchTimeoutGraceSeconds } from "../src/client.ts"
import { maxWatchLineLength } from "../src/core/lines.ts"
import { fakeServer, podJson } from "./fake-server.ts"

const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`

describe("watch faults", () => {
  it.live("refuses a line longer than 16 MiB instead of buffering it", () =>
    Effect.gen(function* () {
      const server = yield* fakeServer((_, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.write(line("ADDED", podJson("a", "2")))
        // One line that never ends: 32 MiB of 'x' in 1 MiB writes.
        const chunk = "x".repeat(1 << 20)
        let sent = 0
        const more = () => {
          while (sent < 32 && !res.destroyed && res.write(chunk)) sent++
          if (sent < 32 && !res.destroyed) res.once("drain", more)
          else res.end()
        }
        more()
      })
      const client = makeClient({ server: server.url })
      const got: Array<string> = []
      const exit = yield* client.pods.watch("default", { resourceVersion: "1" }).pipe(
        Stream.runForEach((e) => Effect.sync(() => got.push(e.type))),
        Effect.flip,
      )
      assert.deepStrictEqual(got, ["ADDED"])
      assert.strictEqual(exit._tag, "TransportError")
      assert.include(exit.message, `a line is longer than ${maxWatchLineLength} characters`)
    }),
  )

  it.live("ends with an error naming an event type it does not know", () =>
    Effect.gen(function* () {
      const server = yield* fakeServer((_, res) => {
        res.writeHead(200)
        res.end(line("ADDED", podJson("a", "2")) + line("WEIRD", podJson("a", "3")))
      })
      const client = makeClient({ server: server.url })
      const got: Array<string> = []
      const e = yield* client.pods.watch("default", { resourceVersion: "1" }).pipe(
        Stream.runForEach((ev) => Effect.sync(() => got.push(ev.type))),
        Effect.flip,
      )
      // Before the fix it came out as an ERROR event with the pod as its Status.
      assert.deepStrictEqual(got, ["ADDED"])
      assert.strictEqual(e._tag, "TransportError")
      assert.include(e.message, 'unknown event type "WEIRD"')
      // Marked: asking again gets the same answer (the informer lists instead).
      assert.isTrue(e._tag === "TransportError" && e.malformed === true)
    }),
  )

  it.live("names the bad line: not JSON, or cut off mid-object", () =>
    Effect.gen(function* () {
      const server = yield* fakeServer((_, res, n) => {
        res.writeHead(200)
        res.end(n === 0 ? "<html>\n" : `${line("ADDED", podJson("a", "2")).slice(0, 30)}`)
      })
      const client = makeClient({ server: server.url })
      for (const expected of [
        "a line is not JSON: <html>",
        'a line is not JSON: {"type":"ADDED"',
      ]) {
        const e = yield* client.pods
          .watch("default", { resourceVersion: "1" })
          .pipe(Stream.runDrain, Effect.flip)
        assert.include(e.message, expected)
      }
    }),
  )

  it.effect("gives up on a watch that stays silent past timeoutSeconds (the server stalled)", () =>
    Effect.gen(function* () {
      // Headers, then nothing, for ever.
      const server = yield* fakeServer((_, res) => {
        res.writeHead(200)
        res.flushHeaders()
      })
      const client = makeClient({ server: server.url })
      const fiber = yield* client.pods
        .watch("default", { resourceVersion: "1", timeoutSeconds: 5 })
        .pipe(Stream.runDrain, Effect.flip, Effect.forkChild)
      // Before the fix the watch waited for ever.
      yield* TestClock.adjust(`${5 + watchTimeoutGraceSeconds} seconds`)
      const e = yield* Fiber.join(fiber)
      assert.strictEqual(e._tag, "TransportError")
      assert.include(e.message, "the server stalled")
      // timeoutSeconds 0 is the server's default timeout: no deadline on our side.
      const open = yield* client.pods
        .watch("default", { resourceVersion: "1", timeoutSeconds: 0 })
        .pipe(Stream.runDrain, Effect.forkChild)
      yield* TestClock.adjust(`${10 * watchTimeoutGraceSeconds} seconds`)
      // Before the fix this watch was failed as stalled after 30 s.
      assert.isUndefined(open.pollUnsafe())
      yield* Fiber.interrupt(open)
    }),
  )
})

describe("list answers", () => {
  it.live('read "items": null (how Go encodes an empty slice) as an empty list', () =>
    Effect.gen(function* () {
      const server = yield* fakeServer((_, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(
          '{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":null}',
        )
      })
      // Before the fix: TransportError "the server's Pod list has no items".
      const list = yield* makeClient({ server: server.url }).pods.listAll("default")
      assert.deepStrictEqual(list, { items: [], resourceVersion: "7", continue: undefined })
    }),
  )
})

describe("paged lists", () => {
  it.live(
    "fall back to one full list when a continue token expires (410), as client-go's pager",
    () =>
      Effect.gen(function* () {
        const server = yield* fakeServer((req, res) => {
          const url = new URL(req.url ?? "", "http://x")
          const json = (code: number, body: object) => {
            res.writeHead(code, { "content-type": "application/json" })
            res.end(JSON.stringify(body))
          }
          if (url.searchParams.has("continue"))
            return json(410, { kind: "Status", code: 410, reason: "Expired", message: "too old" })
          const items = url.searchParams.has("limit") ? ["a"] : ["a", "b", "c"]
          json(200, {
            kind: "PodList",
            apiVersion: "v1",
            metadata: {
              resourceVersion: url.searchParams.has("limit") ? "5" : "9",
              ...(url.searchParams.has("limit") ? { continue: "page-2" } : {}),
            },
            items: items.map((n) => podJson(n, "3")),
          })
        })
        // Before the fix: ApiStatusError 410, and an informer relisted page by page for ever.
        const list = yield* makeClient({ server: server.url }).pods.listAll("default", { limit: 1 })
        assert.deepStrictEqual(
          list.items.map((p) => p.metadata.name),
          ["a", "b", "c"],
        )
        assert.strictEqual(list.resourceVersion, "9")
        assert.deepStrictEqual(
          server.requests.map((u) => u.replace(/^\/api\/v1\/namespaces\/default\/pods\??/, "")),
          ["limit=1", "limit=1&continue=page-2", ""],
        )
      }),
  )
})

describe("paging that would not end", () => {
  it.live("is refused when the server hands back the continue token it was given", () =>
    Effect.gen(function* () {
      const server = yield* fakeServer((_, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(
          JSON.stringify({
            kind: "PodList",
            apiVersion: "v1",
            metadata: { resourceVersion: "5", continue: "same" },
            items: [podJson("a", "3")],
          }),
        )
      })
      // Before the fix listAll paged for ever, collecting the same item without end.
      const e = yield* Effect.flip(makeClient({ server: server.url }).pods.listAll("default"))
      assert.strictEqual(
        e.message,
        "the server's Pod list returned the continue token it was given: paging would not end",
      )
      assert.strictEqual(server.requests.length, 2)
    }),
  )
})

describe("error answers", () => {
  it.live("keep only the start of an error page that is not a Status", () =>
    Effect.gen(function* () {
      const page = `<html>${"x".repeat(1 << 20)}</html>`
      const server = yield* fakeServer((_, res) => {
        res.writeHead(502, { "content-type": "text/html" })
        res.end(page)
      })
      const e = yield* Effect.flip(makeClient({ server: server.url }).pods.get("default", "a"))
      assert.strictEqual(e._tag, "ApiStatusError")
      // Before the fix the whole megabyte was the message (and every retry's log line).
      assert.strictEqual(
        e.message,
        `${page.slice(0, maxErrorMessageLength)}... (${page.length} characters in all)`,
      )
    }),
  )

  it.live("carry the server's Retry-After (header, or the Status's details)", () =>
    Effect.gen(function* () {
      const server = yield* fakeServer((_, res, n) => {
        const status = (details: object) =>
          JSON.stringify({
            kind: "Status",
            apiVersion: "v1",
            code: 429,
            reason: "TooManyRequests",
            message: "slow down",
            details,
          })
        if (n === 0) {
          res.writeHead(429, { "retry-after": "7", "content-type": "application/json" })
          res.end(status({}))
        } else if (n === 1) {
          res.writeHead(503, { "content-type": "application/json" })
          res.end(status({ retryAfterSeconds: 3 }))
        } else {
          res.writeHead(500, { "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" })
          res.end("oops")
        }
      })
      const client = makeClient({ server: server.url })
      const answers: Array<number | undefined> = []
      for (let i = 0; i < 3; i++) {
        const e = yield* Effect.flip(client.pods.list("default"))
        assert.strictEqual(e._tag, "ApiStatusError")
        if (e._tag === "ApiStatusError") answers.push(e.retryAfterSeconds)
      }
      assert.deepStrictEqual(answers, [7, 3, undefined])
      const w = yield* client.pods.watch("default").pipe(Stream.runDrain, Effect.flip)
      assert.strictEqual(w._tag === "ApiStatusError" ? w.retryAfterSeconds : "none", undefined)
    }),
  )
})

describe("names", () => {
  it.live("an empty or multi-segment name is refused before anything is sent", () =>
    Effect.gen(function* () {
      const server = yield* fakeServer((_, res) => {
        res.writeHead(500)
        res.end()
      })
      const client = makeClient({ server: server.url })
      const nameless = { apiVersion: "v1", kind: "Pod", metadata: {}, spec: { containers: [] } }
      const attempts = [
        // Before the fix this DELETE went to the collection and deleted every pod in the namespace.
        client.pods.delete("default", ""),
        client.pods.get("default", ""),
        client.pods.update(nameless as never),
        client.pods.updateStatus(nameless as never),
        client.pods.patch("default", "", {}),
        client.pods.apply(nameless as never, { fieldManager: "m" }),
        client.pods.bind("default", "", "n1"),
        client.pods.logs("default", ""),
        client.deployments.getScale("default", ""),
        client.deployments.scale("default", "", 3),
      ]
      for (const attempt of attempts) {
        const e = yield* Effect.flip(attempt)
        assert.strictEqual(e._tag, "InvalidRequestError")
        assert.match(e.message, /^(Pod|Deployment): resource name may not be empty$/)
      }
      for (const [name, why] of [
        ["a/b", "may not contain '/'"],
        ["..", "may not be '..'"],
        ["50%", "may not contain '%'"],
      ] as const) {
        const e = yield* Effect.flip(client.pods.delete("default", name))
        assert.strictEqual(e.message, `Pod: invalid resource name ${JSON.stringify(name)}: ${why}`)
      }
      const ns = yield* Effect.flip(client.pods.get("a/b", "p"))
      assert.strictEqual(ns.message, `Pod: invalid namespace "a/b": may not contain '/'`)
      assert.deepStrictEqual(server.requests, [])
    }),
  )
})

describe("answers of another kind", () => {
  it.live(
    "are refused, except a delete's success Status (Kubernetes sends one for some resources)",
    () =>
      Effect.gen(function* () {
        const server = yield* fakeServer((req, res) => {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(
            JSON.stringify(
              req.method === "DELETE"
                ? { kind: "Status", apiVersion: "v1", status: "Success", details: { name: "cm" } }
                : { kind: "PodList", apiVersion: "v1", metadata: {}, items: [] },
            ),
          )
        })
        const client = makeClient({ server: server.url })
        // Before the fix the list came back as a Pod with an empty spec.
        const e = yield* Effect.flip(client.pods.get("default", "a"))
        assert.strictEqual(e.message, "the server sent a PodList where a Pod was expected")
        assert.isTrue(e._tag === "TransportError" && e.malformed === true)
        // Before the fix the Status came back as a Pod too.
        assert.isUndefined(yield* client.pods.delete("default", "a"))
      }),
  )
})

describe("transport failures", () => {
  it.live("name the cause Node's fetch keeps aside: refused, or cut off mid-watch", () =>
    Effect.gen(function* () {
      // A port nobody listens on: bind one, then let it go.
      const closed = yield* Effect.scoped(fakeServer(() => {}))
      const refused = yield* Effect.flip(makeClient({ server: closed.url }).pods.list("default"))
      // Before the fix: "GET http://...: fetch failed", the reason lost.
      assert.strictEqual(refused._tag, "TransportError")
      assert.match(refused.message, /fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/)
      const server = yield* fakeServer((_, res) => {
        res.writeHead(200)
        // Cut once the first event is on the wire.
        res.write(line("ADDED", podJson("a", "2")), () => res.socket?.destroy())
      })
      const cut = yield* makeClient({ server: server.url })
        .pods.watch("default", { resourceVersion: "1" })
        .pipe(Stream.runDrain, Effect.flip)
      assert.strictEqual(cut._tag, "TransportError")
      assert.match(cut.message, /: terminated: other side closed$/)
    }),
  )
})
