// Our gRPC-over-HTTP/2 server at the protocol level, with Node's HTTP/2
// client: statuses for unknown methods, compressed, oversized and malformed
// messages, a request split across DATA frames, and a client that goes away.
import * as http2 from "node:http2"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeGrpcMessage } from "../../src/grpc/h2.ts"
import { startServer, type TestServer } from "../support/server.ts"

let server: TestServer
let session: http2.ClientHttp2Session

beforeAll(async () => {
  server = await startServer({ store: {} })
  session = http2.connect(`http://127.0.0.1:${server.port}`)
})

afterAll(async () => {
  session.close()
  await server.close()
})

interface Answer {
  readonly status: string | undefined
  readonly message: string | undefined
  readonly body: Buffer
}

/** One call: the request's DATA written in `chunks`; the answer's grpc-status, grpc-message and body. */
const call = (path: string, chunks: ReadonlyArray<Uint8Array>, contentType = "application/grpc") =>
  new Promise<Answer>((resolve, reject) => {
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": contentType,
      te: "trailers",
    })
    let headers: http2.IncomingHttpHeaders = {}
    const body: Buffer[] = []
    req.on("response", (h) => {
      headers = h
    })
    req.on("data", (d: Buffer) => body.push(d))
    req.on("trailers", (t) => {
      headers = { ...headers, ...t }
    })
    req.on("error", reject)
    req.on("close", () =>
      resolve({
        status: (headers["grpc-status"] as string | undefined) ?? String(headers[":status"]),
        message: headers["grpc-message"] as string | undefined,
        body: Buffer.concat(body),
      }),
    )
    for (const c of chunks) req.write(c)
    req.end()
  })

const framed = (message: Uint8Array, flag = 0): Buffer => {
  const b = Buffer.alloc(5 + message.length)
  b[0] = flag
  b.writeUInt32BE(message.length, 1)
  b.set(message, 5)
  return b
}

// PutRequest { key: "k", value: "v" }
const put = new Uint8Array([0x0a, 1, 0x6b, 0x12, 1, 0x76])

describe("gRPC over HTTP/2", () => {
  it("answers a unary call whose message is split across DATA frames", async () => {
    const whole = framed(put)
    const a = await call("/etcdserverpb.KV/Put", [
      whole.subarray(0, 3),
      whole.subarray(3, 7),
      whole.subarray(7),
    ])
    expect(a.status).toBe("0")
    // A PutResponse: a gRPC frame holding the header (field 1).
    expect(a.body[0]).toBe(0)
    expect(a.body.readUInt32BE(1)).toBe(a.body.length - 5)
    expect(a.body[5]).toBe(0x0a)
  })

  it("refuses unknown methods, compressed and oversized messages, and other content types", async () => {
    const unknown = await call("/etcdserverpb.KV/Nope", [framed(put)])
    expect(unknown.status).toBe("12")
    expect(unknown.message).toBe("unknown method /etcdserverpb.KV/Nope")
    const compressed = await call("/etcdserverpb.KV/Put", [framed(put, 1)])
    expect(compressed.status).toBe("12")
    expect(compressed.message).toBe("compressed messages are not supported")
    const header = Buffer.alloc(5)
    header.writeUInt32BE(64 * 1024 * 1024, 1)
    const oversized = await call("/etcdserverpb.KV/Put", [header])
    expect(oversized.status).toBe("8")
    expect(oversized.message).toMatch(/^received message larger than max/)
    const json = await call("/etcdserverpb.KV/Put", [framed(put)], "application/json")
    expect(json.status).toBe("415")
  })

  it("answers malformed messages with etcd's INVALID_ARGUMENT naming the field", async () => {
    const a = await call("/etcdserverpb.KV/Put", [framed(new Uint8Array([0x0a, 9, 0x6b]))])
    expect(a.status).toBe("3")
    expect(decodeURIComponent(a.message ?? "")).toBe("etcdserver: invalid key: truncated bytes")
    const empty = await call("/etcdserverpb.KV/Put", [])
    expect(empty.status).toBe("13")
  })

  it("survives a client that resets its stream before the answer", async () => {
    const req = session.request({
      ":method": "POST",
      ":path": "/etcdserverpb.KV/Put",
      "content-type": "application/grpc",
    })
    req.on("error", () => undefined)
    req.write(framed(put))
    req.close(http2.constants.NGHTTP2_CANCEL)
    await new Promise((r) => req.on("close", r))
    const after = await call("/etcdserverpb.KV/Range", [framed(new Uint8Array([0x0a, 1, 0x6b]))])
    expect(after.status).toBe("0")
  })

  it("percent-encodes grpc-message", () => {
    expect(encodeGrpcMessage("a%b\né")).toBe("a%25b%0A%C3%A9")
  })
})
