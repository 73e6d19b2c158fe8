// Starts an in-process store with the etcd gRPC API on a free port of
// 127.0.0.1, for client tests; `close` stops it.
import * as http2 from "node:http2"
import { Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll } from "vitest"
import { Applier, type LocalOptions } from "../../src/applier.ts"
import { Cluster } from "../../src/cluster.ts"
import { type EtcdServer, serve } from "../../src/grpc/server.ts"
import { KV } from "../../src/kv.ts"

export interface TestServer extends EtcdServer {
  /** `127.0.0.1:port`: an endpoint as etcdctl's default is written. */
  readonly endpoint: string
  readonly close: () => Promise<void>
  /** Open watch streams and watchers on the server. */
  readonly watchStats: () => Promise<{ readonly streams: number; readonly watchers: number }>
}

export const startServer = async (options: LocalOptions = {}): Promise<TestServer> => {
  const scope = await Effect.runPromise(Scope.make())
  const layer = Cluster.layer.pipe(Layer.provideMerge(KV.layerMemory({ name: "test", ...options })))
  const [server, applier] = await Effect.runPromise(
    Effect.all([serve(), Effect.service(Applier)]).pipe(
      Effect.provide(layer),
      Scope.provide(scope),
    ),
  )
  return {
    ...server,
    watchStats: () => Effect.runPromise(applier.watchStats),
    endpoint: `${server.host}:${server.port}`,
    close: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  }
}

/** Waits until `check` holds, polling; fails after `ms` (a deadline, not a sleep to synchronise). */
export const eventually = async (
  check: () => boolean,
  ms = 10_000,
  what = "condition",
): Promise<void> => {
  const deadline = performance.now() + ms
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * For a test file: an in-process server started before its tests and one
 * HTTP/2 client session to it (raw gRPC calls), both closed after them.
 */
export const useServerSession = (): {
  readonly server: () => TestServer
  readonly session: () => http2.ClientHttp2Session
} => {
  let server: TestServer | undefined
  let session: http2.ClientHttp2Session | undefined
  beforeAll(async () => {
    server = await startServer({ store: {} })
    session = http2.connect(`http://127.0.0.1:${server.port}`)
  })
  afterAll(async () => {
    session?.close()
    await server?.close()
  })
  return { server: () => server!, session: () => session! }
}
