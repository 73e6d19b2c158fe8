// Requests only the leader can decide, asked of the leader over its client
// URL (etcd forwards MemberPromote to the leader over its peer URL: only the
// leader knows how far a learner got).
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import { GrpcCode } from "../core/errors.ts"
import type { Member } from "../core/types.ts"
import { EtcdError } from "../errors.ts"
import { loadEtcdServices, type ServiceClients } from "./services.ts"
import { uint64, type Wire, WireError } from "./wire.ts"

let services: ServiceClients | undefined

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const strings = (v: unknown): string[] => list(v).filter((s): s is string => typeof s === "string")

const decodeMember = (w: Wire, i: number): Member => ({
  ID: uint64(w, "ID", `members[${i}].ID`),
  name: typeof w.name === "string" ? w.name : "",
  peerURLs: strings(w.peerURLs),
  clientURLs: strings(w.clientURLs),
  isLearner: w.isLearner === true,
})

/**
 * MemberPromote of `id` on the member serving `clientURL` (the leader); its
 * answer, or its status unchanged. A malformed URL or answer is UNAVAILABLE.
 */
export const promoteOn = (
  clientURL: string,
  id: bigint,
  timeoutMs: number,
): Effect.Effect<ReadonlyArray<Member>, EtcdError> =>
  Effect.callback<ReadonlyArray<Member>, EtcdError>((resume) => {
    let target: string
    try {
      target = new URL(clientURL).host
    } catch {
      resume(
        Effect.fail(
          new EtcdError({
            code: GrpcCode.UNAVAILABLE,
            message: `etcdserver: the leader's client URL ${clientURL} is not a URL`,
          }),
        ),
      )
      return
    }
    services ??= loadEtcdServices()
    const client = new services.Cluster(target, grpc.credentials.createInsecure())
    const promote = (
      client as unknown as Record<
        string,
        (
          req: unknown,
          opts: grpc.CallOptions,
          cb: (err: grpc.ServiceError | null, res: Wire) => void,
        ) => grpc.ClientUnaryCall
      >
    ).MemberPromote!.bind(client)
    const call = promote(
      { ID: id.toString() },
      { deadline: new Date(Date.now() + timeoutMs) },
      (err, res) => {
        client.close()
        if (err !== null) {
          resume(Effect.fail(new EtcdError({ code: err.code, message: err.details })))
          return
        }
        try {
          resume(
            Effect.succeed(list(res.members).map((m, i) => decodeMember((m ?? {}) as Wire, i))),
          )
        } catch (e) {
          const message = e instanceof WireError ? e.failure.message : String(e)
          resume(Effect.fail(new EtcdError({ code: GrpcCode.UNAVAILABLE, message })))
        }
      },
    )
    return Effect.sync(() => {
      call.cancel()
      client.close()
    })
  })
