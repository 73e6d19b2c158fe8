/**
 * etcd's HTTP/1.1 endpoints on the client port, for probes and `curl`: it
 * serves them beside gRPC on the same port. `GET /health` answers
 * `{"health":"true"}` when a linearizable read succeeds (a leader and a quorum
 * answered), else 503 `{"health":"false"}`; `GET /version` answers the
 * versions. Another path is Go's 404 text, another method on these paths 405
 * (status lines, bodies and headers as etcd 3.4.23 answered `curl -i` here;
 * header order differs). One request per connection: the answer adds
 * `Connection: close`.
 */
import type * as net from "node:net"

export interface Http1Endpoints {
  /** Whether the member can serve a linearizable read now (bounded in time by the caller). */
  readonly health: () => Promise<boolean>
  readonly version: { readonly etcdserver: string; readonly etcdcluster: string }
  /** The Prometheus exposition of the member's metrics. */
  readonly metrics: () => Promise<string>
}

/** The most a request's head may take (Go's default MaxHeaderBytes is 1 MiB; probes send ~100 bytes). */
export const MAX_HEAD_BYTES = 16 * 1024

/** How long a connection may sit without a byte moving (probes finish in milliseconds). */
const IDLE_MS = 10_000

const CORS =
  "Access-Control-Allow-Headers: accept, content-type, authorization\r\n" +
  "Access-Control-Allow-Methods: POST, GET, OPTIONS, PUT, DELETE\r\n" +
  "Access-Control-Allow-Origin: *\r\n"

const answer = (
  status: string,
  contentType: string,
  body: string,
  extra = "",
  head = false,
): string =>
  `HTTP/1.1 ${status}\r\n${CORS}${extra}Content-Type: ${contentType}\r\nDate: ${new Date().toUTCString()}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? "" : body}`

const text = "text/plain; charset=utf-8"

/** What to answer to one request head. */
export type Http1Route =
  | { readonly _tag: "Health" }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Metrics" }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "MethodNotAllowed" }
  | { readonly _tag: "BadRequest" }

/** Routes a request head (the bytes up to the blank line). Pure. */
export const routeHttp1 = (head: string): Http1Route => {
  const eol = head.indexOf("\r\n")
  const line = eol < 0 ? head : head.slice(0, eol)
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.[01]$/.exec(line)
  if (m === null) return { _tag: "BadRequest" }
  const method = m[1]!
  const target = m[2]!
  const q = target.indexOf("?")
  const path = q < 0 ? target : target.slice(0, q)
  const known =
    path === "/health"
      ? "Health"
      : path === "/version"
        ? "Version"
        : path === "/metrics"
          ? "Metrics"
          : undefined
  if (known === undefined) return { _tag: "NotFound" }
  if (method !== "GET" && method !== "HEAD") return { _tag: "MethodNotAllowed" }
  return { _tag: known }
}

/**
 * Answers one HTTP/1.1 request on `socket`, whose first bytes (`already`) have
 * been read, then closes it.
 */
export const serveHttp1 = (socket: net.Socket, already: Buffer, endpoints: Http1Endpoints) => {
  let buffered: Buffer | undefined = already
  let done = false
  // A client that sends no whole head, or does not close after the answer, is cut off.
  socket.setTimeout(IDLE_MS, () => socket.destroy())
  const finish = (response: string) => {
    if (done) return
    done = true
    socket.end(response)
  }
  const onHead = (head: string) => {
    const isHead = head.startsWith("HEAD ")
    const route = routeHttp1(head)
    switch (route._tag) {
      case "BadRequest":
        return finish(
          "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request",
        )
      case "NotFound":
        return finish(
          answer(
            "404 Not Found",
            text,
            "404 page not found\n",
            "X-Content-Type-Options: nosniff\r\n",
            isHead,
          ),
        )
      case "MethodNotAllowed":
        return finish(
          answer("405 Method Not Allowed", text, "Method Not Allowed\n", "Allow: GET\r\n", isHead),
        )
      case "Version":
        return finish(
          answer("200 OK", "application/json", JSON.stringify(endpoints.version), "", isHead),
        )
      case "Metrics": {
        const failed = answer(
          "500 Internal Server Error",
          text,
          "metrics unavailable\n",
          "",
          isHead,
        )
        endpoints.metrics().then(
          (body) =>
            finish(answer("200 OK", "text/plain; version=0.0.4; charset=utf-8", body, "", isHead)),
          () => finish(failed),
        )
        return
      }
      case "Health": {
        const unhealthy = answer("503 Service Unavailable", text, '{"health":"false"}', "", isHead)
        endpoints.health().then(
          (ok) => finish(ok ? answer("200 OK", text, '{"health":"true"}', "", isHead) : unhealthy),
          () => finish(unhealthy),
        )
      }
    }
  }
  // Reads the head; what follows it (a body) is read and dropped, so that the
  // client's close is seen and no unread bytes turn the close into a reset.
  const onData = (chunk: Buffer) => {
    if (buffered === undefined) return
    buffered = Buffer.concat([buffered, chunk])
    const end = buffered.indexOf("\r\n\r\n")
    if (end >= 0 && end <= MAX_HEAD_BYTES) {
      const head = buffered.subarray(0, end).toString("latin1")
      buffered = undefined
      onHead(head)
    } else if (end > MAX_HEAD_BYTES || buffered.length > MAX_HEAD_BYTES + 4) {
      buffered = undefined
      finish(
        "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large",
      )
    }
  }
  socket.on("data", onData)
  socket.on("error", () => socket.destroy())
  onData(Buffer.alloc(0))
  socket.resume()
}
