// The HTTP shell's request-target parsing: the path as sent (dot segments are
// never resolved), the query as the URL parser reads it, and no target throws
// (a bare URL parse of `//` used to, from the request listener).
import { connect } from "node:net"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { maxRequestBytes, targetOf } from "../src/server.ts"
import { startServer } from "./support.ts"

const pieces = [
  "/",
  "api",
  "v1",
  "namespaces",
  "default",
  "pods",
  "p-1.2",
  ".",
  "..",
  "/.",
  "/..",
  "%2F",
  "%41",
  "a b",
  "é",
  "?",
  "&",
  "=",
  "watch=true",
  "labelSelector=app%3Dweb",
  "#",
  "//",
  "\\",
  "+",
  ":",
  "'",
]

/** Writes one raw request and reads until the server closes the connection. */
const exchange = (port: number, raw: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1")
    let out = ""
    socket.on("data", (d: Buffer) => {
      out += d.toString("utf8")
    })
    socket.on("close", () => {
      const [head = "", rest = ""] = out.split("\r\n\r\n")
      resolve({ status: Number(head.split(" ")[1]), body: rest })
    })
    socket.on("error", reject)
    socket.write(raw)
  })

describe("targetOf", () => {
  it("keeps the path as sent (up to ? or #) and reads the query as the URL parser does (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 10 }), (parts) => {
        const raw = `/${parts.join("")}`
        const url = new URL(`http://localhost${raw}`)
        const target = targetOf(raw)
        expect(target.pathname).toBe(raw.split(/[?#]/)[0])
        expect(target.searchParams.toString()).toBe(url.searchParams.toString())
      }),
      { numRuns: 2000 },
    )
  })

  it("never resolves dot segments: a name . or .. is the handler's to refuse, not a shorter path", () => {
    // The URL parser made DELETE .../pods/. a deletecollection of every pod in default.
    expect(targetOf("/api/v1/namespaces/default/pods/.").pathname).toBe(
      "/api/v1/namespaces/default/pods/.",
    )
    expect(targetOf("/api/v1/namespaces/ns/pods/..?dryRun=All").pathname).toBe(
      "/api/v1/namespaces/ns/pods/..",
    )
    expect(targetOf("/api/v1/namespaces/ns/pods/%2E%2E").pathname).toBe(
      "/api/v1/namespaces/ns/pods/%2E%2E",
    )
  })

  it("reads // as a path, takes the path of an absolute-form target, and never throws", () => {
    expect(targetOf("//").pathname).toBe("//")
    expect(targetOf("//evil/x?a=1").pathname).toBe("//evil/x")
    expect(targetOf("http://127.0.0.1:6443/api/v1/pods?limit=1").pathname).toBe("/api/v1/pods")
    expect(targetOf("http://127.0.0.1:6443").pathname).toBe("/")
    expect(() => targetOf("http://[::1")).not.toThrow()
  })

  it("takes API paths and their queries as they are", () => {
    const t = targetOf("/api/v1/namespaces/default/pods?watch=true&resourceVersion=5")
    expect(t.pathname).toBe("/api/v1/namespaces/default/pods")
    expect(t.searchParams.get("watch")).toBe("true")
    expect(t.searchParams.get("resourceVersion")).toBe("5")
  })
})

describe("request bodies over HTTP", () => {
  it("past 3 MiB are a 413 Status in Kubernetes' words, at once when the length is announced, and the server serves on", async () => {
    const server = await startServer({ namespaceLifecycle: false, compactionIntervalMs: 0 })
    try {
      const send = (head: string, body: Buffer | undefined) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(server.port, "127.0.0.1")
          let out = ""
          socket.on("data", (d: Buffer) => {
            out += d.toString("latin1")
            // The whole response is in once its JSON body closes.
            if (out.includes("\r\n\r\n") && out.trimEnd().endsWith("}")) {
              socket.destroy()
              resolve(out)
            }
          })
          socket.on("error", reject)
          socket.write(head)
          if (body !== undefined) socket.write(body)
        })
      const big = Buffer.alloc(maxRequestBytes + 1, 0x20)
      const path = "/api/v1/namespaces/default/pods"
      const sent = await send(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n`,
        Buffer.concat([big, Buffer.from("\r\n0\r\n\r\n")]),
      )
      // Announced, never sent: the answer cannot wait for the body.
      const announced = await send(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${maxRequestBytes + 1}\r\n\r\n`,
        undefined,
      )
      for (const response of [sent, announced]) {
        expect(response.startsWith("HTTP/1.1 413 ")).toBe(true)
        const status = JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4))
        expect(status).toMatchObject({
          kind: "Status",
          code: 413,
          reason: "RequestEntityTooLarge",
          message: "Request entity too large: limit is 3145728",
        })
      }
      const after = await fetch(`${server.url}${path}`)
      expect(after.status).toBe(200)
      expect(((await after.json()) as { items: Array<unknown> }).items).toEqual([])
    } finally {
      await server.close()
    }
  })
})

describe("lists over HTTP", () => {
  it("a list's parts (written straight to the socket) arrive whole and in order, pipelined behind other answers, and HEAD gets the length without the body", async () => {
    const server = await startServer({ namespaceLifecycle: false, compactionIntervalMs: 0 })
    try {
      const path = "/api/v1/namespaces/default/pods"
      for (let i = 0; i < 5; i++) {
        const created = await fetch(`${server.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: `p${i}`, labels: { i: `${i}` } },
            spec: { containers: [{ name: "c", image: "nginx" }] },
          }),
        })
        expect(created.status).toBe(201)
      }
      const expected = await (await fetch(`${server.url}${path}`)).text()
      expect((JSON.parse(expected) as { items: Array<unknown> }).items).toHaveLength(5)
      const requests = [
        ["GET", path],
        ["HEAD", path],
        ["GET", `${path}/p3`],
        ["GET", path],
        ["GET", `${path}?limit=2`],
      ] as const
      const requestText = (i: number) =>
        `${requests[i]?.[0]} ${requests[i]?.[1]} HTTP/1.1\r\nHost: x\r\n${i === requests.length - 1 ? "Connection: close\r\n" : ""}\r\n`
      /** The answers' heads and bodies, read by their lengths (none for HEAD), and what was left over. */
      const answersIn = (bytes: Buffer, count: number) => {
        const answers: Array<{ status: number; length: number; body: string }> = []
        let at = 0
        for (let i = 0; i < count; i++) {
          const end = bytes.indexOf("\r\n\r\n", at)
          if (end < 0) break
          const head = bytes.subarray(at, end).toString("latin1")
          const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1])
          const bodyLength = requests[i]?.[0] === "HEAD" ? 0 : length
          if (bytes.length < end + 4 + bodyLength) break
          answers.push({
            // A head that does not start the answer (bytes of a body HEAD must not have before it) is no status.
            status: head.startsWith("HTTP/1.1 ") ? Number(head.split(" ")[1]) : Number.NaN,
            length,
            body: bytes.subarray(end + 4, end + 4 + bodyLength).toString("utf8"),
          })
          at = end + 4 + bodyLength
        }
        return { answers, rest: bytes.length - at }
      }
      /**
       * The five requests on one connection: one at a time (each answer owns
       * the socket and writes its parts straight to it), or all in one write
       * (node holds each answer back until the one before has finished).
       */
      const exchangeAll = (pipelined: boolean) =>
        new Promise<{ answers: ReturnType<typeof answersIn>["answers"]; rest: number }>(
          (resolve, reject) => {
            const socket = connect(server.port, "127.0.0.1")
            const chunks: Array<Buffer> = []
            let sent = 0
            const sendNext = () => socket.write(requestText(sent++))
            socket.on("data", (d: Buffer) => {
              chunks.push(d)
              if (!pipelined && sent < requests.length) {
                if (answersIn(Buffer.concat(chunks), sent).answers.length === sent) sendNext()
              }
            })
            socket.on("close", () => resolve(answersIn(Buffer.concat(chunks), requests.length)))
            socket.on("error", reject)
            if (pipelined) socket.write(requests.map((_, i) => requestText(i)).join(""))
            else sendNext()
          },
        )
      for (const pipelined of [false, true]) {
        const { answers, rest } = await exchangeAll(pipelined)
        expect(rest).toBe(0)
        expect(answers.map((a) => a.status)).toEqual(requests.map(() => 200))
        const [list, head, pod, again, page] = answers
        expect(list).toEqual({ status: 200, length: Buffer.byteLength(expected), body: expected })
        expect(head).toEqual({ status: 200, length: Buffer.byteLength(expected), body: "" })
        expect(JSON.parse(pod?.body ?? "")).toMatchObject({ metadata: { name: "p3" } })
        expect(again).toEqual(list)
        const firstPage = JSON.parse(page?.body ?? "") as {
          items: Array<{ metadata: { name: string } }>
          metadata: { continue?: string }
        }
        expect(firstPage.items.map((p) => p.metadata.name)).toEqual(["p0", "p1"])
        expect(firstPage.metadata.continue).toBeTypeOf("string")
      }
    } finally {
      await server.close()
    }
  })
})

describe("warnings over HTTP", () => {
  it("an unknown field named past Latin-1 is warned about in ASCII (the header write threw out of the request's callback, killing the process), and thousands of them fit a header clients read", async () => {
    const server = await startServer({ namespaceLifecycle: false, compactionIntervalMs: 0 })
    try {
      const post = (name: string, extra: Record<string, unknown>) =>
        fetch(`${server.url}/api/v1/namespaces/default/pods`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name },
            spec: { containers: [{ name: "main", image: "nginx" }], ...extra },
          }),
        })
      const euro = await post("euro", { "f€": 1, "f😀": 2 })
      expect(euro.status).toBe(201)
      expect(euro.headers.get("warning")).toBe(
        '299 - "unknown field \\"spec.f\\u20ac\\"", 299 - "unknown field \\"spec.f\\U0001f600\\""',
      )
      const many = await post(
        "many",
        Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`unknownField${i}`, i])),
      )
      expect(many.status).toBe(201)
      expect((many.headers.get("warning") ?? "").length).toBeLessThan(8192)
      expect((await fetch(`${server.url}/api/v1/namespaces/default/pods/euro`)).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})

describe("dot segments over HTTP", () => {
  it("DELETE of a pod named . or .. is a 400 and deletes nothing (it deleted every pod, or the namespace)", async () => {
    const server = await startServer({ namespaceLifecycle: false, compactionIntervalMs: 0 })
    try {
      // fetch resolves dot segments itself: the request is written by hand.
      const send = (method: string, path: string, body?: unknown) => {
        const text = body === undefined ? "" : JSON.stringify(body)
        return exchange(
          server.port,
          `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
        )
      }
      const pod = (name: string) => ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name },
        spec: { containers: [{ name: "main", image: "nginx" }] },
      })
      expect(
        (
          await send("POST", "/api/v1/namespaces", {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: "team" },
          })
        ).status,
      ).toBe(201)
      expect((await send("POST", "/api/v1/namespaces/team/pods", pod("a"))).status).toBe(201)
      for (const [path, message] of [
        ["/api/v1/namespaces/team/pods/.", `Name parameter invalid: ".": may not be '.'`],
        ["/api/v1/namespaces/team/pods/..", `Name parameter invalid: "..": may not be '..'`],
        ["/api/v1/namespaces/team/pods/%2E%2E", `Name parameter invalid: "..": may not be '..'`],
        [
          "/api/v1/namespaces/team/pods/a%2Fb",
          `Name parameter invalid: "a/b": may not contain '/'`,
        ],
      ]) {
        const r = await send("DELETE", path as string)
        expect(r.status, path).toBe(400)
        expect(JSON.parse(r.body).message).toBe(message)
      }
      expect((await send("GET", "/api/v1/namespaces/team/pods/a")).status).toBe(200)
      expect((await send("GET", "/api/v1/namespaces/team")).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})

describe("methods and paths Node or Go refuse, over HTTP", () => {
  it("an unknown method, CONNECT and TRACE are Kubernetes' 405 Status (Node answered a bare 400, dropped CONNECT unanswered, 404 to TRACE); a malformed escape is a 400 (it was taken literally); the server serves on", async () => {
    const server = await startServer({ namespaceLifecycle: false, compactionIntervalMs: 0 })
    try {
      const send = (raw: string) => exchange(server.port, raw)
      const request = (method: string, path: string) =>
        send(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      const pods = "/api/v1/namespaces/default/pods"
      for (const raw of [
        `FOO ${pods} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `TRACE ${pods}/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        `OPTIONS ${pods} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        "CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n",
      ]) {
        const r = await send(raw)
        expect(r.status, raw).toBe(405)
        expect(JSON.parse(r.body), raw).toMatchObject({
          kind: "Status",
          status: "Failure",
          reason: "MethodNotAllowed",
          message: "the server does not allow this method on the requested resource",
          code: 405,
        })
      }
      for (const [path, sequence] of [
        ["/api/v1/namespaces/de%ZZfault/pods", "%ZZ"],
        [`${pods}/a%4`, "%4"],
      ]) {
        const r = await request("GET", path as string)
        expect(r.status, path).toBe(400)
        expect(JSON.parse(r.body), path).toMatchObject({
          reason: "BadRequest",
          message: `invalid URL escape "${sequence}"`,
        })
      }
      // Other parse failures keep Node's own answers.
      expect(
        (await send(`GET ${pods} HTTP/1.1\r\nHost: x\r\nX: ${"a".repeat(20_000)}\r\n\r\n`)).status,
      ).toBe(431)
      expect((await send("GET / HTTP/9.9\r\nHost: x\r\n\r\n")).status).toBe(400)
      expect((await request("GET", pods)).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})

describe("listening", () => {
  it("answers a port Node refuses outright with ServeError naming it (it threw a RangeError)", async () => {
    for (const port of [70_000, -1, 1.5]) {
      const e = await startServer({ port }).catch((x: unknown) => x)
      expect((e as { _tag?: string })._tag, String(e)).toBe("ServeError")
      expect((e as Error).message).toContain(`127.0.0.1:${port}`)
    }
  })
})
