// Watches over HTTP as the server writes them: batches of changes framed
// once and written straight to every watcher's socket. Concurrent writes
// (batched together) reach several watchers, plain and with a selector,
// each exactly once and in revision order, through a real HTTP client's
// chunked decoding.
import { request } from "node:http"
import { connect } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type TestServer } from "../support.ts"

let server: TestServer

beforeAll(async () => {
  server = await startServer({ watchBatchMs: 50 })
})

afterAll(async () => {
  await server.close()
})

const pods = "/api/v1/namespaces/default/pods"

interface Event {
  readonly type: string
  readonly name: string
  readonly rv: number
}

/** A watch read line by line; `until` resolves once `count` events have arrived. */
const watch = (path: string) => {
  const events: Array<Event> = []
  const waiters: Array<() => void> = []
  let close = () => {}
  const opened = new Promise<void>((resolve, reject) => {
    const req = request(`${server.url}${path}`, (res) => {
      expect(res.statusCode).toBe(200)
      expect(res.headers["transfer-encoding"]).toBe("chunked")
      let buffer = ""
      res.setEncoding("utf8")
      res.on("data", (d: string) => {
        buffer += d
        let nl = buffer.indexOf("\n")
        while (nl >= 0) {
          const e = JSON.parse(buffer.slice(0, nl))
          events.push({
            type: e.type,
            name: e.object.metadata.name,
            rv: Number(e.object.metadata.resourceVersion),
          })
          buffer = buffer.slice(nl + 1)
          nl = buffer.indexOf("\n")
        }
        for (const w of waiters.splice(0)) w()
      })
      resolve()
    })
    req.on("error", (e) => (e.message.includes("aborted") ? undefined : reject(e)))
    req.end()
    close = () => req.destroy()
  })
  const until = (count: number) =>
    new Promise<Array<Event>>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`${events.length} of ${count} events`)),
        20_000,
      )
      const check = () => {
        if (events.length >= count) {
          clearTimeout(deadline)
          resolve(events)
        } else waiters.push(check)
      }
      check()
    })
  return { opened, until, close: () => close() }
}

const post = async (body: unknown) => {
  const res = await fetch(`${server.url}${pods}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  })
  expect(res.status).toBe(201)
  return (await res.json()) as { metadata: { name: string; resourceVersion: string } }
}

const pod = (name: string, tier: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels: { tier } },
  spec: { containers: [{ name: "main", image: "nginx:1.27" }] },
})

describe("watches over HTTP", () => {
  it("deliver concurrent writes to every watcher once each, in order", async () => {
    const listed = (await fetch(`${server.url}${pods}`).then((r) => r.json())) as {
      metadata: { resourceVersion: string }
    }
    const rv = listed.metadata.resourceVersion
    const plain = [
      watch(`${pods}?watch=true&resourceVersion=${rv}`),
      watch(`${pods}?watch=true&resourceVersion=${rv}`),
    ]
    const web = watch(`${pods}?watch=true&resourceVersion=${rv}&labelSelector=tier%3Dweb`)
    await Promise.all([...plain, web].map((w) => w.opened))
    const names = Array.from({ length: 40 }, (_, i) => `p${i}`)
    const created = await Promise.all(names.map((n, i) => post(pod(n, i % 2 === 0 ? "web" : "db"))))
    const expected = created
      .map((p) => ({
        type: "ADDED",
        name: p.metadata.name,
        rv: Number(p.metadata.resourceVersion),
      }))
      .sort((a, b) => a.rv - b.rv)
    for (const w of plain) expect(await w.until(names.length)).toEqual(expected)
    const webExpected = expected.filter((e) => Number(e.name.slice(1)) % 2 === 0)
    expect(await web.until(webExpected.length)).toEqual(webExpected)
    for (const w of [...plain, web]) w.close()
  })
})

describe("watch timeouts", () => {
  it("keep a watch open for a timeoutSeconds past node's longest timer (2^31 - 1 ms)", async () => {
    const listed = (await fetch(`${server.url}${pods}`).then((r) => r.json())) as {
      metadata: { resourceVersion: string }
    }
    // 30 days: a plain setTimeout of that many ms fires at once.
    const w = watch(
      `${pods}?watch=true&resourceVersion=${listed.metadata.resourceVersion}&timeoutSeconds=2592000`,
    )
    await w.opened
    const created = await post(pod("long-watch", "web"))
    const [event] = await w.until(1)
    expect(event?.name).toBe(created.metadata.name)
    w.close()
  })
})

describe("the HTTP shell", () => {
  it("answers a target the URL parser refuses (//) with 404 and keeps serving", async () => {
    const port = Number(new URL(server.url).port)
    const status = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () =>
        socket.write("GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
      )
      let text = ""
      socket.on("data", (d) => {
        text += d.toString()
      })
      socket.on("end", () => resolve(text.split("\r\n")[0] ?? ""))
      socket.on("error", reject)
    })
    expect(status).toBe("HTTP/1.1 404 Not Found")
    const version = await fetch(`${server.url}/version`)
    expect(version.status).toBe(200)
  })
})
