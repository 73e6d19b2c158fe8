// HPACK decoding against Node's own HPACK encoder (nghttp2), and the authority
// shim with a client that sends an :authority Node's HTTP/2 would refuse.
import * as http2 from "node:http2"
import * as net from "node:net"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { repairAuthority, validAuthority } from "../../src/grpc/authority.ts"
import { encodeLiterals, HpackDecoder, HUFFMAN_CODES, huffmanDecode } from "../../src/grpc/hpack.ts"
import { ensureEtcdctl, etcdctl } from "../support/etcdctl.ts"
import { startServer, type TestServer } from "../support/server.ts"

describe("the HPACK Huffman code", () => {
  it("is the canonical code of RFC 7541's lengths", () => {
    // Codes listed in RFC 7541 Appendix B.
    expect(HUFFMAN_CODES[0]).toEqual([0x1ff8, 13])
    expect(HUFFMAN_CODES[10]).toEqual([0x3ffffffc, 30])
    expect(HUFFMAN_CODES[48]).toEqual([0x0, 5]) // '0'
    expect(HUFFMAN_CODES[97]).toEqual([0x3, 5]) // 'a'
    expect(HUFFMAN_CODES[256]).toEqual([0x3fffffff, 30]) // EOS
  })

  it("decodes RFC 7541's example string", () => {
    const www = Uint8Array.from([
      0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
    ])
    expect(huffmanDecode(www)).toBe("www.example.com")
    expect(() => huffmanDecode(Uint8Array.from([0xf1, 0x00]))).toThrow(/padding|code/)
  })
})

/** Captures the header blocks a real HTTP/2 client (Node's nghttp2 encoder) sends. */
const captureBlocks = async (
  requests: ReadonlyArray<http2.OutgoingHttpHeaders>,
): Promise<Buffer[]> => {
  const chunks: Buffer[] = []
  const server = net.createServer((socket) => {
    socket.on("data", (c) => chunks.push(c))
    socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]))
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const port = (server.address() as net.AddressInfo).port
  const client = http2.connect(`http://127.0.0.1:${port}`)
  for (const h of requests) client.request(h).end()
  const expected = requests.length
  const blocks: Buffer[] = []
  const deadline = performance.now() + 10_000
  while (blocks.length < expected) {
    if (performance.now() > deadline) throw new Error("timed out capturing header blocks")
    await new Promise((r) => setTimeout(r, 5))
    blocks.length = 0
    let bytes = Buffer.concat(chunks).subarray(24)
    while (bytes.length >= 9) {
      const len = bytes.readUIntBE(0, 3)
      if (bytes.length < 9 + len) break
      if (bytes[3] === 1) {
        let start = 9
        let end = 9 + len
        if (bytes[4]! & 0x8) end -= bytes[start++]!
        if (bytes[4]! & 0x20) start += 5
        blocks.push(bytes.subarray(start, end))
      }
      bytes = bytes.subarray(9 + len)
    }
  }
  client.destroy()
  server.close()
  return blocks
}

describe("HpackDecoder", () => {
  it("decodes what Node's HTTP/2 client encodes, dynamic table and Huffman included", async () => {
    const headerValue = fc.string({
      unit: fc.constantFrom(..."abcxyz019-_./:=;, ~"),
      maxLength: 40,
    })
    const samples = fc.sample(
      fc.array(fc.tuple(fc.constantFrom("x-a", "x-b", "grpc-timeout", "te"), headerValue), {
        maxLength: 5,
      }),
      12,
    )
    const requests = samples.map((extra, i) => ({
      ":method": "POST",
      ":path": `/etcdserverpb.KV/Range${i % 3}`,
      ":authority": i % 2 === 0 ? "127.0.0.1:2379" : "http://127.0.0.1:2379",
      "content-type": "application/grpc",
      ...Object.fromEntries(extra.filter(([n]) => n !== "te")),
    }))
    const blocks = await captureBlocks(requests)
    const decoder = new HpackDecoder()
    blocks.forEach((block, i) => {
      const headers = Object.fromEntries(decoder.decode(block))
      const sent = requests[i]!
      for (const [name, value] of Object.entries(sent)) expect(headers[name]).toBe(value)
    })
  })

  it("round-trips its own literal encoding", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ minLength: 1 }), fc.string())), (headers) => {
        // Header octets: one char per byte.
        const octets = (x: string): string =>
          Array.from(x, (c) => (c.charCodeAt(0) > 0xff ? "?" : c)).join("")
        const latin1 = headers.map(([n, v]) => [octets(n), octets(v)] as const)
        expect(new HpackDecoder().decode(encodeLiterals(latin1))).toEqual(latin1)
      }),
    )
  })
})

describe("authority repair", () => {
  it.each([
    ["127.0.0.1:2379", true, "127.0.0.1:2379"],
    ["http://127.0.0.1:2379", false, "127.0.0.1:2379"],
    ["https://etcd.example:2379/", false, "etcd.example:2379"],
    ["#initially=[http://127.0.0.1:2379]", false, "localhost"],
  ])("%s", (authority, valid, repaired) => {
    expect(validAuthority(authority)).toBe(valid)
    expect(repairAuthority(authority)).toBe(repaired)
  })
})

describe("the gRPC server with a bad :authority", () => {
  let server: TestServer
  beforeAll(async () => {
    ensureEtcdctl()
    server = await startServer({ clientURLs: [] })
  })
  afterAll(async () => {
    await server.close()
  })

  it("answers a raw HTTP/2 call whose :authority is a URL", async () => {
    const client = http2.connect(server.url)
    const status = await new Promise<string | undefined>((resolve, reject) => {
      const req = client.request({
        ":method": "POST",
        ":path": "/etcdserverpb.Maintenance/Status",
        ":authority": server.url,
        "content-type": "application/grpc",
        te: "trailers",
      })
      req.on("trailers", (t) => resolve(t["grpc-status"] as string | undefined))
      req.on("error", reject)
      req.end(Buffer.from([0, 0, 0, 0, 0]))
    })
    client.destroy()
    expect(status).toBe("0")
  })

  it("serves etcdctl's endpoint status with a scheme in the endpoint", async () => {
    const r = await etcdctl(server.url, ["endpoint", "status", "-w", "json"])
    expect(r.stderr).toBe("")
    expect(JSON.parse(r.stdout)[0].Endpoint).toBe(server.url)
  })
})
