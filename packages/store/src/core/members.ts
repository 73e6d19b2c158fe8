// The cluster's membership as the replicated state machine knows it (etcd's
// membership.RaftCluster): member IDs, names, peer and client URLs, learners,
// and the IDs of removed members. Changed only by log entries, so every member
// agrees on it; the Raft configuration follows it (the leader proposes the
// configuration changes that make Raft's voters and learners match it).
//
// IDs are deterministic: a member's ID is a hash of its peer URLs and the
// cluster token, so a member started with `--initial-cluster-state existing`
// knows its own ID (and so its Raft node ID) before it has heard from anyone.
// Pure: no clock, no I/O.

import {
  ErrBadLeaderTransferee,
  ErrLearnerNotReady,
  ErrMemberBadURLs,
  ErrMemberExist,
  ErrMemberNotFound,
  ErrMemberNotLearner,
  ErrNotEnoughStartedMembers,
  ErrPeerURLExist,
  ErrRemovedPeerURLs,
  ErrTooManyLearners,
  ErrUnhealthy,
  type EtcdFailure,
} from "./errors.ts"
import { fnv64 } from "./hash.ts"
import type { Member } from "./types.ts"

/** A change to the membership, as a log entry carries it. */
export type MemberOp =
  /** A new member (unstarted: no name, no client URLs until it publishes them). */
  | {
      readonly type: "add"
      readonly ID: bigint
      readonly peerURLs: ReadonlyArray<string>
      readonly isLearner: boolean
    }
  | { readonly type: "remove"; readonly ID: bigint }
  /** A started member publishes its name and client URLs (etcd's "publish"). */
  | {
      readonly type: "attributes"
      readonly ID: bigint
      readonly name: string
      readonly clientURLs: ReadonlyArray<string>
    }
  | { readonly type: "promote"; readonly ID: bigint }
  /** New peer URLs for a member (etcd's MemberUpdate); its ID stays. */
  | { readonly type: "update"; readonly ID: bigint; readonly peerURLs: ReadonlyArray<string> }

/** The membership part of a snapshot. */
export interface MembershipState {
  readonly clusterId: bigint
  /** Members in ID order. */
  readonly members: ReadonlyArray<Member>
  /** Removed member IDs, ascending: they may never come back. */
  readonly removed: ReadonlyArray<bigint>
}

/** Learners a cluster may have at once (etcd 3.4/3.5's maxLearners). */
export const MAX_LEARNERS = 1

/** An etcd member ID in the form etcdctl prints it (hex, no leading zeros). */
export const memberIdHex = (id: bigint): string => id.toString(16)

/** The Raft node ID of a member: its ID as 16 hex digits. */
export const raftNodeId = (id: bigint): string => id.toString(16).padStart(16, "0")

/** The member ID of a Raft node ID (inverse of `raftNodeId`); undefined if malformed. */
export const memberIdOfNode = (node: string): bigint | undefined =>
  /^[0-9a-f]{16}$/.test(node) ? BigInt(`0x${node}`) : undefined

/** A member's ID: from its (sorted) peer URLs and the cluster token; never 0. */
export const memberIdFor = (peerURLs: ReadonlyArray<string>, token: string): bigint => {
  const id = fnv64(`member|${[...peerURLs].sort().join(",")}|${token}`)
  return id === 0n ? 1n : id
}

/** The cluster ID: from the initial members' IDs and the cluster token. */
export const clusterIdFor = (memberIds: ReadonlyArray<bigint>, token: string): bigint => {
  const ids = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const id = fnv64(`cluster|${ids.map(memberIdHex).join(",")}|${token}`)
  return id === 0n ? 1n : id
}

/** Whether a member's published attributes are these (etcd's "publish" has happened). */
export const hasAttributes = (
  member: Member | undefined,
  name: string,
  clientURLs: ReadonlyArray<string>,
): boolean =>
  member !== undefined &&
  member.name === name &&
  member.clientURLs.length === clientURLs.length &&
  member.clientURLs.every((u, i) => u === clientURLs[i])

/** A peer or client URL as etcd accepts it: http(s)://host:port. */
export const validMemberURL = (u: string): boolean => {
  try {
    const url = new URL(u)
    return (
      (url.protocol === "http:" || url.protocol === "https:") &&
      url.port !== "" &&
      url.pathname === "/" &&
      url.search === "" &&
      url.hash === ""
    )
  } catch {
    return false
  }
}

const byId = (a: Member, b: Member): number => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0)

export class Membership {
  private cluster: bigint
  private readonly byID = new Map<bigint, Member>()
  private readonly removedIDs = new Set<bigint>()
  /** Bumped on every change (lets shells notice changes cheaply). */
  version = 0

  constructor(state: MembershipState = { clusterId: 0n, members: [], removed: [] }) {
    this.cluster = state.clusterId
    for (const m of state.members) this.byID.set(m.ID, m)
    for (const id of state.removed) this.removedIDs.add(id)
  }

  /** The membership of a brand-new cluster from its initial members (name and peer URLs). */
  static initial(
    members: ReadonlyArray<{ readonly name: string; readonly peerURLs: ReadonlyArray<string> }>,
    token: string,
  ): Membership {
    const ms: Member[] = members.map((m) => ({
      ID: memberIdFor(m.peerURLs, token),
      name: m.name,
      peerURLs: [...m.peerURLs],
      clientURLs: [],
      isLearner: false,
    }))
    return new Membership({
      clusterId: clusterIdFor(
        ms.map((m) => m.ID),
        token,
      ),
      members: ms,
      removed: [],
    })
  }

  /** 0 until known (a joining member learns it from the leader's snapshot). */
  get clusterId(): bigint {
    return this.cluster
  }

  /** Members in ID order. */
  get members(): Member[] {
    return [...this.byID.values()].sort(byId)
  }

  member(id: bigint): Member | undefined {
    return this.byID.get(id)
  }

  isRemoved(id: bigint): boolean {
    return this.removedIDs.has(id)
  }

  state(): MembershipState {
    return {
      clusterId: this.cluster,
      members: this.members,
      removed: [...this.removedIDs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    }
  }

  /**
   * Checks an op against the current membership without applying it: what the
   * proposer does first, so that a refused request never enters the log.
   */
  check(op: MemberOp): EtcdFailure | undefined {
    switch (op.type) {
      case "add": {
        if (op.peerURLs.length === 0 || !op.peerURLs.every(validMemberURL)) return ErrMemberBadURLs
        if (this.removedIDs.has(op.ID)) return ErrRemovedPeerURLs
        // URLs before IDs: an ID derives from the URLs, so the same URLs give
        // the same ID, and the URLs are what the client should change (etcd's
        // answer, whose IDs are random).
        for (const m of this.byID.values()) {
          if (m.peerURLs.some((u) => op.peerURLs.includes(u))) return ErrPeerURLExist
        }
        if (this.byID.has(op.ID)) return ErrMemberExist
        if (op.isLearner) {
          let learners = 0
          for (const m of this.byID.values()) if (m.isLearner) learners++
          if (learners + 1 > MAX_LEARNERS) return ErrTooManyLearners
        }
        return undefined
      }
      case "remove":
        return this.byID.has(op.ID) ? undefined : ErrMemberNotFound
      case "attributes":
        return this.byID.has(op.ID) ? undefined : ErrMemberNotFound
      case "promote": {
        const m = this.byID.get(op.ID)
        if (m === undefined) return ErrMemberNotFound
        return m.isLearner ? undefined : ErrMemberNotLearner
      }
      case "update": {
        if (op.peerURLs.length === 0 || !op.peerURLs.every(validMemberURL)) return ErrMemberBadURLs
        // etcd: a removed ID (ErrIDRemoved) and an unknown one both answer "member not found".
        if (!this.byID.has(op.ID)) return ErrMemberNotFound
        for (const m of this.byID.values()) {
          if (m.ID !== op.ID && m.peerURLs.some((u) => op.peerURLs.includes(u)))
            return ErrPeerURLExist
        }
        return undefined
      }
    }
  }

  /** Applies an op from the log; deterministic. A refused op changes nothing. */
  apply(op: MemberOp): EtcdFailure | undefined {
    const refused = this.check(op)
    if (refused !== undefined) return refused
    switch (op.type) {
      case "add":
        this.byID.set(op.ID, {
          ID: op.ID,
          name: "",
          peerURLs: [...op.peerURLs],
          clientURLs: [],
          isLearner: op.isLearner,
        })
        break
      case "remove":
        this.byID.delete(op.ID)
        this.removedIDs.add(op.ID)
        break
      case "attributes": {
        const m = this.byID.get(op.ID)!
        this.byID.set(op.ID, { ...m, name: op.name, clientURLs: [...op.clientURLs] })
        break
      }
      case "promote": {
        const m = this.byID.get(op.ID)!
        this.byID.set(op.ID, { ...m, isLearner: false })
        break
      }
      case "update": {
        const m = this.byID.get(op.ID)!
        this.byID.set(op.ID, { ...m, peerURLs: [...op.peerURLs] })
        break
      }
    }
    this.version++
    return undefined
  }
}

/**
 * etcd's readyPercent: a learner is in sync with the leader once its match
 * index is at least this fraction of the leader's own.
 */
export const LEARNER_READY_FRACTION = 0.9

/** The leader's view of replication that promotion depends on (from its Raft progress). */
export interface PromoteReplication {
  /** The leader's own match index. */
  readonly leaderMatch: number
  /** The learner's match index; undefined while Raft does not replicate to it yet. */
  readonly learnerMatch: number | undefined
}

/**
 * Whether the leader may promote learner `id` (etcd's MemberPromote checks):
 * the member exists and is a learner, its log is within 90 % of the leader's
 * (isLearnerReady), and the voters after promotion would have a quorum of
 * started members (strict reconfig check: the learner counts as started).
 * Membership comes first, so a voter or an unknown ID is named as such rather
 * than "not in sync".
 */
export const checkPromote = (
  membership: Membership,
  id: bigint,
  replication: PromoteReplication,
): EtcdFailure | undefined => {
  const refused = membership.check({ type: "promote", ID: id })
  if (refused !== undefined) return refused
  const { leaderMatch, learnerMatch } = replication
  if (learnerMatch === undefined || learnerMatch < leaderMatch * LEARNER_READY_FRACTION)
    return ErrLearnerNotReady
  let voters = 1
  let started = 1
  for (const m of membership.members) {
    if (m.isLearner) continue
    voters++
    if (m.name !== "") started++
  }
  return started < Math.floor(voters / 2) + 1 ? ErrNotEnoughStartedMembers : undefined
}

/** A member change as the strict reconfig checks see it. */
export type ReconfigOp =
  | { readonly type: "add"; readonly isLearner: boolean }
  | { readonly type: "remove"; readonly ID: bigint }

/**
 * etcd 3.4's --strict-reconfig-check (on by default) for MemberAdd and
 * MemberRemove: a change of voters must leave a quorum of *started* voters
 * (a member is started once it published its name). Adding a voter counts it
 * as a voter that has not started (IsReadyToAddVotingMember; a second member
 * for a one-member cluster is let through, etcd's restore case); removing one
 * counts the voters without it (IsReadyToRemoveVotingMember). Learners are
 * not checked: they do not vote. Checked before the membership rules, as etcd
 * does, so an unhealthy cluster says so whatever the request.
 */
export const checkStartedQuorum = (
  membership: Membership,
  op: ReconfigOp,
): EtcdFailure | undefined => {
  if (op.type === "add" && op.isLearner) return undefined
  if (op.type === "remove" && membership.member(op.ID)?.isLearner === true) return undefined
  let voters = op.type === "add" ? 1 : 0
  let started = 0
  for (const m of membership.members) {
    if (m.isLearner || (op.type === "remove" && m.ID === op.ID)) continue
    voters++
    if (m.name !== "") started++
  }
  if (op.type === "add" && started === 1 && voters === 2) return undefined
  return started < Math.floor(voters / 2) + 1 ? ErrNotEnoughStartedMembers : undefined
}

/** How long a peer connection must have lasted to count (etcd's HealthInterval). */
export const HEALTH_INTERVAL_MS = 5_000

/**
 * The connectivity half of etcd 3.4's strict reconfig check, asked of the
 * member that serves the request, after `checkStartedQuorum`:
 * - an add (voter or learner) needs this member connected to every other
 *   voter for at least `HEALTH_INTERVAL_MS` (isConnectedFullySince);
 * - removing a voter is let through when it is another member this one is
 *   not connected to (a member that is down is not in the active quorum);
 *   otherwise the voters connected that long, this member included, less
 *   the one removed, must still be a quorum of the voters
 *   (numConnectedSince).
 * `connectedSince(id)`: when this member's current connection to `id` was
 * established (ms, the same clock as `now`), undefined while not connected.
 * Refusals are etcd's "etcdserver: unhealthy cluster" (UNAVAILABLE).
 */
export const checkConnected = (
  membership: Membership,
  op: ReconfigOp,
  self: bigint,
  connectedSince: (id: bigint) => number | undefined,
  now: number,
): EtcdFailure | undefined => {
  const since = now - HEALTH_INTERVAL_MS
  const longEnough = (id: bigint): boolean => {
    const t = connectedSince(id)
    return t !== undefined && t <= since
  }
  if (op.type === "add") {
    for (const m of membership.members)
      if (!m.isLearner && m.ID !== self && !longEnough(m.ID)) return ErrUnhealthy
    return undefined
  }
  const target = membership.member(op.ID)
  if (target === undefined || target.isLearner) return undefined
  if (op.ID !== self && connectedSince(op.ID) === undefined) return undefined
  let voters = 0
  let active = 0
  for (const m of membership.members) {
    if (m.isLearner) continue
    voters++
    if (m.ID === self || longEnough(m.ID)) active++
  }
  return active - 1 < 1 + Math.floor((voters - 1) / 2) ? ErrUnhealthy : undefined
}

/** Whether leadership may move to `target` (etcd's MoveLeader): a voting member. */
export const checkMoveLeader = (
  membership: Membership,
  target: bigint,
): EtcdFailure | undefined => {
  const m = membership.member(target)
  return m === undefined || m.isLearner ? ErrBadLeaderTransferee : undefined
}
