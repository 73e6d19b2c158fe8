// fast-check arbitraries for the Raft core's messages (codec and transport tests).

import fc from "fast-check"
import type {
  ConfChange,
  Config,
  Entry,
  Message,
  Proposal,
  ProposalOutcome,
} from "../../src/core/types.ts"

export const nodeIdArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("n1", "n2", "n3", "node-42") },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
)

/** Non-negative integers, small and up to 2^53 - 1. */
export const natArb = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: 1000 }) },
  { weight: 1, arbitrary: fc.maxSafeNat() },
  { weight: 1, arbitrary: fc.constantFrom(0, 127, 128, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER) },
)
const intArb = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer({ min: -(2 ** 52), max: 2 ** 52 - 1 }),
  // The extremes of what zigzag encoding can carry.
  fc.constantFrom(-(2 ** 52), 2 ** 52 - 1, -1, -64, 64),
)
const bytesArb = fc.uint8Array({ maxLength: 48 })

export const configArb: fc.Arbitrary<Config> = fc.record({
  voters: fc.array(nodeIdArb, { maxLength: 5 }),
  outgoing: fc.array(nodeIdArb, { maxLength: 3 }),
  learners: fc.array(nodeIdArb, { maxLength: 3 }),
  learnersNext: fc.array(nodeIdArb, { maxLength: 2 }),
  autoLeave: fc.boolean(),
})

export const confChangeArb: fc.Arbitrary<ConfChange> = fc.record({
  changes: fc.array(
    fc.record({ type: fc.constantFrom("AddVoter", "AddLearner", "RemoveNode"), node: nodeIdArb }),
    { maxLength: 4 },
  ),
  transition: fc.constantFrom("Auto", "JointImplicit", "JointExplicit"),
})

const entryAt = (index: number): fc.Arbitrary<Entry> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        type: fc.constant("Normal" as const),
        index: fc.constant(index),
        term: natArb,
        data: bytesArb,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant("ConfChange" as const),
        index: fc.constant(index),
        term: natArb,
        change: confChangeArb,
      }),
    },
  )

export const entriesArb: fc.Arbitrary<Entry[]> = fc
  .tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.nat({ max: 6 }))
  .chain(([first, n]) => fc.tuple(...Array.from({ length: n }, (_, i) => entryAt(first + i))))

const proposalArb: fc.Arbitrary<Proposal> = fc.oneof(
  fc.record({ id: intArb, type: fc.constant("Normal" as const), data: bytesArb }),
  fc.record({ id: intArb, type: fc.constant("ConfChange" as const), change: confChangeArb }),
)

const outcomeArb: fc.Arbitrary<ProposalOutcome> = fc.oneof(
  fc.record({ id: intArb, accepted: fc.constant(true as const), index: natArb, term: natArb }),
  fc.record({
    id: intArb,
    accepted: fc.constant(false as const),
    reason: fc.constantFrom("NotLeader", "TransferInProgress", "ConfChangeRejected", "Overloaded"),
  }),
)

const envelope = { from: nodeIdArb, to: nodeIdArb, term: natArb }

export const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    type: fc.constant("RequestVote" as const),
    ...envelope,
    lastLogIndex: natArb,
    lastLogTerm: natArb,
    preVote: fc.boolean(),
    transfer: fc.boolean(),
  }),
  fc.record({
    type: fc.constant("RequestVoteResponse" as const),
    ...envelope,
    voteGranted: fc.boolean(),
    preVote: fc.boolean(),
  }),
  fc.record({
    type: fc.constant("AppendEntries" as const),
    ...envelope,
    prevLogIndex: natArb,
    prevLogTerm: natArb,
    entries: entriesArb,
    leaderCommit: natArb,
  }),
  fc.record({
    type: fc.constant("AppendEntriesResponse" as const),
    ...envelope,
    success: fc.boolean(),
    matchIndex: natArb,
    prevLogIndex: natArb,
    conflictIndex: natArb,
    conflictTerm: natArb,
  }),
  fc.record({
    type: fc.constant("Heartbeat" as const),
    ...envelope,
    leaderCommit: natArb,
    readContext: natArb,
  }),
  fc.record({ type: fc.constant("HeartbeatResponse" as const), ...envelope, readContext: natArb }),
  fc.record({
    type: fc.constant("InstallSnapshot" as const),
    ...envelope,
    lastIncludedIndex: natArb,
    lastIncludedTerm: natArb,
    config: configArb,
    offset: natArb,
    data: bytesArb,
    done: fc.boolean(),
  }),
  fc.record({
    type: fc.constant("InstallSnapshotResponse" as const),
    ...envelope,
    lastIncludedIndex: natArb,
    offset: natArb,
    success: fc.boolean(),
    done: fc.boolean(),
  }),
  fc.record({ type: fc.constant("TimeoutNow" as const), ...envelope }),
  fc.record({ type: fc.constant("ReadIndexRequest" as const), ...envelope, context: intArb }),
  fc.record({
    type: fc.constant("ReadIndexResponse" as const),
    ...envelope,
    context: intArb,
    index: intArb,
    leaderCommit: natArb,
  }),
  fc.record({
    type: fc.constant("ForwardProposals" as const),
    ...envelope,
    proposals: fc.array(proposalArb, { maxLength: 4 }),
  }),
  fc.record({
    type: fc.constant("ForwardProposalsResponse" as const),
    ...envelope,
    outcomes: fc.array(outcomeArb, { maxLength: 4 }),
    leaderHint: fc.option(nodeIdArb, { nil: null }),
  }),
)
