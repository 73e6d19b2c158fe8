// Queries over the peer port: the frames (cut anywhere by the stream), what a
// node from before queries does with one, and a real TcpTransport answering.
import * as net from "node:net"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Message } from "../../src/core/types.ts"
import { TcpTransport } from "../../src/transport/tcp.ts"
import * as frames from "../../src/transport/tcp-frames.ts"
import { queryPeer } from "../../src/transport/tcp-query.ts"

/** Node "a" dialing node "b"; `deliver` sends from a and resolves once b has it. */
const pair = async () => {
  const received: Message[] = []
  let notify: () => void = () => undefined
  const b = await TcpTransport.listen(
    { id: "b", port: 0 },
    {
      onMessage: (m) => {
        received.push(m)
        notify()
      },
    },
  )
  const a = await TcpTransport.listen({ id: "a", port: 0 }, { onMessage: () => undefined })
  a.setPeer("b", b.address())
  const deliver = (m: Message) =>
    new Promise<void>((resolve) => {
      const n = received.length
      notify = () => {
        if (received.length > n) resolve()
      }
      a.send(m)
    })
  return { a, b, received, deliver }
}

describe("query frames", () => {
  it("round-trip a query and its answer through the decoder, cut at any points", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.uniqueArray(fc.nat(), { maxLength: 6 }),
        (from, to, question, reply, cuts) => {
          const stream = new Uint8Array([
            ...frames.encodeQuery(from, to, question),
            ...frames.encodeAnswer(reply),
          ])
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort(
            (a, b) => a - b,
          )
          const decoder = new frames.FrameDecoder(1024)
          const payloads: Uint8Array[] = []
          let prev = 0
          for (const c of [...points, stream.length]) {
            for (const p of decoder.push(stream.slice(prev, c))) payloads.push(p.slice())
            prev = c
          }
          expect(payloads).toHaveLength(2)
          const q = frames.decodeQuery(payloads[0]!)
          expect([q.from, q.to, [...q.body]]).toEqual([from, to, [...question]])
          expect([...frames.decodeAnswer(payloads[1]!)]).toEqual([...reply])
        },
      ),
    )
  })

  it("read by a node from before queries as a bad hello (so it closes the connection unanswered)", () => {
    const query = frames.encodeQuery("a", "b", Uint8Array.of(1, 2, 3))
    expect(() => frames.decodeHello(query.subarray(4))).toThrow(
      "expected a hello frame, got kind 3",
    )
    const hello = frames.encodeHello("a", "b").subarray(4)
    expect(() => frames.decodeAnswer(hello)).toThrow("expected an answer frame, got kind 1")
    expect(() => frames.decodeQuery(hello)).toThrow("expected a query frame, got kind 1")
  })
})

describe("queryPeer against a TcpTransport on 127.0.0.1", () => {
  it("is answered once a handler is set, and the transport still serves Raft", async () => {
    const { a, b, received, deliver } = await pair()
    const free = net.createServer()
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve))
    const closedPort = (free.address() as net.AddressInfo).port
    await new Promise((resolve) => free.close(resolve))
    try {
      const ask = (to: string, port = b.address().port) =>
        queryPeer({
          address: { host: "127.0.0.1", port },
          from: "a",
          to,
          body: Uint8Array.of(7, 8),
          timeoutMs: 10_000,
        })
      // No handler yet (a node still starting): closed unanswered.
      expect(await ask("b")).toBeUndefined()
      const asked: Array<[string, number[]]> = []
      b.onQuery((from, body) => {
        asked.push([from, [...body]])
        return body[0] === 7 ? Uint8Array.of(42, ...body) : undefined
      })
      expect([...((await ask("b")) ?? [])]).toEqual([42, 7, 8])
      expect(asked).toEqual([["a", [7, 8]]])
      // Addressed to another node: no answer, and the handler is not asked.
      expect(await ask("c")).toBeUndefined()
      expect(asked).toHaveLength(1)
      // Nobody listening: no answer (refused at once, not at the deadline).
      expect(await ask("b", closedPort)).toBeUndefined()
      b.onQuery(() => {
        throw new Error("handler bug")
      })
      expect(await ask("b")).toBeUndefined()
      await deliver({ type: "TimeoutNow", from: "a", to: "b", term: 3 })
      expect(received.map((m) => m.term)).toEqual([3])
    } finally {
      await a.close()
      await b.close()
    }
  })
})

describe("queryPeer against something that never answers", () => {
  it("gives no answer once its deadline passes (the connection is dropped)", async () => {
    const sockets: net.Socket[] = []
    const silent = net.createServer((socket) => {
      sockets.push(socket)
      socket.on("error", () => undefined)
    })
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
    try {
      const answer = await queryPeer({
        address: { host: "127.0.0.1", port: (silent.address() as net.AddressInfo).port },
        from: "a",
        to: "b",
        body: Uint8Array.of(1),
        timeoutMs: 50,
      })
      expect(answer).toBeUndefined()
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })
})

describe("heardFrom", () => {
  it("is the highest term of a message other than a pre-vote received from a peer (a pre-vote shows no durable state)", async () => {
    const { a, b, deliver } = await pair()
    try {
      const vote = { from: "a", to: "b", lastLogIndex: 0, lastLogTerm: 0, transfer: false }
      expect(b.heardFrom("a")).toBe(0)
      await deliver({ type: "RequestVote", term: 5, preVote: true, ...vote })
      await deliver({
        type: "RequestVoteResponse",
        from: "a",
        to: "b",
        term: 6,
        voteGranted: true,
        preVote: true,
      })
      expect(b.heardFrom("a")).toBe(0)
      await deliver({
        type: "Heartbeat",
        from: "a",
        to: "b",
        term: 2,
        leaderCommit: 0,
        readContext: 0,
      })
      expect(b.heardFrom("a")).toBe(2)
      await deliver({ type: "HeartbeatResponse", from: "a", to: "b", term: 1, readContext: 0 })
      expect(b.heardFrom("a")).toBe(2)
      await deliver({ type: "RequestVote", term: 3, preVote: false, ...vote })
      expect(b.heardFrom("a")).toBe(3)
      expect(b.heardFrom("c")).toBe(0)
      expect(a.heardFrom("b")).toBe(0)
    } finally {
      await a.close()
      await b.close()
    }
  })
})
