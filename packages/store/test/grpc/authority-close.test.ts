// Connections whose :authority is rewritten (etcdctl's URL authorities) run
// HTTP/2 over a JS stream pair: clients that go away with calls open, and a
// server that closes under them, must neither crash the process (Node's JS
// stream socket asserts when a write of the session is left pending) nor
// leave a connection behind.
import * as http2 from "node:http2"
import { describe, expect, it } from "vitest"
import { rewritingConnections } from "../../src/grpc/authority.ts"
import { startServer } from "../support/server.ts"

/** Starts a raw gRPC call with a URL as :authority; resolves at its first answer. */
const call = (client: http2.ClientHttp2Session, url: string, path: string, end: boolean) =>
  new Promise<void>((resolve) => {
    const req = client.request({
      ":method": "POST",
      ":path": path,
      ":authority": url,
      "content-type": "application/grpc",
      te: "trailers",
    })
    req.on("error", () => resolve())
    req.on("response", () => resolve())
    req.on("trailers", () => resolve())
    const empty = Buffer.from([0, 0, 0, 0, 0])
    if (end) req.end(empty)
    else req.write(empty)
  })

const waitFor = async (what: string, done: () => boolean) => {
  const deadline = performance.now() + 10_000
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe("rewritten connections", () => {
  it("survive a server closing under open calls, and none is left behind", async () => {
    for (let round = 0; round < 12; round++) {
      const server = await startServer({ clientURLs: [] })
      const clients: http2.ClientHttp2Session[] = []
      for (let i = 0; i < 3; i++) {
        const client = http2.connect(server.url)
        client.on("error", () => {})
        clients.push(client)
        await call(client, server.url, "/etcdserverpb.Maintenance/Status", true)
        void call(client, server.url, "/etcdserverpb.Watch/Watch", false)
        void call(client, server.url, "/etcdserverpb.KV/Range", round % 2 === 0)
      }
      if (round % 3 === 0) clients[0]!.destroy()
      await server.close()
      for (const c of clients) c.destroy()
    }
    await waitFor("rewritten connections to close", () => rewritingConnections() === 0)
    expect(rewritingConnections()).toBe(0)
  })

  it("end when their client goes away while the server keeps running", async () => {
    const server = await startServer({ clientURLs: [] })
    try {
      for (let i = 0; i < 10; i++) {
        const client = http2.connect(server.url)
        client.on("error", () => {})
        await call(client, server.url, "/etcdserverpb.Maintenance/Status", true)
        void call(client, server.url, "/etcdserverpb.Watch/Watch", false)
        expect(rewritingConnections()).toBeGreaterThan(0)
        if (i % 2 === 0) client.destroy()
        else client.socket.destroy()
      }
      await waitFor("rewritten connections to close", () => rewritingConnections() === 0)
      expect(rewritingConnections()).toBe(0)
    } finally {
      await server.close()
    }
  })
})
