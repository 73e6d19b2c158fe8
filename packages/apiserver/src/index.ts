// @flotilla/apiserver: the Kubernetes REST API server that the real kubectl
// talks to, over the store's KV service. Pure cores (request routing,
// discovery, OpenAPI, object semantics, patches, server-side apply, Tables,
// protobuf bodies) in core/; the object store over KV, the request handler and
// the HTTP shell beside them.

export * from "./cacher.ts"
export * from "./compactor.ts"
export * from "./core/allocation.ts"
export * from "./core/discovery.ts"
export * from "./core/keys.ts"
export * as managed from "./core/managed.ts"
export * from "./core/objects.ts"
export * from "./core/openapi.ts"
export * as patch from "./core/patch.ts"
export * from "./core/protobuf.ts"
export * from "./core/request.ts"
export * from "./core/resources.ts"
export * from "./core/status.ts"
export * from "./core/table.ts"
export * from "./handler.ts"
export * from "./namespaces.ts"
export * from "./server.ts"
export * from "./storage.ts"
