// @flotilla/store: an etcd-compatible MVCC store. The pure state machine and
// watch hub (core), the KV and Cluster services over an Applier (in-process
// now, Raft later), and the etcd v3 gRPC server.
export * from "./applier.ts"
export * from "./auto-compaction.ts"
export * from "./bootstrapped.ts"
export * from "./cluster.ts"
export * from "./core/index.ts"
export * from "./embedded.ts"
export * from "./errors.ts"
export * from "./grpc/server.ts"
export * from "./identity.ts"
export * from "./kv.ts"
export * from "./member.ts"
export * from "./raft-applier.ts"
export type { RemoteOptions } from "./remote.ts"
export * from "./replica.ts"
export * from "./restore.ts"
export * from "./run-member.ts"
