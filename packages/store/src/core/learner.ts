// What a learner answers (etcd's v3rpc interceptors, isRPCSupportedForLearner):
// a learner has no vote and may lag the leader, so it serves only what it can
// answer from its own state - Maintenance.Status and serializable Range - plus
// the Snapshot stream (etcd 3.5, backported to 3.4.28). Every other call is
// refused with UNAVAILABLE "etcdserver: rpc not supported for learner", so
// that clients move to another endpoint. etcd decides by the applied
// membership (the member exists and is listed as a learner), as ours does.
import { ErrNotSupportedForLearner, type EtcdFailure } from "./errors.ts"

const STATUS = "/etcdserverpb.Maintenance/Status"
const RANGE = "/etcdserverpb.KV/Range"
const SNAPSHOT = "/etcdserverpb.Maintenance/Snapshot"

/**
 * Whether a learner serves unary call `path` (the gRPC method path) with a
 * request whose `serializable` field is given (only Range reads it).
 * Snapshot, a server stream answered from the request at once, counts here.
 */
export const learnerServesUnary = (path: string, serializable: boolean): boolean =>
  path === STATUS || path === SNAPSHOT || (path === RANGE && serializable)

/** Whether a learner serves stream `path`: only Snapshot. */
export const learnerServesStream = (path: string): boolean => path === SNAPSHOT

/**
 * The refusal for unary call `path` on a member, or undefined to serve it.
 * `isLearner` is whether the applied membership lists this member as a learner
 * (a member not in the membership yet, or removed, is not refused here).
 */
export const learnerRefusal = (
  isLearner: boolean,
  path: string,
  serializable: boolean,
): EtcdFailure | undefined =>
  isLearner && !learnerServesUnary(path, serializable) ? ErrNotSupportedForLearner : undefined

/** The refusal for opening stream `path` on a member, or undefined to serve it. */
export const learnerStreamRefusal = (isLearner: boolean, path: string): EtcdFailure | undefined =>
  isLearner && !learnerServesStream(path) ? ErrNotSupportedForLearner : undefined
