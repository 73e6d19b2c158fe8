// Test tooling for @flotilla/raft and its users: a synchronous network of
// cores, a deterministic cluster simulation, the MIT tester's checks and the
// 28 MIT 6.5840 scenarios.
export { Chaos, type ChaosOptions, type ChaosResult } from "./chaos.ts"
export { EventHeap, type Timed } from "./heap.ts"
export {
  type Address,
  type LoadResult,
  type MemberArgs,
  type MemberProcess,
  spawnMember,
} from "./processes.ts"
export { type Scenario, type ScenarioResult, scenarios } from "./scenarios.ts"
export {
  type Client,
  messageBytes,
  SafetyViolation,
  Simulation,
  type SimulationOptions,
  type Sleep,
  sleep,
} from "./simulation.ts"
export {
  commandsOf,
  messagesOf,
  SyncNetwork,
  type SyncNetworkOptions,
  type SyncNode,
} from "./sync-network.ts"
export { ELECTION_TIMEOUT_MS, Tester, TesterError } from "./tester.ts"
