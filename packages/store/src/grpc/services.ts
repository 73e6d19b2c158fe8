// etcd's gRPC services as @grpc/proto-loader reads them from our .proto files:
// the server's response serializers, and clients (remote.ts, the forwarding
// of MemberPromote to the leader, tests).
import { fileURLToPath } from "node:url"
import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"

/** Where our .proto files live (next to src/ and dist/). */
export const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url))

/** proto-loader options the wire mapping expects. */
export const PROTO_OPTIONS: protoLoader.Options = {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
}

export interface ServiceClients {
  readonly KV: grpc.ServiceClientConstructor
  readonly Watch: grpc.ServiceClientConstructor
  readonly Lease: grpc.ServiceClientConstructor
  readonly Cluster: grpc.ServiceClientConstructor
  readonly Maintenance: grpc.ServiceClientConstructor
}

/** etcd's services loaded from our .proto files (for the server, and for clients). */
export const loadEtcdServices = (): ServiceClients => {
  const def = protoLoader.loadSync("etcdserverpb/rpc.proto", PROTO_OPTIONS)
  const root = grpc.loadPackageDefinition(def) as unknown as { etcdserverpb: ServiceClients }
  return root.etcdserverpb
}
