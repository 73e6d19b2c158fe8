// The shell of the "already bootstrapped?" check on 127.0.0.1: a member's
// transport answering from its membership and from what it heard, and the
// asking side (no answer, several peers, the first refusal).
import * as net from "node:net"
import { TcpTransport } from "@flotilla/raft"
import { Effect, Exit, Scope } from "effect"
import { describe, expect, it } from "vitest"
import { answerBootstrapQueries, checkBootstrap } from "../src/bootstrapped.ts"
import { Membership, memberIdFor, raftNodeId } from "../src/core/members.ts"

const token = "tok"
const initial = ["n1", "n2", "n3"].map((name, i) => ({
  name,
  peerURLs: [`http://127.0.0.1:${2380 + i}`],
}))
const [id1, id2, id3] = initial.map((m) => memberIdFor(m.peerURLs, token)) as [
  bigint,
  bigint,
  bigint,
]
const [node1, node2, node3] = [id1, id2, id3].map(raftNodeId) as [string, string, string]

/** A running peer: a transport answering from `membership` until the returned close. */
const peer = async (node: string, membership: Membership) => {
  const transport = await TcpTransport.listen({ id: node, port: 0 }, { onMessage: () => undefined })
  const scope = await Effect.runPromise(Scope.make())
  await Effect.runPromise(Scope.provide(scope)(answerBootstrapQueries(transport, () => membership)))
  const close = async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await transport.close()
  }
  return { transport, close }
}

const closedPort = async (): Promise<number> => {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise((resolve) => s.close(resolve))
  return port
}

describe("checkBootstrap against peers' transports", () => {
  it("bootstraps with nobody up, refuses on a peer that knows it as started or heard from it", async () => {
    const ask = (peers: ReadonlyArray<{ name: string; node: string; port: number }>) =>
      Effect.runPromise(
        checkBootstrap({
          self: node3,
          memberId: id3,
          peers: peers.map((p) => ({
            name: p.name,
            node: p.node,
            addresses: [{ host: "127.0.0.1", port: p.port }],
          })),
          timeoutMs: 10_000,
        }),
      )
    const down = await closedPort()
    expect(
      await ask([
        { name: "n1", node: node1, port: down },
        { name: "n2", node: node2, port: down },
      ]),
    ).toEqual({
      _tag: "Bootstrap",
      replies: [
        { peer: "n1", answer: undefined },
        { peer: "n2", answer: undefined },
      ],
    })

    const membership = Membership.initial(initial, token)
    const p1 = await peer(node1, membership)
    try {
      const at1 = { name: "n1", node: node1, port: p1.transport.address().port }
      // A fresh cluster: n1 lists n3, which never ran.
      const fresh = await ask([at1, { name: "n2", node: node2, port: down }])
      expect(fresh._tag).toBe("Bootstrap")
      expect(
        fresh._tag === "Bootstrap" && fresh.replies.find((r) => r.peer === "n1")?.answer,
      ).toEqual({
        standing: "unstarted",
        clusterId: membership.clusterId,
        heardTerm: 0,
      })
      // n3 spoke to n1 in term 2 before it published: refused (etcd would let it in).
      const n3 = await TcpTransport.listen({ id: node3, port: 0 }, { onMessage: () => undefined })
      try {
        n3.setPeer(node1, p1.transport.address())
        n3.send({
          type: "Heartbeat",
          from: node3,
          to: node1,
          term: 2,
          leaderCommit: 0,
          readContext: 0,
        })
        await Effect.runPromise(
          Effect.callback<void>((resume) => {
            const poll = setInterval(() => {
              if (p1.transport.heardFrom(node3) > 0) {
                clearInterval(poll)
                resume(Effect.void)
              }
            }, 5)
          }).pipe(Effect.timeout("10 seconds")),
        )
      } finally {
        await n3.close()
      }
      expect(await ask([at1])).toEqual({
        _tag: "Refuse",
        peer: "n1",
        answer: { standing: "unstarted", clusterId: membership.clusterId, heardTerm: 2 },
      })
      // Published: refused as started.
      membership.apply({
        type: "attributes",
        ID: id3,
        name: "n3",
        clientURLs: ["http://127.0.0.1:2379"],
      })
      const started = await ask([at1])
      expect(started._tag === "Refuse" && started.answer.standing).toBe("started")
    } finally {
      await p1.close()
    }
  })
})
