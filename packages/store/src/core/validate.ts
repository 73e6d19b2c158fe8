// Stateless request checks, as etcd's gRPC layer makes them before proposing
// (v3rpc/key.go): a request that fails here never enters the log. The apply
// path repeats the cheap ones so that the state machine never depends on them.
import { inRange, type KeyRange, keyRange, toBinary } from "./bytes.ts"
import {
  ErrDuplicateKey,
  ErrEmptyKey,
  ErrKeyNotFound,
  ErrLeaseProvided,
  ErrTooManyOps,
  ErrValueProvided,
  type EtcdFailure,
} from "./errors.ts"
import type {
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from "./types.ts"

/** etcd's default --max-txn-ops. */
export const DEFAULT_MAX_TXN_OPS = 128

/** A txn whose every branch only reads (a nested txn counts as a write): served like a range. */
export const isReadOnlyTxn = (t: TxnRequest): boolean =>
  [...(t.success ?? []), ...(t.failure ?? [])].every((op) => "request_range" in op)

export const checkRangeRequest = (r: RangeRequest): EtcdFailure | undefined =>
  r.key.length === 0 ? ErrEmptyKey : undefined

export const checkPutRequest = (r: PutRequest): EtcdFailure | undefined => {
  if (r.key.length === 0) return ErrEmptyKey
  if (r.ignore_value === true && r.value !== undefined && r.value.length !== 0) {
    return ErrValueProvided
  }
  if (r.ignore_lease === true && r.lease !== undefined && r.lease !== 0) return ErrLeaseProvided
  return undefined
}

export const checkDeleteRequest = (r: DeleteRangeRequest): EtcdFailure | undefined =>
  r.key.length === 0 ? ErrEmptyKey : undefined

const checkRequestOp = (op: RequestOp, maxTxnOps: number): EtcdFailure | undefined => {
  if ("request_range" in op) return checkRangeRequest(op.request_range)
  if ("request_put" in op) return checkPutRequest(op.request_put)
  if ("request_delete_range" in op) return checkDeleteRequest(op.request_delete_range)
  if ("request_txn" in op) return checkTxnRequest(op.request_txn, maxTxnOps)
  // An empty union: etcd answers "key not found".
  return ErrKeyNotFound
}

/**
 * etcd's checkTxnRequest: no list longer than maxTxnOps (nested txns get what
 * the parent leaves), no empty keys, then checkIntervals on both branches.
 */
export const checkTxnRequest = (
  r: TxnRequest,
  maxTxnOps: number = DEFAULT_MAX_TXN_OPS,
): EtcdFailure | undefined => {
  const compare = r.compare ?? []
  const success = r.success ?? []
  const failure = r.failure ?? []
  const opc = Math.max(compare.length, success.length, failure.length)
  if (opc > maxTxnOps) return ErrTooManyOps
  for (const c of compare) if (c.key.length === 0) return ErrEmptyKey
  for (const op of success) {
    const e = checkRequestOp(op, maxTxnOps - opc)
    if (e !== undefined) return e
  }
  for (const op of failure) {
    const e = checkRequestOp(op, maxTxnOps - opc)
    if (e !== undefined) return e
  }
  return undefined
}

interface Intervals {
  readonly puts: Set<string>
  readonly dels: KeyRange[]
}

const intersects = (dels: ReadonlyArray<KeyRange>, key: string): boolean => {
  for (const d of dels) if (inRange(d, key)) return true
  return false
}

/**
 * etcd's checkIntervals: within one branch no key is put twice and no key is
 * both put and deleted, looking through nested txns (whose then/else branches
 * exclude each other, so they may put the same key). Returns the puts and
 * deletes of the branch, or the failure.
 */
const intervals = (ops: ReadonlyArray<RequestOp>): Intervals | EtcdFailure => {
  const dels: KeyRange[] = []
  for (const op of ops) {
    if ("request_delete_range" in op) {
      const d = op.request_delete_range
      dels.push(keyRange(d.key, d.range_end))
    }
  }
  const puts = new Set<string>()
  for (const op of ops) {
    if (!("request_txn" in op)) continue
    const then = intervals(op.request_txn.success ?? [])
    if ("_tag" in then) return then
    const otherwise = intervals(op.request_txn.failure ?? [])
    if ("_tag" in otherwise) return otherwise
    for (const k of then.puts) {
      if (puts.has(k) || intersects(dels, k)) return ErrDuplicateKey
      puts.add(k)
    }
    for (const k of otherwise.puts) {
      if ((puts.has(k) && !then.puts.has(k)) || intersects(dels, k)) return ErrDuplicateKey
      puts.add(k)
    }
    dels.push(...then.dels, ...otherwise.dels)
  }
  for (const op of ops) {
    if (!("request_put" in op)) continue
    const k = toBinary(op.request_put.key)
    if (puts.has(k) || intersects(dels, k)) return ErrDuplicateKey
    puts.add(k)
  }
  return { puts, dels }
}

/** Both branches of a txn pass etcd's put/delete overlap rule. */
export const checkIntervals = (r: TxnRequest): EtcdFailure | undefined => {
  const s = intervals(r.success ?? [])
  if ("_tag" in s) return s
  const f = intervals(r.failure ?? [])
  if ("_tag" in f) return f
  return undefined
}

/** Every stateless check of a txn, in etcd's order. */
export const checkTxn = (
  r: TxnRequest,
  maxTxnOps: number = DEFAULT_MAX_TXN_OPS,
): EtcdFailure | undefined => checkTxnRequest(r, maxTxnOps) ?? checkIntervals(r)
