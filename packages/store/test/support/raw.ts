// Raw gRPC over Node's HTTP/2 client, for tests that send what no generated
// client would: hand-built protobuf bytes, bad framing, odd headers.
import * as http2 from "node:http2"

export interface Answer {
  /** grpc-status (or the HTTP :status when there is none). */
  readonly status: string | undefined
  /** grpc-message, percent-decoded. */
  readonly message: string | undefined
  readonly body: Buffer
}

/** A gRPC message frame: flag, big-endian u32 length, bytes. */
export const framed = (message: Uint8Array, flag = 0): Buffer => {
  const b = Buffer.alloc(5 + message.length)
  b[0] = flag
  b.writeUInt32BE(message.length, 1)
  b.set(message, 5)
  return b
}

/** The messages of a gRPC response body. */
export const messagesOf = (body: Buffer): Buffer[] => {
  const out: Buffer[] = []
  for (let i = 0; i + 5 <= body.length; ) {
    const n = body.readUInt32BE(i + 1)
    out.push(body.subarray(i + 5, i + 5 + n))
    i += 5 + n
  }
  return out
}

const decodeMessage = (m: unknown): string | undefined =>
  typeof m === "string" ? decodeURIComponent(m) : undefined

/**
 * One call on `session`: the request's DATA written in `chunks`, then the end
 * of the request (unless `end` is false: the answer must then end the stream).
 */
export const call = (
  session: http2.ClientHttp2Session,
  path: string,
  chunks: ReadonlyArray<Uint8Array>,
  headers: http2.OutgoingHttpHeaders = {},
  end = true,
): Promise<Answer> =>
  new Promise<Answer>((resolve, reject) => {
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    })
    let got: http2.IncomingHttpHeaders = {}
    const body: Buffer[] = []
    const finish = () =>
      resolve({
        status: (got["grpc-status"] as string | undefined) ?? String(got[":status"]),
        message: decodeMessage(got["grpc-message"]),
        body: Buffer.concat(body),
      })
    req.on("response", (h) => {
      got = h
    })
    req.on("data", (d: Buffer) => body.push(d))
    req.on("trailers", (t) => {
      got = { ...got, ...t }
    })
    // A stream left open by the client: the end of the answer (trailers, or a
    // Trailers-Only response) is the end of the call.
    req.on("end", () => {
      if (!end) {
        finish()
        req.close()
      }
    })
    req.on("error", reject)
    req.on("close", finish)
    for (const c of chunks) req.write(c)
    if (end) req.end()
  })

// Protobuf fields by hand (proto3 wire format).

/** A varint of an int64 (two's complement for negatives, as protobuf writes int64). */
export const varint = (n: bigint | number): number[] => {
  let v = BigInt.asUintN(64, BigInt(n))
  const out: number[] = []
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return out
}

export const varintField = (field: number, n: bigint | number): number[] => [
  ...varint(field * 8),
  ...varint(n),
]

export const lenField = (field: number, body: ArrayLike<number> | string): number[] => {
  const bytes = typeof body === "string" ? [...Buffer.from(body)] : Array.from(body)
  return [...varint(field * 8 + 2), ...varint(bytes.length), ...bytes]
}

export const message = (...fields: number[][]): Uint8Array => Uint8Array.from(fields.flat())

/** An open bidirectional call: write messages, await responses one by one, or the final status. */
export interface RawStream {
  readonly write: (message: Uint8Array) => void
  /** The next response message, in order. */
  readonly next: () => Promise<Buffer>
  /** The status the server ended the stream with. */
  readonly ended: Promise<Answer>
  /** Half-closes the call: no more requests. */
  readonly end: () => void
  readonly cancel: () => void
}

export const openStream = (session: http2.ClientHttp2Session, path: string): RawStream => {
  const req = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
  })
  let pending = Buffer.alloc(0)
  const ready: Buffer[] = []
  const waiting: Array<(b: Buffer) => void> = []
  let got: http2.IncomingHttpHeaders = {}
  req.on("response", (h) => {
    got = h
  })
  req.on("data", (d: Buffer) => {
    pending = Buffer.concat([pending, d])
    for (;;) {
      if (pending.length < 5) return
      const n = pending.readUInt32BE(1)
      if (pending.length < 5 + n) return
      const m = pending.subarray(5, 5 + n)
      pending = pending.subarray(5 + n)
      const w = waiting.shift()
      if (w === undefined) ready.push(m)
      else w(m)
    }
  })
  const ended = new Promise<Answer>((resolve, reject) => {
    const finish = () =>
      resolve({
        status: got["grpc-status"] as string | undefined,
        message: decodeMessage(got["grpc-message"]),
        body: Buffer.alloc(0),
      })
    // The server's status (in trailers, or alone in a Trailers-Only answer)
    // ends the call, whether or not our side is still open.
    req.on("trailers", (t) => {
      got = { ...got, ...t }
    })
    req.on("end", () => {
      finish()
      req.close()
    })
    req.on("error", reject)
    req.on("close", finish)
  })
  // A test that cancels the stream may never await its end.
  ended.catch(() => undefined)
  return {
    write: (m) => req.write(framed(m)),
    next: () => {
      const m = ready.shift()
      return m !== undefined ? Promise.resolve(m) : new Promise((r) => waiting.push(r))
    },
    ended,
    end: () => req.end(),
    cancel: () => req.close(http2.constants.NGHTTP2_CANCEL),
  }
}
