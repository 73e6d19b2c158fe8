// The shell of the "already bootstrapped?" check (see core/bootstrapped.ts):
// a member about to bootstrap a new cluster's log asks its initial peers over
// their Raft peer ports, and a running member answers from its membership.
import { type NodeId, queryPeer, type TcpTransport } from "@flotilla/raft"
import { Effect, type Scope } from "effect"
import {
  type BootstrapDecision,
  decideBootstrap,
  decodeBootstrapAnswer,
  decodeBootstrapQuery,
  encodeBootstrapAnswer,
  encodeBootstrapQuery,
  type PeerReply,
  refuses,
  standingOf,
} from "./core/bootstrapped.ts"
import { type Membership, raftNodeId } from "./core/members.ts"

/**
 * How long a member waits for its peers' answers. Unreachable peers (refused
 * connections) answer at once; this bounds only peers that swallow packets.
 * etcd waits about a second per peer URL; we ask all at once, with margin for
 * a loaded machine (a reachable peer answers in well under a millisecond).
 */
export const BOOTSTRAP_QUERY_TIMEOUT_MS = 2000

export interface InitialPeer {
  readonly name: string
  /** Its Raft node ID (the Query's addressee). */
  readonly node: NodeId
  readonly addresses: ReadonlyArray<{ readonly host: string; readonly port: number }>
}

/**
 * Asks every peer what it knows of member `memberId` and decides. Waits for
 * every peer (each peer's first answer over any of its addresses), at most
 * `timeoutMs`; stops at the first answer that refuses. Never fails: a peer
 * that cannot be asked counts as no answer.
 */
export const checkBootstrap = (options: {
  readonly self: NodeId
  readonly memberId: bigint
  readonly peers: ReadonlyArray<InitialPeer>
  readonly timeoutMs?: number
}): Effect.Effect<BootstrapDecision> =>
  Effect.promise(
    () =>
      new Promise<BootstrapDecision>((resolve) => {
        const body = encodeBootstrapQuery(options.memberId)
        const replies: PeerReply[] = []
        let pending = options.peers.length
        const done = () => resolve(decideBootstrap(replies))
        if (pending === 0) return done()
        for (const peer of options.peers) {
          const asked = peer.addresses.map((address) =>
            queryPeer({
              address,
              from: options.self,
              to: peer.node,
              body,
              timeoutMs: options.timeoutMs ?? BOOTSTRAP_QUERY_TIMEOUT_MS,
            }).then((a) => (a === undefined ? undefined : decodeBootstrapAnswer(a))),
          )
          void Promise.all(asked).then((answers) => {
            const answer = answers.find(refuses) ?? answers.find((a) => a !== undefined)
            replies.push({ peer: peer.name, answer })
            pending--
            if (pending === 0 || refuses(answer)) done()
          })
        }
      }),
  )

/**
 * Answers peers' bootstrap queries for the Scope's lifetime: from
 * `membership()`, and what the transport heard from the member asked about.
 */
export const answerBootstrapQueries = (
  transport: TcpTransport,
  membership: () => Membership,
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() =>
      transport.onQuery((_from, body) => {
        const id = decodeBootstrapQuery(body)
        if (id === undefined) return undefined
        const m = membership()
        return encodeBootstrapAnswer({
          standing: standingOf(m, id),
          clusterId: m.clusterId,
          heardTerm: transport.heardFrom(raftNodeId(id)),
        })
      }),
    ),
    () => Effect.sync(() => transport.onQuery(undefined)),
  )
