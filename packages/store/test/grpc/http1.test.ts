// etcd's HTTP/1.1 endpoints beside gRPC on the client port: /health and
// /version as etcd 3.4.23 answers them (checked against Debian's etcd here),
// other paths and methods refused as Go's mux does; an HTTP/1 request used to
// get an HTTP/2 GOAWAY. gRPC on the same port is unaffected.
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MAX_HEAD_BYTES, routeHttp1, serveHttp1 } from "../../src/grpc/http1.ts"
import { ensureEtcdctl, etcdctl } from "../support/etcdctl.ts"
import { startServer, type TestServer } from "../support/server.ts"

/** Writes `raw` on a new connection to `port`; resolves with all it got once the server closed. */
const exchange = (port: number, raw: string | Buffer): Promise<string> =>
  new Promise((resolve, reject) => {
    const got: Buffer[] = []
    const socket = net.connect(port, "127.0.0.1", () => socket.write(raw))
    const deadline = setTimeout(() => {
      socket.destroy()
      reject(new Error("the server kept the connection open"))
    }, 10_000)
    socket.on("data", (d) => got.push(d))
    socket.on("error", reject)
    socket.on("close", () => {
      clearTimeout(deadline)
      resolve(Buffer.concat(got).toString("latin1"))
    })
  })

const statusOf = (response: string) => response.slice(0, response.indexOf("\r\n"))
const bodyOf = (response: string) => response.slice(response.indexOf("\r\n\r\n") + 4)

describe("routeHttp1", () => {
  it("reads the request line as Go's server and etcd's mux do", () => {
    expect(routeHttp1("GET /health HTTP/1.1\r\nHost: x")._tag).toBe("Health")
    expect(routeHttp1("GET /health?serializable=true HTTP/1.0")._tag).toBe("Health")
    expect(routeHttp1("HEAD /version HTTP/1.1")._tag).toBe("Version")
    expect(routeHttp1("POST /health HTTP/1.1")._tag).toBe("MethodNotAllowed")
    expect(routeHttp1("DELETE /version HTTP/1.1")._tag).toBe("MethodNotAllowed")
    expect(routeHttp1("GET /metrics HTTP/1.1")._tag).toBe("Metrics")
    expect(routeHttp1("POST /metrics HTTP/1.1")._tag).toBe("MethodNotAllowed")
    expect(routeHttp1("GET /healthz HTTP/1.1")._tag).toBe("NotFound")
    expect(routeHttp1("POST /v3/kv/range HTTP/1.1")._tag).toBe("NotFound")
    for (const bad of [
      "",
      "GET",
      "GET /health",
      "GET /health HTTP/2.0",
      "G(T / HTTP/1.1",
      "GET  / HTTP/1.1",
    ]) {
      expect(routeHttp1(bad)._tag, JSON.stringify(bad)).toBe("BadRequest")
    }
  })
})

describe("serveHttp1 (a health check that fails)", () => {
  it('answers 503 {"health":"false"} when the read fails or is refused', async () => {
    for (const health of [async () => false, async () => Promise.reject(new Error("no leader"))]) {
      const listener = net.createServer((socket) => {
        socket.once("data", (first) => {
          socket.pause()
          serveHttp1(socket, first, {
            health,
            version: { etcdserver: "3.4.0", etcdcluster: "3.4.0" },
            metrics: async () => "",
          })
        })
      })
      await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r))
      try {
        const port = (listener.address() as net.AddressInfo).port
        const r = await exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        expect(statusOf(r)).toBe("HTTP/1.1 503 Service Unavailable")
        expect(bodyOf(r)).toBe('{"health":"false"}')
      } finally {
        await new Promise((r) => listener.close(r))
      }
    }
  })
})

describe("HTTP/1.1 on the client port", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ store: {} })
  })
  afterAll(async () => {
    await server.close()
  })

  it("GET /health and /version answer as etcd 3.4 (an HTTP/2 GOAWAY before); fetch reads them", async () => {
    const health = await fetch(`${server.url}/health`)
    expect(health.status).toBe(200)
    expect(health.headers.get("content-type")).toBe("text/plain; charset=utf-8")
    expect(await health.text()).toBe('{"health":"true"}')
    const version = await fetch(`${server.url}/version`)
    expect(version.headers.get("content-type")).toBe("application/json")
    expect(await version.json()).toEqual({ etcdserver: "3.4.0", etcdcluster: "3.4.0" })
    const head = await exchange(server.port, "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n")
    expect(statusOf(head)).toBe("HTTP/1.1 200 OK")
    expect(bodyOf(head)).toBe("")
  })

  it("refuses other paths (404), methods (405), request lines (400) and heads past the limit (431) in Go's words, and closes", async () => {
    const notFound = await exchange(server.port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    expect(statusOf(notFound)).toBe("HTTP/1.1 404 Not Found")
    expect(bodyOf(notFound)).toBe("404 page not found\n")
    const post = await exchange(
      server.port,
      "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    )
    expect(statusOf(post)).toBe("HTTP/1.1 405 Method Not Allowed")
    expect(post).toContain("\r\nAllow: GET\r\n")
    expect(statusOf(await exchange(server.port, "HELLO\r\n\r\n"))).toBe("HTTP/1.1 400 Bad Request")
    const long = `GET /health HTTP/1.1\r\nX: ${"a".repeat(MAX_HEAD_BYTES)}\r\n\r\n`
    expect(statusOf(await exchange(server.port, long))).toBe(
      "HTTP/1.1 431 Request Header Fields Too Large",
    )
  })

  it("leaves gRPC on the same port as it was: etcdctl puts, gets and checks health", async () => {
    ensureEtcdctl()
    expect((await etcdctl(server.endpoint, ["put", "k", "v"])).stdout.trim()).toBe("OK")
    expect((await etcdctl(server.endpoint, ["get", "k", "--print-value-only"])).stdout.trim()).toBe(
      "v",
    )
    const health = await etcdctl(server.endpoint, ["endpoint", "health"])
    expect(health.stdout + health.stderr).toContain("is healthy")
    expect(await (await fetch(`${server.url}/health`)).text()).toBe('{"health":"true"}')
  })

  it("GET /metrics: etcd's metric names for leadership, the store, gRPC calls and the process; etcdctl check datascale reads it", async () => {
    ensureEtcdctl()
    const sample = (text: string, series: string): number => {
      const line = text.split("\n").find((l) => l.startsWith(`${series} `))
      if (line === undefined) throw new Error(`no ${series} in:\n${text}`)
      return Number(line.slice(series.length + 1))
    }
    await etcdctl(server.endpoint, ["put", "m1", "v"])
    const refused = await etcdctl(server.endpoint, ["get", "m1", "--rev=999999"])
    expect(refused.code).not.toBe(0)
    const revision = JSON.parse(
      (await etcdctl(server.endpoint, ["get", "m1", "-w", "json"])).stdout,
    ).header.revision as number
    const response = await fetch(`${server.url}/metrics`)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
    const text = await response.text()
    expect(sample(text, "etcd_server_has_leader")).toBe(1)
    expect(sample(text, "etcd_server_is_leader")).toBe(1)
    expect(sample(text, "etcd_server_is_learner")).toBe(0)
    expect(sample(text, "etcd_debugging_mvcc_current_revision")).toBe(revision)
    expect(sample(text, 'etcd_server_version{server_version="3.4.0"}')).toBe(1)
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(1e6)
    const kv = 'grpc_service="etcdserverpb.KV",grpc_type="unary"'
    expect(
      sample(text, `grpc_server_handled_total{grpc_code="OK",grpc_method="Put",${kv}}`),
    ).toBeGreaterThan(0)
    expect(
      sample(text, `grpc_server_handled_total{grpc_code="OutOfRange",grpc_method="Range",${kv}}`),
    ).toBe(1)
    expect(
      sample(text, `grpc_server_started_total{grpc_method="Range",${kv}}`),
    ).toBeGreaterThanOrEqual(3)
    // etcdctl's own consumer of /metrics: it failed with "could not find: process_resident_memory_bytes".
    const datascale = await etcdctl(server.endpoint, ["check", "datascale", "--load=s"])
    expect(datascale.stdout).toContain("PASS: Approximate system memory used")
    expect(datascale.code).toBe(0)
  }, 60_000)
})
