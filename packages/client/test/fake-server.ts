// A scratch HTTP server on 127.0.0.1 whose answers a test scripts exactly
// (faults a real API server never makes on purpose).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { Effect, type Scope } from "effect"

export interface FakeServer {
  readonly url: string
  /** The request URLs, in order. */
  readonly requests: Array<string>
}

export const fakeServer = (
  handle: (req: IncomingMessage, res: ServerResponse, n: number) => void,
): Effect.Effect<FakeServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<FakeServer & { close: () => void }>((resume) => {
      const requests: Array<string> = []
      const server = createServer((req, res) => {
        requests.push(req.url ?? "")
        handle(req, res, requests.length - 1)
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number }
        resume(
          Effect.succeed({
            url: `http://127.0.0.1:${port}`,
            requests,
            close: () => {
              server.closeAllConnections()
              server.close()
            },
          }),
        )
      })
    }),
    (s) => Effect.sync(s.close),
  )

export const podJson = (name: string, rv: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", resourceVersion: rv, uid: `uid-${name}` },
  spec: { containers: [{ name: "main", image: "nginx:1.27" }] },
})
