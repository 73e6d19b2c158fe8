/**
 * coordination.k8s.io/v1 Lease: node heartbeats (`kube-node-lease`) and leader
 * election. Times are MicroTime (RFC 3339 with microseconds).
 */
import { Schema } from "effect"
import { makeList, RequiredObjectMeta } from "../meta/v1.ts"
import { Int32, MicroTime, TypeField, withZero } from "../wire.ts"

const opt = Schema.optionalKey

export const LeaseSpec = Schema.Struct({
  holderIdentity: opt(Schema.String),
  leaseDurationSeconds: opt(Int32),
  acquireTime: opt(MicroTime),
  renewTime: opt(MicroTime),
  leaseTransitions: opt(Int32),
  strategy: opt(Schema.String),
  preferredHolder: opt(Schema.String),
})
export interface LeaseSpec extends Schema.Schema.Type<typeof LeaseSpec> {}

export const Lease = Schema.Struct({
  apiVersion: TypeField("coordination.k8s.io/v1"),
  kind: TypeField("Lease"),
  metadata: RequiredObjectMeta,
  spec: LeaseSpec.pipe(withZero({})),
})
export interface Lease extends Schema.Schema.Type<typeof Lease> {}

export const LeaseList = makeList("coordination.k8s.io/v1", "LeaseList", Lease)
export interface LeaseList extends Schema.Schema.Type<typeof LeaseList> {}
