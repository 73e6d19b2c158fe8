// The authority shim reads a connection's first frames before Node's HTTP/2
// does: what Node would refuse at once must not be buffered or waited on
// there (a frame over 16 KiB, a header block that never ends, an HTTP/1
// request), and a well-behaved client still gets through.
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeLiterals } from "../../src/grpc/hpack.ts"
import { startServer, type TestServer } from "../support/server.ts"

let server: TestServer

beforeAll(async () => {
  server = await startServer({ store: {} })
})

afterAll(async () => {
  await server.close()
})

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

const frame = (
  type: number,
  flags: number,
  stream: number,
  payload: Buffer,
  length = payload.length,
) => {
  const head = Buffer.alloc(9)
  head.writeUIntBE(length, 0, 3)
  head[3] = type
  head[4] = flags
  head.writeUInt32BE(stream, 5)
  return Buffer.concat([head, payload])
}

/** Writes `bytes` on a new connection; resolves with what the server sent once it closed it (fails after 10 s). */
const closedAfter = (bytes: Buffer): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const got: Buffer[] = []
    const socket = net.connect(server.port, "127.0.0.1", () => socket.write(bytes))
    const deadline = setTimeout(() => {
      socket.destroy()
      reject(new Error("the server kept the connection open"))
    }, 10_000)
    socket.on("data", (d) => got.push(d))
    socket.on("error", () => undefined)
    socket.on("close", () => {
      clearTimeout(deadline)
      resolve(Buffer.concat(got))
    })
  })

describe("the authority shim", () => {
  it("closes a connection whose frame is larger than 16 KiB instead of buffering it (up to 16 MiB)", async () => {
    // Only the frame's header is sent: before, the server waited for its 16 MiB.
    const huge = frame(0x0, 0, 1, Buffer.alloc(0), 16 * 1024 * 1024 - 1)
    await closedAfter(Buffer.concat([PREFACE, huge]))
  })

  it("closes a connection whose header block never ends (CONTINUATION flood)", async () => {
    const headers = frame(0x1, 0, 1, Buffer.alloc(100, 0x40)) // no END_HEADERS
    const continuation = frame(0x9, 0, 1, Buffer.alloc(16384, 0x40))
    const flood = Array.from({ length: 20 }, () => continuation)
    await closedAfter(
      Buffer.concat([PREFACE, frame(0x4, 0, 0, Buffer.alloc(0)), headers, ...flood]),
    )
  })

  it("closes a connection that sends too much before its first request", async () => {
    const ping = frame(0x6, 0, 0, Buffer.alloc(8))
    const pings = Array.from({ length: 20_000 }, () => ping)
    await closedAfter(Buffer.concat([PREFACE, ...pings]))
  })

  it("closes a rewritten connection (a URL as :authority) that then sends a frame larger than 16 KiB", async () => {
    const block = encodeLiterals([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/etcdserverpb.Maintenance/Status"],
      [":authority", `http://127.0.0.1:${server.port}`],
      ["content-type", "application/grpc"],
    ])
    const settingsAck = frame(0x4, 0x1, 0, Buffer.alloc(0))
    const headers = frame(0x1, 0x4, 1, Buffer.from(block)) // END_HEADERS
    const huge = frame(0x0, 0, 1, Buffer.alloc(0), 1024 * 1024)
    await closedAfter(
      Buffer.concat([PREFACE, frame(0x4, 0, 0, Buffer.alloc(0)), settingsAck, headers, huge]),
    )
  })

  it("gives an HTTP/1 request to the HTTP/1 endpoints, with no HTTP/2 bytes before the answer (it waited forever, then got GOAWAY)", async () => {
    const answer = await closedAfter(Buffer.from("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"))
    expect(answer.toString("latin1")).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
  })
})
