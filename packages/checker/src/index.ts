/**
 * @flotilla/checker: a model checker for state machines and actor systems,
 * and a linearizability checker for concurrent histories.
 *
 * The engine here imports no domain package; models of Flotilla's systems
 * live in `@flotilla/checker/models`.
 */

export {
  type CheckContext,
  type CheckOptions,
  type CheckResult,
  check,
  formatSummary,
  type PropertyResult,
  type Strategy,
} from "./check.ts"
export {
  type Actor,
  type ActorSystemConfig,
  actorSystem,
  type Command,
  cancelTimer,
  type Envelope,
  type HistoryEvent,
  type Id,
  invoke,
  type NetworkSemantics,
  persist,
  respond,
  type Step,
  type SystemAction,
  type SystemState,
  send,
  setTimer,
} from "./core/actor.ts"
export { bfs } from "./core/bfs.ts"
export { dfs } from "./core/dfs.ts"
export { checkEventually, type EventuallyOutcome } from "./core/eventually.ts"
export type {
  ExploreOptions,
  ExploreOutcome,
  ExploreStats,
  Path,
  Progress,
  PropertyOutcome,
  PropertyStatus,
  StopReason,
} from "./core/explore.ts"
export { FingerprintTable } from "./core/fingerprint-table.ts"
export {
  canonicalEncoding,
  type Fingerprint,
  fingerprintHex,
  fingerprintHexOf,
  fingerprintOf,
  Hasher,
} from "./core/hash.ts"
export { linearizable, operationsOf } from "./core/history.ts"
export {
  checkLinearizability,
  describeCounterexample,
  type KvInput,
  type KvOutput,
  kvSpec,
  type LinearizabilityOptions,
  type LinearizabilityResult,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  registerSpec,
  type SequentialSpec,
} from "./core/linearizability.ts"
export {
  type AnyModel,
  always,
  eventually,
  type Model,
  type Property,
  type PropertyKind,
  sometimes,
} from "./core/model.ts"
export { Random } from "./core/random.ts"
export { type Schedule, type SimulateOptions, simulate } from "./core/simulate.ts"
export {
  formatTrace,
  type ReplayResult,
  replayTrace,
  statesAlong,
  type Trace,
  type TraceStep,
  traceOf,
} from "./core/trace.ts"
export { type ParallelOptions, parallelBfs } from "./parallel/parallel-bfs.ts"
export type { ModelSource } from "./parallel/protocol.ts"
export { parseTrace, stringifyTrace, TraceFile, TraceFileError } from "./trace-file.ts"
