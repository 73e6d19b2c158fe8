// Configurations: quorums (simple and joint), vote tallies, commit indexes and
// membership changes. Pure functions of immutable `Config` values.
import type { ConfChange, Config, NodeId } from "./types.ts"

const EMPTY: ReadonlyArray<NodeId> = []

export const sortedUnique = (ids: Iterable<NodeId>): NodeId[] =>
  [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

/** A configuration of voters only. */
export const makeConfig = (
  voters: ReadonlyArray<NodeId>,
  learners: ReadonlyArray<NodeId> = EMPTY,
): Config => ({
  voters: sortedUnique(voters),
  outgoing: EMPTY,
  learners: sortedUnique(learners),
  learnersNext: EMPTY,
  autoLeave: false,
})

export const emptyConfig: Config = makeConfig([])

export const isJoint = (c: Config): boolean => c.outgoing.length > 0

/** Votes in either half of the configuration. */
export const isVoter = (c: Config, id: NodeId): boolean =>
  c.voters.includes(id) || c.outgoing.includes(id)

/** Every node that receives the log: voters of both halves and learners. */
export const members = (c: Config): NodeId[] =>
  sortedUnique([...c.voters, ...c.outgoing, ...c.learners, ...c.learnersNext])

/** Voters of both halves, deduplicated and sorted. */
export const allVoters = (c: Config): NodeId[] =>
  c.outgoing.length === 0 ? [...c.voters] : sortedUnique([...c.voters, ...c.outgoing])

export type VoteResult = "Won" | "Lost" | "Pending"

const majorityVote = (
  voters: ReadonlyArray<NodeId>,
  granted: ReadonlyArray<NodeId>,
  rejected: ReadonlyArray<NodeId>,
): VoteResult => {
  // An empty half agrees to everything, so a joint decision rests on the other half.
  if (voters.length === 0) return "Won"
  const quorum = (voters.length >> 1) + 1
  let yes = 0
  let no = 0
  for (const v of voters) {
    if (granted.includes(v)) yes++
    else if (rejected.includes(v)) no++
  }
  if (yes >= quorum) return "Won"
  if (voters.length - no < quorum) return "Lost"
  return "Pending"
}

/** The outcome of a vote (or of any acknowledgement round) under `c`. */
export const voteResult = (
  c: Config,
  granted: ReadonlyArray<NodeId>,
  rejected: ReadonlyArray<NodeId>,
): VoteResult => {
  const a = majorityVote(c.voters, granted, rejected)
  if (c.outgoing.length === 0) return a
  const b = majorityVote(c.outgoing, granted, rejected)
  if (a === "Lost" || b === "Lost") return "Lost"
  if (a === "Won" && b === "Won") return "Won"
  return "Pending"
}

const majorityCommitted = (voters: ReadonlyArray<NodeId>, matchOf: (id: NodeId) => number) => {
  const n = voters.length
  if (n === 0) return Number.POSITIVE_INFINITY
  const matches = new Array<number>(n)
  for (let i = 0; i < n; i++) matches[i] = matchOf(voters[i]!)
  matches.sort((a, b) => b - a)
  // The quorum-th highest match is stored on a majority.
  return matches[n >> 1]!
}

/** The highest index stored on a quorum of `c` (both halves when joint). */
export const committedIndex = (c: Config, matchOf: (id: NodeId) => number): number => {
  const a = majorityCommitted(c.voters, matchOf)
  const b = c.outgoing.length === 0 ? a : majorityCommitted(c.outgoing, matchOf)
  const m = Math.min(a, b)
  return m === Number.POSITIVE_INFINITY ? 0 : m
}

/**
 * Applies a membership change, or returns why it is invalid.
 * - An empty `changes` list leaves a joint configuration.
 * - With the `Auto` transition, changes that alter at most one voter apply
 *   directly: one server at a time keeps any two majorities
 *   of the old and new configurations overlapping.
 * - Anything else enters a joint configuration: the old voters become
 *   `outgoing` and decisions need majorities of both until the change that
 *   leaves it is applied.
 */
export const applyConfChange = (c: Config, change: ConfChange): Config | string => {
  if (change.changes.length === 0) {
    if (!isJoint(c)) return "not in a joint configuration, nothing to leave"
    return {
      voters: c.voters,
      outgoing: EMPTY,
      learners: sortedUnique([...c.learners, ...c.learnersNext]),
      learnersNext: EMPTY,
      autoLeave: false,
    }
  }
  if (isJoint(c)) return "already in a joint configuration; leave it first"
  const voters = new Set(c.voters)
  const learners = new Set(c.learners)
  for (const item of change.changes) {
    if (typeof item.node !== "string" || item.node.length === 0)
      return "changes[].node: must be a non-empty node id"
    switch (item.type) {
      case "AddVoter":
        learners.delete(item.node)
        voters.add(item.node)
        break
      case "AddLearner":
        voters.delete(item.node)
        learners.add(item.node)
        break
      case "RemoveNode":
        voters.delete(item.node)
        learners.delete(item.node)
        break
      default:
        return `changes[].type: unknown change ${String((item as { type: unknown }).type)}`
    }
  }
  if (voters.size === 0) return "the change removes every voter"
  let changedVoters = 0
  for (const v of voters) if (!c.voters.includes(v)) changedVoters++
  for (const v of c.voters) if (!voters.has(v)) changedVoters++
  if (changedVoters <= 1 && change.transition === "Auto") {
    return {
      voters: sortedUnique(voters),
      outgoing: EMPTY,
      learners: sortedUnique(learners),
      learnersNext: EMPTY,
      autoLeave: false,
    }
  }
  // Joint: a voter being demoted stays a voter of `outgoing` until the
  // transition ends, so it waits in learnersNext.
  const newLearners: NodeId[] = []
  const learnersNext: NodeId[] = []
  for (const l of learners) (c.voters.includes(l) ? learnersNext : newLearners).push(l)
  return {
    voters: sortedUnique(voters),
    outgoing: c.voters,
    learners: sortedUnique(newLearners),
    learnersNext: sortedUnique(learnersNext),
    autoLeave: change.transition !== "JointExplicit",
  }
}

export const configEquals = (a: Config, b: Config): boolean =>
  a.autoLeave === b.autoLeave &&
  arrayEquals(a.voters, b.voters) &&
  arrayEquals(a.outgoing, b.outgoing) &&
  arrayEquals(a.learners, b.learners) &&
  arrayEquals(a.learnersNext, b.learnersNext)

const arrayEquals = (a: ReadonlyArray<NodeId>, b: ReadonlyArray<NodeId>): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
