// Mapping between the objects @grpc/proto-loader produces (keepCase, longs as
// strings, enums as names, defaults filled, oneof names) and the store's
// request types. Decoding validates every field it reads and fails with
// INVALID_ARGUMENT naming the field and the reason; encoding only turns the
// uint64 IDs (bigint) into decimal strings. The server reads requests with
// proto.ts's readers; the request decoders here are what the tests check
// those readers against (through protobufjs), and the field helpers serve
// the client (remote.ts).
import { EMPTY } from "../core/bytes.ts"
import { ErrTooManyOps, type EtcdFailure, invalidArgument } from "../core/errors.ts"
import type {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  Member,
  PutRequest,
  RangeRequest,
  RequestOp,
  ResponseHeader,
  SortOrder,
  SortTarget,
  TxnRequest,
} from "../core/types.ts"
import { DEFAULT_MAX_TXN_OPS } from "../core/validate.ts"

/** A decoded protobuf message as proto-loader gives it. */
export type Wire = { readonly [field: string]: unknown }

/** Thrown by decoders; the server answers with its status. */
export class WireError extends Error {
  readonly failure: EtcdFailure
  constructor(failure: EtcdFailure) {
    super(failure.message)
    this.failure = failure
  }
}

const bad = (field: string, reason: string): never => {
  throw new WireError(invalidArgument(field, reason))
}

const message = (v: unknown, field: string): Wire => {
  if (v === null || v === undefined) return {}
  if (typeof v !== "object") return bad(field, "not a message")
  return v as Wire
}

export const bytes = (w: Wire, field: string, path = field): Uint8Array => {
  const v = w[field]
  if (v === undefined || v === null) return EMPTY
  if (v instanceof Uint8Array) return v
  return bad(path, "not bytes")
}

const bool = (w: Wire, field: string, path: string): boolean => {
  const v = w[field]
  if (v === undefined || v === null) return false
  if (typeof v !== "boolean") return bad(path, "not a boolean")
  return v
}

/** An int64 as a JavaScript number: it must be a safe integer (|n| < 2^53). */
export const int64 = (w: Wire, field: string, path = field): number => {
  const v = w[field]
  if (v === undefined || v === null || v === "") return 0
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : Number.NaN
  if (!Number.isSafeInteger(n)) return bad(path, `${String(v)} is not an integer below 2^53`)
  return n
}

/** An int64 where only the order matters: clamped to ±(2^53 - 1), as proto.ts's int64Clamped. */
const int64Clamped = (w: Wire, field: string, path = field): number => {
  const v = w[field]
  if (v === undefined || v === null || v === "") return 0
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : Number.NaN
  if (!Number.isInteger(n)) return bad(path, `${String(v)} is not an integer`)
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n))
}

/** A uint64 ID as a bigint. */
export const uint64 = (w: Wire, field: string, path = field): bigint => {
  const v = w[field]
  if (v === undefined || v === null || v === "") return 0n
  if (typeof v === "string" && /^\d+$/.test(v)) return BigInt(v)
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v)
  return bad(path, `${String(v)} is not an unsigned 64-bit integer`)
}

const enumOf = <T extends string>(
  w: Wire,
  field: string,
  values: ReadonlyArray<T>,
  path: string,
): T => {
  const v = w[field]
  if (v === undefined || v === null) return values[0]!
  if (typeof v === "string" && (values as ReadonlyArray<string>).includes(v)) return v as T
  return bad(path, `unknown value ${String(v)}`)
}

const SORT_ORDERS: ReadonlyArray<SortOrder> = ["NONE", "ASCEND", "DESCEND"]
const SORT_TARGETS: ReadonlyArray<SortTarget> = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"]
const COMPARE_RESULTS: ReadonlyArray<CompareResult> = ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"]
const COMPARE_TARGETS: ReadonlyArray<CompareTarget> = ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"]

export const decodeRange = (w: Wire, p = ""): RangeRequest => ({
  key: bytes(w, "key", `${p}key`),
  range_end: bytes(w, "range_end", `${p}range_end`),
  limit: int64Clamped(w, "limit", `${p}limit`),
  revision: int64Clamped(w, "revision", `${p}revision`),
  sort_order: enumOf(w, "sort_order", SORT_ORDERS, `${p}sort_order`),
  sort_target: enumOf(w, "sort_target", SORT_TARGETS, `${p}sort_target`),
  serializable: bool(w, "serializable", `${p}serializable`),
  keys_only: bool(w, "keys_only", `${p}keys_only`),
  count_only: bool(w, "count_only", `${p}count_only`),
  min_mod_revision: int64Clamped(w, "min_mod_revision", `${p}min_mod_revision`),
  max_mod_revision: int64Clamped(w, "max_mod_revision", `${p}max_mod_revision`),
  min_create_revision: int64Clamped(w, "min_create_revision", `${p}min_create_revision`),
  max_create_revision: int64Clamped(w, "max_create_revision", `${p}max_create_revision`),
})

export const decodePut = (w: Wire, p = ""): PutRequest => ({
  key: bytes(w, "key", `${p}key`),
  value: bytes(w, "value", `${p}value`),
  lease: int64(w, "lease", `${p}lease`),
  prev_kv: bool(w, "prev_kv", `${p}prev_kv`),
  ignore_value: bool(w, "ignore_value", `${p}ignore_value`),
  ignore_lease: bool(w, "ignore_lease", `${p}ignore_lease`),
})

export const decodeDelete = (w: Wire, p = ""): DeleteRangeRequest => ({
  key: bytes(w, "key", `${p}key`),
  range_end: bytes(w, "range_end", `${p}range_end`),
  prev_kv: bool(w, "prev_kv", `${p}prev_kv`),
})

const decodeCompare = (w: Wire, p: string): Compare => {
  const target = enumOf(w, "target", COMPARE_TARGETS, `${p}target`)
  const base = {
    result: enumOf(w, "result", COMPARE_RESULTS, `${p}result`),
    target,
    key: bytes(w, "key", `${p}key`),
    range_end: bytes(w, "range_end", `${p}range_end`),
  }
  switch (target) {
    case "VALUE":
      return { ...base, value: bytes(w, "value", `${p}value`) }
    case "CREATE":
      return { ...base, create_revision: int64Clamped(w, "create_revision", `${p}create_revision`) }
    case "MOD":
      return { ...base, mod_revision: int64Clamped(w, "mod_revision", `${p}mod_revision`) }
    case "LEASE":
      return { ...base, lease: int64(w, "lease", `${p}lease`) }
    default:
      return { ...base, version: int64Clamped(w, "version", `${p}version`) }
  }
}

/** As proto.ts's readTxn: deeper nesting fails etcd's op budget anyway. */
const MAX_DEPTH = DEFAULT_MAX_TXN_OPS

const decodeOp = (w: Wire, p: string, depth: number): RequestOp => {
  if (w.request_range != null)
    return { request_range: decodeRange(message(w.request_range, p), `${p}request_range.`) }
  if (w.request_put != null)
    return { request_put: decodePut(message(w.request_put, p), `${p}request_put.`) }
  if (w.request_delete_range != null) {
    return {
      request_delete_range: decodeDelete(
        message(w.request_delete_range, p),
        `${p}request_delete_range.`,
      ),
    }
  }
  if (w.request_txn != null) {
    return { request_txn: decodeTxn(message(w.request_txn, p), `${p}request_txn.`, depth + 1) }
  }
  // An empty op: the txn checks answer it as etcd does.
  return {} as RequestOp
}

const list = (w: Wire, field: string, path: string): Wire[] => {
  const v = w[field]
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) return bad(path, "not a list")
  return v.map((x, i) => message(x, `${path}[${i}]`))
}

export const decodeTxn = (w: Wire, p = "", depth = 0): TxnRequest => {
  if (depth > MAX_DEPTH) throw new WireError(ErrTooManyOps)
  return {
    compare: list(w, "compare", `${p}compare`).map((c, i) =>
      decodeCompare(c, `${p}compare[${i}].`),
    ),
    success: list(w, "success", `${p}success`).map((o, i) =>
      decodeOp(o, `${p}success[${i}].`, depth),
    ),
    failure: list(w, "failure", `${p}failure`).map((o, i) =>
      decodeOp(o, `${p}failure[${i}].`, depth),
    ),
  }
}

// ---------------------------------------------------------------------------
// Encoding

export const wireHeader = (h: ResponseHeader) => ({
  cluster_id: (h.cluster_id ?? 0n).toString(),
  member_id: (h.member_id ?? 0n).toString(),
  revision: h.revision,
  raft_term: h.raft_term ?? 0,
})

/** A response with its header in wire form (nested responses keep their revision-only headers). */
export const withWireHeader = <R extends { readonly header: ResponseHeader }>(r: R) => ({
  ...r,
  header: wireHeader(r.header),
})

export const wireMember = (m: Member) => ({ ...m, ID: m.ID.toString() })
