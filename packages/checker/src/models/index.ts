/**
 * Models of Flotilla's systems for the checker, and the registry the
 * `flotilla check` command uses.
 */
export {
  type ClientOp,
  type NaiveMessage,
  type NaiveOptions,
  type NaiveState,
  type NaiveSystemState,
  naiveReplication,
  type Scenario,
} from "./naive-replication.ts"
export {
  choiceOption,
  integerOption,
  type ModelOption,
  ModelOptionError,
  resolveOptions,
} from "./options.ts"
export {
  type ClientOp as RaftClientOp,
  type ClientResult as RaftClientResult,
  type ClientState as RaftClientState,
  defaultRaftOptions,
  type Ghost as RaftGhost,
  hashRaft,
  type MutationOption as RaftMutation,
  nodeId,
  type RaftModelMessage,
  type RaftModelOptions,
  type RaftModelState,
  type RaftSystemState,
  raftModel,
  raftRegisterSpec,
  type ServerState as RaftServerState,
} from "./raft.ts"
export {
  type BuiltModel,
  buildModel,
  buildModelForWorker,
  type ModelDefinition,
  models,
  UnknownModelError,
} from "./registry.ts"
export {
  type RmState,
  type TmState,
  type TwoPhaseAction,
  type TwoPhaseOptions,
  type TwoPhaseState,
  twoPhaseCommit,
  type Variant,
} from "./two-phase-commit.ts"
