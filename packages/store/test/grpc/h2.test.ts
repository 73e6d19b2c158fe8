// Our gRPC-over-HTTP/2 server at the protocol level, with Node's HTTP/2
// client: statuses for unknown methods, compressed, oversized and malformed
// messages, a request split across DATA frames, and a client that goes away.
import * as http2 from "node:http2"
import { describe, expect, it } from "vitest"
import { encodeGrpcMessage, makeGrpcServer, parseGrpcTimeout } from "../../src/grpc/h2.ts"
import { framed, call as rawCall } from "../support/raw.ts"
import { useServerSession } from "../support/server.ts"

const shared = useServerSession()
const session = () => shared.session()

/** One call on the shared session. */
const call = (
  path: string,
  chunks: ReadonlyArray<Uint8Array>,
  contentType = "application/grpc",
  headers: http2.OutgoingHttpHeaders = {},
) => rawCall(session(), path, chunks, { "content-type": contentType, ...headers })

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
    // As grpc-go (etcd): a compressed flag without a grpc-encoding is a protocol error ...
    const compressed = await call("/etcdserverpb.KV/Put", [framed(put, 1)])
    expect([compressed.status, compressed.message]).toEqual([
      "13",
      "grpc: compressed flag set with identity or empty encoding",
    ])
    const flag2 = await call("/etcdserverpb.KV/Put", [framed(put, 2)])
    expect([flag2.status, flag2.message]).toEqual([
      "13",
      "grpc: received unexpected payload format 2",
    ])
    // ... and an encoding we cannot decompress is refused before any message.
    const gzip = await call("/etcdserverpb.KV/Put", [framed(put)], undefined, {
      "grpc-encoding": "gzip",
    })
    expect([gzip.status, gzip.message]).toEqual([
      "12",
      'grpc: Decompressor is not installed for grpc-encoding "gzip"',
    ])
    const header = Buffer.alloc(5)
    header.writeUInt32BE(64 * 1024 * 1024, 1)
    const oversized = await call("/etcdserverpb.KV/Put", [header])
    expect(oversized.status).toBe("8")
    expect(oversized.message).toMatch(/^grpc: received message larger than max \(67108864 vs\. /)
    const json = await call("/etcdserverpb.KV/Put", [framed(put)], "application/json")
    expect(json.status).toBe("415")
    // application/grpc with a suffix other than +format or ;parameters is another type.
    const grpcfoo = await call("/etcdserverpb.KV/Put", [framed(put)], "application/grpcfoo")
    expect(grpcfoo.status).toBe("415")
    const proto = await call("/etcdserverpb.KV/Range", [framed(put)], "application/grpc+proto")
    expect(proto.status).toBe("0")
  })

  it("says how a request ended too early", async () => {
    const whole = framed(put)
    const none = await call("/etcdserverpb.KV/Put", [])
    expect([none.status, none.message]).toEqual(["13", "grpc: no request message"])
    const prefix = await call("/etcdserverpb.KV/Put", [whole.subarray(0, 3)])
    expect([prefix.status, prefix.message]).toEqual([
      "13",
      "grpc: truncated message: 3 of 5 prefix bytes",
    ])
    const half = await call("/etcdserverpb.KV/Put", [whole.subarray(0, 8)])
    expect([half.status, half.message]).toEqual(["13", "grpc: truncated message: 3 of 6 bytes"])
  })

  it("answers malformed messages with etcd's INVALID_ARGUMENT naming the field", async () => {
    const a = await call("/etcdserverpb.KV/Put", [framed(new Uint8Array([0x0a, 9, 0x6b]))])
    expect(a.status).toBe("3")
    expect(a.message).toBe("etcdserver: invalid key: truncated bytes")
  })

  it("survives a client that resets its stream before the answer", async () => {
    const req = session().request({
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

  it("reads grpc-timeout: a passed deadline is answered before any work, a malformed one refused", async () => {
    // A key of its own, so that the puts below can be seen not to have happened.
    const putDl = new Uint8Array([0x0a, 2, 0x64, 0x6c, 0x12, 1, 0x76])
    const rangeDl = framed(new Uint8Array([0x0a, 2, 0x64, 0x6c]))
    for (const timeout of ["0m", "1n", "999u"]) {
      const late = await call("/etcdserverpb.KV/Put", [framed(putDl)], undefined, {
        "grpc-timeout": timeout,
      })
      expect([late.status, late.message]).toEqual(["4", "context deadline exceeded"])
    }
    // Nothing was written: the key reads as one never written (same header, no kv).
    const got = await call("/etcdserverpb.KV/Range", [rangeDl])
    const never = await call("/etcdserverpb.KV/Range", [
      framed(new Uint8Array([0x0a, 2, 0x6e, 0x78])),
    ])
    expect(got.status).toBe("0")
    expect(got.body).toEqual(never.body)
    for (const timeout of ["banana", "123456789S", "5", "-1m"]) {
      const bad = await call("/etcdserverpb.KV/Range", [rangeDl], undefined, {
        "grpc-timeout": timeout,
      })
      expect([bad.status, bad.message]).toEqual(["13", `grpc: malformed grpc-timeout: ${timeout}`])
    }
    const ok = await call("/etcdserverpb.KV/Put", [framed(putDl)], undefined, {
      "grpc-timeout": "99999999H",
    })
    expect(ok.status).toBe("0")
  })

  it("ends a stream whose deadline passes with DEADLINE_EXCEEDED", async () => {
    // A watch stream never ends by itself: only its 1 ms deadline can end it.
    const s = rawCall(
      session(),
      "/etcdserverpb.Watch/Watch",
      [framed(new Uint8Array([0x0a, 3, 0x0a, 1, 0x61]))],
      { "grpc-timeout": "1m" },
      false,
    )
    const end = await s
    expect([end.status, end.message]).toEqual(["4", "context deadline exceeded"])
    expect(parseGrpcTimeout("2S")).toBe(2000)
    expect(parseGrpcTimeout("3u")).toBe(0.003)
  })

  it("percent-encodes grpc-message", () => {
    expect(encodeGrpcMessage("a%b\né")).toBe("a%25b%0A%C3%A9")
  })
})

describe("a server-streaming answer (Snapshot's path)", () => {
  it("takes frames from its iterable only as flow control lets them out (it made them all at once)", async () => {
    const frame = Buffer.alloc(5 + 32 * 1024, 1)
    frame[0] = 0
    frame.writeUInt32BE(32 * 1024, 1)
    const total = 200
    let pulled = 0
    function* frames() {
      for (let i = 0; i < total; i++) {
        pulled++
        yield frame
      }
    }
    const server = makeGrpcServer(
      new Map([
        [
          "/test.Stream/Many",
          {
            kind: "unary",
            call: (_message, reply) => {
              reply(null, frames())
              return undefined
            },
          },
        ],
      ]),
      { maxReceiveBytes: 1024 },
    )
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    const port = (server.address() as { port: number }).port
    const client = http2.connect(`http://127.0.0.1:${port}`)
    try {
      const stream = client.request({
        ":method": "POST",
        ":path": "/test.Stream/Many",
        "content-type": "application/grpc",
      })
      stream.end(framed(new Uint8Array(0)))
      let pulledAtFirstData: number | undefined
      let received = 0
      const status = await new Promise<string>((resolve, reject) => {
        stream.on("data", (d: Buffer) => {
          pulledAtFirstData ??= pulled
          received += d.length
        })
        stream.on("trailers", (t) => resolve(String(t["grpc-status"])))
        stream.on("error", reject)
      })
      expect(status).toBe("0")
      expect(received).toBe(total * frame.length)
      // HTTP/2's window (64 KiB) and the stream's buffer hold a few frames, not 200.
      expect(pulledAtFirstData).toBeLessThan(total / 4)
    } finally {
      client.close()
      await new Promise((r) => server.close(r))
    }
  })
})
