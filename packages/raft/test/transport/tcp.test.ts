import * as net from "node:net"
import { assert, it as effectIt } from "@effect/vitest"
import { Context, Effect, Layer, Stream } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Message } from "../../src/core/types.ts"
import { coalesceAppends } from "../../src/transport/coalesce.ts"
import { RaftTcpTransport, TcpTransport, TcpTransportError } from "../../src/transport/tcp.ts"
import type { RaftCodecError } from "../../src/transport/tcp-codec.ts"
import { messageArb } from "./arbitraries.ts"

/** Resolves when `ready()` holds after some event, or fails after `ms` (a deadline, not a wait). */
const until = (ready: () => boolean, ms = 10_000) => {
  let check: () => void = () => undefined
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("condition not reached before the deadline")),
      ms,
    )
    check = () => {
      if (ready()) {
        clearTimeout(timer)
        resolve()
      }
    }
    check()
  })
  return { done, check }
}

interface Node {
  readonly transport: TcpTransport
  readonly received: Message[]
  readonly unreachable: string[]
  readonly errors: RaftCodecError[]
  notify: () => void
}

const start = async (
  id: string,
  port = 0,
  maxFrameBytes?: number,
  keepConnected?: boolean,
): Promise<Node> => {
  const node: Omit<Node, "transport"> & { transport?: TcpTransport } = {
    received: [],
    unreachable: [],
    errors: [],
    notify: () => undefined,
  }
  node.transport = await TcpTransport.listen(
    {
      id,
      port,
      backoffInitialMs: 5,
      backoffMaxMs: 50,
      ...(maxFrameBytes === undefined ? {} : { maxFrameBytes, batchBytes: maxFrameBytes }),
      ...(keepConnected === undefined ? {} : { keepConnected }),
    },
    {
      onMessage: (m) => {
        node.received.push(m)
        node.notify()
      },
      onUnreachable: (p) => {
        node.unreachable.push(p)
        node.notify()
      },
      onProtocolError: (e) => {
        node.errors.push(e)
        node.notify()
      },
    },
  )
  return node as Node
}

const waitFor = async (nodes: ReadonlyArray<Node>, ready: () => boolean) => {
  const u = until(ready)
  for (const n of nodes) n.notify = u.check
  await u.done
}

const link = (a: Node, b: Node) => {
  a.transport.setPeer(b.transport.id, b.transport.address())
  b.transport.setPeer(a.transport.id, a.transport.address())
}

describe("TcpTransport on 127.0.0.1", () => {
  it("delivers every message, in order, between two nodes (but superseded empty AppendEntries)", async () => {
    const a = await start("a")
    const b = await start("b")
    link(a, b)
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(messageArb, { minLength: 1, maxLength: 40 }), async (raw) => {
          const toB = raw.map((m) => ({ ...m, from: "a", to: "b" }) as Message)
          const toA = raw.map((m) => ({ ...m, from: "b", to: "a" }) as Message)
          b.received.length = 0
          a.received.length = 0
          for (const m of toB) a.transport.send(m)
          for (const m of toA) b.transport.send(m)
          // Sent in one turn, so flushed together: an empty AppendEntries that a
          // later one covers is left out (coalesce.test.ts has its rule).
          const expectB = [...toB]
          const expectA = [...toA]
          coalesceAppends(expectB)
          coalesceAppends(expectA)
          await waitFor(
            [a, b],
            () => b.received.length >= expectB.length && a.received.length >= expectA.length,
          )
          expect(b.received).toEqual(expectB)
          expect(a.received).toEqual(expectA)
        }),
        { numRuns: 25 },
      )
    } finally {
      await a.transport.close()
      await b.transport.close()
    }
  })

  it("sends one AppendEntries, not two, when a commitIndex-only one is followed in the same turn", async () => {
    const a = await start("a")
    const b = await start("b")
    link(a, b)
    const append = (prevLogIndex: number, leaderCommit: number, entries: number): Message => ({
      type: "AppendEntries",
      from: "a",
      to: "b",
      term: 2,
      prevLogIndex,
      prevLogTerm: 2,
      leaderCommit,
      entries: Array.from({ length: entries }, (_, i) => ({
        index: prevLogIndex + 1 + i,
        term: 2,
        type: "Normal" as const,
        data: new Uint8Array([7]),
      })),
    })
    try {
      // Connect first: messages queued before the connection are flushed at once.
      a.transport.send({ type: "TimeoutNow", from: "a", to: "b", term: 1 })
      await waitFor([b], () => b.received.length === 1)
      // The leader commits 5 (an empty AppendEntries to carry it), then takes a
      // proposal in the same turn (its AppendEntries carries commit 5 too).
      a.transport.send(append(5, 5, 0))
      await Promise.resolve()
      a.transport.send(append(5, 5, 1))
      await waitFor([b], () => b.received.length === 2)
      expect(b.received[1]).toEqual(append(5, 5, 1))
      expect(a.transport.stats().coalesced).toBe(1)
      // Alone, the empty one goes out at the end of the turn.
      a.transport.send(append(6, 6, 0))
      await waitFor([b], () => b.received.length === 3)
      expect(b.received[2]).toEqual(append(6, 6, 0))
      expect(a.transport.stats().coalesced).toBe(1)
    } finally {
      await a.transport.close()
      await b.transport.close()
    }
  })

  it("flushScheduled writes what is queued at once; an empty AppendEntries alone still waits for the end of the turn", async () => {
    const a = await start("a")
    const b = await start("b")
    link(a, b)
    try {
      a.transport.send({ type: "TimeoutNow", from: "a", to: "b", term: 1 })
      await waitFor([b], () => b.received.length === 1)
      const frames = a.transport.stats().framesSent
      const ack: Message = {
        type: "AppendEntriesResponse",
        from: "a",
        to: "b",
        term: 1,
        success: true,
        matchIndex: 3,
        prevLogIndex: 2,
        conflictIndex: 0,
        conflictTerm: 0,
      }
      a.transport.send(ack)
      a.transport.send({ ...ack, matchIndex: 4, prevLogIndex: 3 })
      // Written before this turn's microtasks run: one frame with both.
      a.transport.flushScheduled()
      expect(a.transport.stats().framesSent).toBe(frames + 1)
      expect(a.transport.stats().messagesSent).toBe(3)
      a.transport.send({
        type: "AppendEntries",
        from: "a",
        to: "b",
        term: 1,
        prevLogIndex: 4,
        prevLogTerm: 1,
        leaderCommit: 4,
        entries: [],
      })
      a.transport.flushScheduled()
      expect(a.transport.stats().framesSent).toBe(frames + 1)
      await waitFor([b], () => b.received.length === 4)
      expect(b.received.slice(1, 3)).toEqual([ack, { ...ack, matchIndex: 4, prevLogIndex: 3 }])
      expect(a.transport.stats().framesSent).toBe(frames + 2)
    } finally {
      await a.transport.close()
      await b.transport.close()
    }
  })

  it("tells the receiver when a read's messages have all been handed over", async () => {
    const a = await start("a")
    const log: string[] = []
    const u = until(() => log.filter((x) => x === "end").length > 0 && log.length >= 4)
    const b = await TcpTransport.listen(
      { id: "b", port: 0 },
      {
        onMessage: (m) => {
          log.push(`${m.type} ${m.term}`)
          u.check()
        },
        onReadEnd: () => {
          log.push("end")
          u.check()
        },
      },
    )
    a.transport.setPeer("b", b.address())
    try {
      // Sent in one turn: one frame, one read (the connection is new, so
      // they wait for it and leave together).
      for (let term = 1; term <= 3; term++)
        a.transport.send({ type: "TimeoutNow", from: "a", to: "b", term })
      await u.done
      expect(log).toEqual(["TimeoutNow 1", "TimeoutNow 2", "TimeoutNow 3", "end"])
    } finally {
      await a.transport.close()
      await b.close()
    }
  })

  it("batches what one step sends into few frames", async () => {
    const a = await start("a")
    const b = await start("b")
    link(a, b)
    try {
      const heartbeat = (i: number): Message => ({
        type: "Heartbeat",
        from: "a",
        to: "b",
        term: 1,
        leaderCommit: i,
        readContext: 0,
      })
      for (let i = 0; i < 1000; i++) a.transport.send(heartbeat(i))
      await waitFor([b], () => b.received.length === 1000)
      expect(b.received.map((m) => (m.type === "Heartbeat" ? m.leaderCommit : -1))).toEqual(
        Array.from({ length: 1000 }, (_, i) => i),
      )
      // 1000 messages of about 10 bytes fit in one 1 MiB frame.
      expect(a.transport.stats().framesSent).toBe(1)
      expect(b.transport.stats().framesReceived).toBe(1)
    } finally {
      await a.transport.close()
      await b.transport.close()
    }
  })

  it("reconnects with backoff after the peer restarts and reports it unreachable meanwhile", async () => {
    const a = await start("a")
    let b = await start("b")
    link(a, b)
    const port = b.transport.address().port
    const m = (i: number): Message => ({ type: "TimeoutNow", from: "a", to: "b", term: i })
    try {
      a.transport.send(m(1))
      await waitFor([b], () => b.received.length === 1)
      await b.transport.close()
      // Sends to a peer that is down fail their connection: unreachable.
      a.transport.send(m(2))
      await waitFor([a], () => a.unreachable.length >= 1)
      expect(a.unreachable[0]).toBe("b")
      b = await start("b", port)
      b.transport.setPeer("a", a.transport.address())
      // Keep sending until the new b hears from a (messages sent while it was
      // down may be lost: Raft retransmits).
      a.transport.send(m(3))
      await waitFor([a, b], () => {
        if (b.received.some((x) => x.term === 3)) return true
        if (a.transport.stats().connects < 2) a.transport.send(m(3))
        return false
      })
      expect(b.received.at(-1)).toEqual(m(3))
      expect(a.transport.stats().connects).toBeGreaterThanOrEqual(2)
    } finally {
      await a.transport.close()
      await b.transport.close()
    }
  })

  it("with keepConnected, dials every peer with nothing to send, knows since when, and redials after a restart", async () => {
    // Connections raise no event the nodes report: poll the condition, with a deadline.
    const poll = async (ready: () => boolean, ms = 10_000) => {
      const deadline = Date.now() + ms
      while (!ready()) {
        if (Date.now() > deadline) throw new Error("condition not reached before the deadline")
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    const t0 = Date.now()
    const a = await start("a", 0, undefined, true)
    let b = await start("b", 0, undefined, true)
    const c = await start("c")
    const port = b.transport.address().port
    try {
      link(a, b)
      b.transport.setPeer("c", c.transport.address())
      c.transport.setPeer("b", b.transport.address())
      expect(a.transport.connectedSince("nobody")).toBeUndefined()
      await poll(
        () =>
          a.transport.connectedSince("b") !== undefined &&
          b.transport.connectedSince("a") !== undefined &&
          b.transport.connectedSince("c") !== undefined,
      )
      const first = a.transport.connectedSince("b")!
      expect(first).toBeGreaterThanOrEqual(t0)
      expect(first).toBeLessThanOrEqual(Date.now())
      // Nothing was sent: without keepConnected, c has not dialled b.
      expect(c.transport.connectedSince("b")).toBeUndefined()
      expect(c.transport.stats().connects).toBe(0)
      expect(a.transport.stats().messagesSent).toBe(0)

      await b.transport.close()
      await poll(() => a.transport.connectedSince("b") === undefined)
      b = await start("b", port, undefined, true)
      // Redialled with nothing queued.
      await poll(() => a.transport.connectedSince("b") !== undefined)
      expect(a.transport.connectedSince("b")!).toBeGreaterThanOrEqual(first)
      expect(a.transport.stats().connects).toBeGreaterThanOrEqual(2)
      expect(a.transport.stats().messagesSent).toBe(0)
    } finally {
      await a.transport.close()
      await b.transport.close()
      await c.transport.close()
    }
  })

  it("drops a connection that speaks garbage or claims another node, and keeps serving", async () => {
    const a = await start("a")
    const b = await start("b")
    link(a, b)
    try {
      const raw = net.createConnection(b.transport.address())
      await new Promise<void>((resolve) => raw.on("connect", resolve))
      raw.write(Uint8Array.of(5, 0, 0, 0, 1, 0x48, 0x54, 0x54, 0x50))
      await waitFor([b], () => b.errors.length === 1)
      expect(b.errors[0]?.field).toBe("hello.magic")
      raw.destroy()
      a.transport.send({ type: "TimeoutNow", from: "a", to: "b", term: 9 })
      // A message that claims to come from someone else is dropped.
      a.transport.send({ type: "TimeoutNow", from: "c", to: "b", term: 10 })
      a.transport.send({ type: "TimeoutNow", from: "a", to: "b", term: 11 })
      await waitFor([b], () => b.received.length === 2)
      expect(b.received.map((x) => x.term)).toEqual([9, 11])
      expect(b.transport.stats().dropped).toBe(1)
    } finally {
      await a.transport.close()
      await b.transport.close()
    }
  })

  it("drops a message it cannot encode or that is too large, and sends the rest", async () => {
    const a = await start("a", 0, 64 * 1024)
    const b = await start("b", 0, 64 * 1024)
    link(a, b)
    try {
      a.transport.send({ type: "TimeoutNow", from: "a", to: "b", term: 1 })
      a.transport.send({ type: "TimeoutNow", from: "a", to: "b", term: -5 })
      a.transport.send({
        type: "InstallSnapshot",
        from: "a",
        to: "b",
        term: 2,
        lastIncludedIndex: 9,
        lastIncludedTerm: 2,
        config: {
          voters: ["a", "b"],
          outgoing: [],
          learners: [],
          learnersNext: [],
          autoLeave: false,
        },
        offset: 0,
        data: new Uint8Array(100 * 1024),
        done: true,
      })
      a.transport.send({ type: "TimeoutNow", from: "a", to: "b", term: 3 })
      await waitFor([a, b], () => b.received.length === 2)
      expect(b.received.map((m) => m.term)).toEqual([1, 3])
      expect(a.errors.map((e) => e.field)).toEqual(["term", "frame.length"])
      expect(a.transport.stats().dropped).toBe(2)
    } finally {
      await a.transport.close()
      await b.transport.close()
    }
  })

  it("rejects invalid options with the field", async () => {
    const e = await TcpTransport.listen({ id: "", port: 0 }, { onMessage: () => undefined }).catch(
      (x: unknown) => x,
    )
    expect(e).toBeInstanceOf(TcpTransportError)
    expect((e as TcpTransportError).message).toContain("id")
  })
})

describe("RaftTcpTransport service", () => {
  effectIt.live("streams incoming messages and closes with its Scope", () =>
    Effect.gen(function* () {
      const a = yield* Layer.build(RaftTcpTransport.layer({ id: "a", port: 0 }))
      const b = yield* Layer.build(RaftTcpTransport.layer({ id: "b", port: 0 }))
      const ta = Context.get(a, RaftTcpTransport)
      const tb = Context.get(b, RaftTcpTransport)
      yield* ta.setPeer("b", tb.address)
      for (let i = 1; i <= 5; i++)
        yield* ta.send({ type: "TimeoutNow", from: "a", to: "b", term: i })
      const got = yield* tb.incoming.pipe(Stream.take(5), Stream.runCollect)
      assert.deepStrictEqual(
        Array.from(got, (m) => m.term),
        [1, 2, 3, 4, 5],
      )
    }).pipe(Effect.scoped),
  )
})
