// Whether a member with an empty data directory may start a fresh log (etcd's
// isMemberBootstrapped). It would write an initial log (term 0, no vote)
// under its ID: a new cluster's (`--initial-cluster-state new`) or an empty
// one to join with (`existing`). If it already ran in a cluster that is still
// up and then lost its data, that log is a lie: it could vote twice in a term and has forgotten
// entries it acknowledged, so a committed entry could be lost. So before it
// writes anything it asks its initial peers what they know of it, and refuses
// to start when one knows it as started (it published its attributes) or as
// removed, or has heard from it in some term.
//
// "Started" is etcd's criterion (the member's client URLs are in the peer's
// membership), not "the peer has a log with term > 0 that lists it": members
// of a new cluster start at different times, and the first ones elect a
// leader before the last starts, so the latter test would refuse a member
// that never ran. A member publishes right after it first hears from a
// leader; etcd misses one that lost its data before that (it may have voted
// already). So a peer also says the highest term it has heard the member
// speak in since the peer started (pre-votes aside: they change no state);
// the member asks before its Raft node runs, so that is never its own voice.
// When no peer answers (a whole new cluster starting, peers not up yet), the
// member bootstraps: that is what a new cluster needs, and what etcd does.
//
// Pure: the shell asks the peers (a Query over the Raft peer port) and feeds
// the answers in.

import type { Membership } from "./members.ts"
import { memberIdHex } from "./members.ts"

/** What a peer's membership says of a member. */
export type MemberStanding =
  /** Not a member (another cluster, or a peer that has not caught up). */
  | "unknown"
  /** A member that has not published its attributes: it never ran, as far as the peer knows. */
  | "unstarted"
  /** A member that ran: it published its name and client URLs. */
  | "started"
  /** Removed from the cluster: its ID may never come back. */
  | "removed"

const STANDINGS: ReadonlyArray<MemberStanding> = ["unknown", "unstarted", "started", "removed"]

/** A peer's answer to "what do you know of member `id`?". */
export interface BootstrapAnswer {
  readonly standing: MemberStanding
  /** The peer's cluster ID (0 while it does not know it). */
  readonly clusterId: bigint
  /** The highest term of a Raft message (not a pre-vote) the peer received from the member; 0 if none. */
  readonly heardTerm: number
}

/** What `membership` says of member `id`. */
export const standingOf = (membership: Membership, id: bigint): MemberStanding => {
  if (membership.isRemoved(id)) return "removed"
  const m = membership.member(id)
  if (m === undefined) return "unknown"
  return m.clientURLs.length > 0 ? "started" : "unstarted"
}

// Wire forms (bodies of the transport's Query and Answer frames):
//   query  = "BOOT" | version 1 (u8) | member ID (u64 BE)
//   answer = "BOOT" | version 1 (u8) | standing (u8) | cluster ID (u64 BE) | heard term (u64 BE)
// Anything else decodes to undefined: not this question, or a peer speaking
// another version (which then counts as no answer).
const TAG = [0x42, 0x4f, 0x4f, 0x54] // "BOOT"
const VERSION = 1

const header = (size: number): { bytes: Uint8Array; view: DataView } => {
  const bytes = new Uint8Array(size)
  bytes.set(TAG, 0)
  bytes[4] = VERSION
  return { bytes, view: new DataView(bytes.buffer) }
}

const hasHeader = (body: Uint8Array, size: number): boolean =>
  body.length === size && TAG.every((b, i) => body[i] === b) && body[4] === VERSION

export const encodeBootstrapQuery = (memberId: bigint): Uint8Array => {
  const { bytes, view } = header(13)
  view.setBigUint64(5, memberId)
  return bytes
}

/** The member ID asked about, or undefined when `body` is not this question. */
export const decodeBootstrapQuery = (body: Uint8Array): bigint | undefined =>
  hasHeader(body, 13) ? new DataView(body.buffer, body.byteOffset).getBigUint64(5) : undefined

export const encodeBootstrapAnswer = (answer: BootstrapAnswer): Uint8Array => {
  const { bytes, view } = header(22)
  bytes[5] = STANDINGS.indexOf(answer.standing)
  view.setBigUint64(6, answer.clusterId)
  view.setBigUint64(14, BigInt(answer.heardTerm))
  return bytes
}

/** The answer, or undefined when `body` is not one (counted as no answer). */
export const decodeBootstrapAnswer = (body: Uint8Array): BootstrapAnswer | undefined => {
  if (!hasHeader(body, 22)) return undefined
  const standing = STANDINGS[body[5]!]
  if (standing === undefined) return undefined
  const view = new DataView(body.buffer, body.byteOffset)
  const heardTerm = view.getBigUint64(14)
  if (heardTerm > BigInt(Number.MAX_SAFE_INTEGER)) return undefined
  return { standing, clusterId: view.getBigUint64(6), heardTerm: Number(heardTerm) }
}

/** One initial peer's reply: its answer, or undefined (unreachable, closed, timed out, garbled). */
export interface PeerReply {
  /** The peer's name in `--initial-cluster`. */
  readonly peer: string
  readonly answer: BootstrapAnswer | undefined
}

export type BootstrapDecision =
  /** No peer knows the member as having run: it writes its initial log. */
  | { readonly _tag: "Bootstrap"; readonly replies: ReadonlyArray<PeerReply> }
  | {
      readonly _tag: "Refuse"
      /** The first peer (in reply order) whose answer refuses. */
      readonly peer: string
      readonly answer: BootstrapAnswer
    }

/** An answer that settles the question by itself (the shell stops waiting on the others). */
export const refuses = (answer: BootstrapAnswer | undefined): answer is BootstrapAnswer =>
  answer !== undefined &&
  (answer.standing === "started" || answer.standing === "removed" || answer.heardTerm > 0)

/**
 * Decides from the replies: refuse when any peer knows the member as started
 * or removed, or heard from it; bootstrap otherwise (no answers at all included).
 */
export const decideBootstrap = (replies: ReadonlyArray<PeerReply>): BootstrapDecision => {
  for (const { peer, answer } of replies) {
    if (refuses(answer)) return { _tag: "Refuse", peer, answer }
  }
  return { _tag: "Bootstrap", replies }
}

/** The replies for a log line, by peer name: "n1 unstarted, n2 no answer" ("no peers" when empty). */
export const describeReplies = (replies: ReadonlyArray<PeerReply>): string =>
  replies.length === 0
    ? "no peers"
    : [...replies]
        .sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0))
        .map((r) => `${r.peer} ${r.answer?.standing ?? "no answer"}`)
        .join(", ")

/** The one-line error for a refusal: the member, why, and what to do instead (as etcd's). */
export const refusalMessage = (
  name: string,
  memberId: bigint,
  refusal: Extract<BootstrapDecision, { _tag: "Refuse" }>,
): string => {
  const id = memberIdHex(memberId)
  const { peer, answer } = refusal
  const cluster = memberIdHex(answer.clusterId)
  const readd = "add it back under a new peer URL (etcdctl member add) and start that with"
  if (answer.standing === "removed")
    return `member ${id} (${name}) was removed from cluster ${cluster} (${peer} says so) and cannot bootstrap again under its ID; ${readd} --initial-cluster-state existing`
  const known =
    answer.standing === "started"
      ? `${peer} knows it as a started member of cluster ${cluster}`
      : `${peer} heard from it in term ${answer.heardTerm}`
  return `member ${id} (${name}) has already been bootstrapped: ${known}, and its data directory is empty (it would rejoin having forgotten its log); remove it (etcdctl member remove ${id}), ${readd} an empty data directory and --initial-cluster-state existing`
}
