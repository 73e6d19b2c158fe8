// The typed error of the store's services: an etcd gRPC status (code and
// etcd's message), so that the gRPC layer sends it unchanged.
import { Schema } from "effect"
import type { EtcdFailure } from "./core/errors.ts"

export class EtcdError extends Schema.TaggedError<EtcdError>()("EtcdError", {
  /** gRPC status code (see GrpcCode). */
  code: Schema.Number,
  message: Schema.String,
}) {
  static fromFailure(f: EtcdFailure): EtcdError {
    return new EtcdError({ code: f.code, message: f.message })
  }
}
