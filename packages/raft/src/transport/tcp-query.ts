// Queries over the peer port (see tcp-frames.ts): one question asked of a
// node before Raft runs, answered by the node's `TcpTransport.onQuery` handler.
import * as net from "node:net"
import type { NodeId } from "../core/types.ts"
import { decodeAnswer, encodeQuery, FrameDecoder } from "./tcp-frames.ts"

/** Answers a peer's query body, or undefined for no answer. Must not block. */
export type QueryHandler = (from: NodeId, body: Uint8Array) => Uint8Array | undefined

/**
 * Asks the node listening at `address` one question over its peer port,
 * before (or without) running a transport: opens a connection, sends a Query
 * frame from `from` to `to` and waits for the Answer frame. Resolves to the
 * answer's body, or undefined when there is none: refused, closed unanswered
 * (a node still starting, or one from before queries), a garbled reply, or no
 * reply within `timeoutMs`. Never rejects.
 */
export const queryPeer = (options: {
  readonly address: { readonly host: string; readonly port: number }
  readonly from: NodeId
  readonly to: NodeId
  readonly body: Uint8Array
  readonly timeoutMs: number
  /** Largest answer accepted (default 1 MiB). */
  readonly maxAnswerBytes?: number
}): Promise<Uint8Array | undefined> =>
  new Promise((resolve) => {
    const decoder = new FrameDecoder(options.maxAnswerBytes ?? 1024 * 1024)
    const socket = net.createConnection({
      host: options.address.host,
      port: options.address.port,
      noDelay: true,
    })
    let settled = false
    const settle = (answer: Uint8Array | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(() => settle(undefined), options.timeoutMs)
    socket.on("connect", () => socket.write(encodeQuery(options.from, options.to, options.body)))
    socket.on("data", (chunk: Buffer) => {
      try {
        const payloads = decoder.push(chunk)
        if (payloads.length > 0) settle(decodeAnswer(payloads[0]!))
      } catch {
        settle(undefined)
      }
    })
    socket.on("error", () => settle(undefined))
    socket.on("close", () => settle(undefined))
  })
