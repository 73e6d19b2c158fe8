export {
  Dropped,
  NotLeader,
  RaftConfigError,
  type RequestError,
  Stopped,
  StorageFailure,
} from "./errors.ts"
export { type Applied, type Done, type Leadership, RaftNode, RaftNodeOptions } from "./node.ts"
export { MemoryStateMachine, StateMachine } from "./state-machine.ts"
export { LogStorage, type MemoryStore, makeMemoryStore } from "./storage.ts"
export { MemoryNetwork, type MemoryNetworkOptions, type Receiver, Transport } from "./transport.ts"
