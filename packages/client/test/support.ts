// An API server on an in-memory store, in the test process, for the client's tests.
import type { Pod } from "@flotilla/api"
import { serve } from "@flotilla/apiserver"
import { KV } from "@flotilla/store"
import { Context, Effect, Layer, type Scope } from "effect"
import { type KubeClientShape, makeClient, type WatchEvent } from "../src/client.ts"

/** Starts a server in the current scope and returns a client for it. */
export const withServer: Effect.Effect<
  { readonly client: KubeClientShape; readonly url: string; readonly kv: KV["Service"] },
  never,
  Scope.Scope
> = Effect.gen(function* () {
  const context = yield* Layer.build(KV.layerMemory())
  const kv = Context.get(context, KV)
  const server = yield* Effect.orDie(serve(kv, {}))
  return {
    client: makeClient({ server: server.url, userAgent: "client-test/v0" }),
    url: server.url,
    kv,
  }
})

export const pod = (name: string, labels: Record<string, string> = {}): Pod =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels },
    spec: { containers: [{ name: "main", image: "nginx:1.27" }] },
  }) as unknown as Pod

/** The ERROR event a server sends when the watch's revision was compacted (410 Expired). */
export const goneEvent = <T>(message: string): WatchEvent<T> => ({
  type: "ERROR",
  status: { apiVersion: "v1", kind: "Status", metadata: {}, code: 410, reason: "Expired", message },
})
