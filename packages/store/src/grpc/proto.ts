// Hand-written protobuf codecs for the hot messages of etcd's v3 API: the KV
// service's requests and responses, watch responses and lease keep-alives.
// They produce and take the store's own types directly (no intermediate
// objects, no Long), and decode with the same checks as wire.ts: every
// field is validated and errors are INVALID_ARGUMENT naming the field.
//
// Encoding is two-pass: sizes first, then one write into a buffer that
// already holds the 5-byte gRPC message prefix. Field numbers follow
// proto/etcdserverpb/rpc.proto and proto/mvccpb/kv.proto.
import { EMPTY } from "../core/bytes.ts"
import { ALARM_TYPES } from "../core/codec.ts"
import { ErrTooManyOps, invalidArgument } from "../core/errors.ts"
import type {
  AlarmRequest,
  CompactionRequest,
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  FilterType,
  KeyValue,
  LeaseGrantRequest,
  LeaseKeepAliveResponse,
  LeaseTimeToLiveRequest,
  MemberAddRequest,
  MemberRemoveRequest,
  MemberUpdateRequest,
  MoveLeaderRequest,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
  WatchCreateRequest,
  WatchRequest,
  WatchResponse,
} from "../core/types.ts"
import { DEFAULT_MAX_TXN_OPS } from "../core/validate.ts"
import { WireError } from "./wire.ts"

const VARINT = 0
const FIXED64 = 1
const LEN = 2
const START_GROUP = 3
const END_GROUP = 4
const FIXED32 = 5
/** Unknown groups (a proto2 encoding) are skipped up to this nesting. */
const MAX_GROUP_DEPTH = 64

const bad = (path: string, reason: string): never => {
  throw new WireError(invalidArgument(path, reason))
}

// ---------------------------------------------------------------------------
// Reading

export class ProtoReader {
  private readonly buf: Uint8Array
  pos: number
  private readonly end: number

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf
    this.pos = pos
    this.end = end
  }

  get done(): boolean {
    return this.pos >= this.end
  }

  /** The next field's tag (field number << 3 | wire type). */
  tag(path: string): number {
    const t = this.varintNumber(path)
    // Field numbers stop at 2^29 - 1: a tag fits 32 bits.
    if (t > 0xffffffff) bad(path, "field number above 2^29 - 1")
    if (t < 8) bad(path, "field number 0")
    return t
  }

  /**
   * A varint as a double, without allocating: exact below 2^53, and above it
   * still larger than any tag or length that fits (which is all it is used for).
   */
  private varintNumber(path: string): number {
    if (this.pos >= this.end) return bad(path, "truncated varint")
    let b = this.buf[this.pos++]!
    if (b < 0x80) return b
    let n = b & 0x7f
    let mul = 0x80
    for (let i = 1; i < 10; i++) {
      if (this.pos >= this.end) return bad(path, "truncated varint")
      b = this.buf[this.pos++]!
      n += (b & 0x7f) * mul
      if (b < 0x80) return n
      mul *= 0x80
    }
    return bad(path, "varint too long")
  }

  /** A varint as two 32-bit halves [low, high]. */
  private varint64(path: string): [number, number] {
    let lo = 0
    let hi = 0
    let i = 0
    for (; i < 4; i++) {
      if (this.pos >= this.end) return bad(path, "truncated varint")
      const b = this.buf[this.pos++]!
      lo |= (b & 0x7f) << (i * 7)
      if (b < 0x80) return [lo >>> 0, 0]
    }
    // Fifth byte: 4 bits to lo, 3 bits to hi.
    if (this.pos >= this.end) return bad(path, "truncated varint")
    let b = this.buf[this.pos++]!
    lo |= (b & 0x0f) << 28
    hi = (b & 0x7f) >> 4
    if (b < 0x80) return [lo >>> 0, hi >>> 0]
    for (i = 0; i < 5; i++) {
      if (this.pos >= this.end) return bad(path, "truncated varint")
      b = this.buf[this.pos++]!
      hi |= (b & 0x7f) << (i * 7 + 3)
      if (b < 0x80) return [lo >>> 0, hi >>> 0]
    }
    return bad(path, "varint too long")
  }

  /** An int64 that must be a safe integer. */
  int64(path: string): number {
    const [lo, hi] = this.varint64(path)
    // Negative: two's complement.
    const n =
      hi & 0x80000000 ? -((~hi >>> 0) * 0x1_0000_0000 + (~lo >>> 0) + 1) : hi * 0x1_0000_0000 + lo
    if (!Number.isSafeInteger(n)) bad(path, `${exactInt64(lo, hi)} is not an integer below 2^53`)
    return n
  }

  /**
   * An int64 where only the order matters (revisions, limits, TTLs): values
   * beyond ±(2^53 - 1) become ±(2^53 - 1), which compare and clamp the same
   * way against any revision or count a store can reach (etcd takes any int64).
   */
  int64Clamped(path: string): number {
    const [lo, hi] = this.varint64(path)
    if (hi & 0x80000000) {
      const n = -((~hi >>> 0) * 0x1_0000_0000 + (~lo >>> 0) + 1)
      return Math.max(n, -Number.MAX_SAFE_INTEGER)
    }
    const n = hi * 0x1_0000_0000 + lo
    return Math.min(n, Number.MAX_SAFE_INTEGER)
  }

  uint64(path: string): bigint {
    const [lo, hi] = this.varint64(path)
    return (BigInt(hi) << 32n) | BigInt(lo)
  }

  bool(path: string): boolean {
    const [lo, hi] = this.varint64(path)
    return lo !== 0 || hi !== 0
  }

  enumValue<T>(values: ReadonlyArray<T>, path: string): T {
    const [lo, hi] = this.varint64(path)
    const v = hi === 0 ? values[lo] : undefined
    // Enums are int32s, negatives sign-extended: name the value the client sent.
    if (v === undefined) bad(path, `unknown value ${exactInt64(lo, hi)}`)
    return v!
  }

  /** The length of a length-delimited field, which must fit in what is left. */
  private length(path: string, what: string): number {
    const n = this.varintNumber(path)
    if (n > this.end - this.pos) bad(path, `truncated ${what}`)
    return n
  }

  /** A length-delimited field as a view into the input. */
  bytes(path: string): Uint8Array {
    const n = this.length(path, "bytes")
    const b = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return b
  }

  /** A string field: UTF-8, as protobuf requires of proto3 strings. */
  string(path: string): string {
    const b = this.bytes(path)
    try {
      return strictUtf8.decode(b)
    } catch {
      return bad(path, "not UTF-8")
    }
  }

  /** A nested message's reader. */
  message(path: string): ProtoReader {
    const n = this.length(path, "message")
    const r = new ProtoReader(this.buf, this.pos, this.pos + n)
    this.pos += n
    return r
  }

  /**
   * Skips the field whose tag `t` was just read (unknown fields are ignored,
   * as protobuf says), groups included: to their end tag, nested at most
   * MAX_GROUP_DEPTH deep.
   */
  skip(t: number, path: string): void {
    const groups: number[] = []
    for (;;) {
      const wt = t & 7
      switch (wt) {
        case VARINT:
          this.varint64(path)
          break
        case FIXED64:
          this.pos += 8
          break
        case LEN: {
          // Read the length first: `this.pos += ...` would add it to the old position.
          const n = this.length(path, "field")
          this.pos += n
          break
        }
        case START_GROUP:
          if (groups.length === MAX_GROUP_DEPTH)
            bad(path, `groups nested deeper than ${MAX_GROUP_DEPTH}`)
          groups.push(t >>> 3)
          break
        case END_GROUP:
          if (groups.pop() !== t >>> 3) bad(path, "end of a group that was not started")
          break
        case FIXED32:
          this.pos += 4
          break
        default:
          bad(path, `wire type ${wt} does not exist`)
      }
      if (this.pos > this.end) bad(path, "truncated field")
      if (groups.length === 0) return
      if (this.done) bad(path, "group without its end")
      t = this.tag(path)
    }
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

/** The int64 of a varint's halves, exactly (for messages). */
const exactInt64 = (lo: number, hi: number): bigint =>
  BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo))

/** Checks the wire type of a known field. */
const expect = (t: number, wt: number, path: string): void => {
  if ((t & 7) !== wt) bad(path, `wire type ${t & 7}, expected ${wt}`)
}

const SORT_ORDERS: ReadonlyArray<SortOrder> = ["NONE", "ASCEND", "DESCEND"]
const SORT_TARGETS: ReadonlyArray<SortTarget> = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"]
const COMPARE_RESULTS: ReadonlyArray<CompareResult> = ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"]
const COMPARE_TARGETS: ReadonlyArray<CompareTarget> = ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"]

type MutableRange = { -readonly [K in keyof RangeRequest]: RangeRequest[K] }

export const readRange = (r: ProtoReader, p = ""): RangeRequest => {
  const q: MutableRange = {
    key: EMPTY,
    range_end: EMPTY,
    limit: 0,
    revision: 0,
    sort_order: "NONE",
    sort_target: "KEY",
    serializable: false,
    keys_only: false,
    count_only: false,
    min_mod_revision: 0,
    max_mod_revision: 0,
    min_create_revision: 0,
    max_create_revision: 0,
  }
  while (!r.done) {
    const t = r.tag(`${p}(tag)`)
    switch (t >>> 3) {
      case 1:
        expect(t, LEN, `${p}key`)
        q.key = r.bytes(`${p}key`)
        break
      case 2:
        expect(t, LEN, `${p}range_end`)
        q.range_end = r.bytes(`${p}range_end`)
        break
      case 3:
        expect(t, VARINT, `${p}limit`)
        q.limit = r.int64Clamped(`${p}limit`)
        break
      case 4:
        expect(t, VARINT, `${p}revision`)
        q.revision = r.int64Clamped(`${p}revision`)
        break
      case 5:
        expect(t, VARINT, `${p}sort_order`)
        q.sort_order = r.enumValue(SORT_ORDERS, `${p}sort_order`)
        break
      case 6:
        expect(t, VARINT, `${p}sort_target`)
        q.sort_target = r.enumValue(SORT_TARGETS, `${p}sort_target`)
        break
      case 7:
        expect(t, VARINT, `${p}serializable`)
        q.serializable = r.bool(`${p}serializable`)
        break
      case 8:
        expect(t, VARINT, `${p}keys_only`)
        q.keys_only = r.bool(`${p}keys_only`)
        break
      case 9:
        expect(t, VARINT, `${p}count_only`)
        q.count_only = r.bool(`${p}count_only`)
        break
      case 10:
        expect(t, VARINT, `${p}min_mod_revision`)
        q.min_mod_revision = r.int64Clamped(`${p}min_mod_revision`)
        break
      case 11:
        expect(t, VARINT, `${p}max_mod_revision`)
        q.max_mod_revision = r.int64Clamped(`${p}max_mod_revision`)
        break
      case 12:
        expect(t, VARINT, `${p}min_create_revision`)
        q.min_create_revision = r.int64Clamped(`${p}min_create_revision`)
        break
      case 13:
        expect(t, VARINT, `${p}max_create_revision`)
        q.max_create_revision = r.int64Clamped(`${p}max_create_revision`)
        break
      default:
        r.skip(t, `${p}(field ${t >>> 3})`)
    }
  }
  return q
}

export const readPut = (r: ProtoReader, p = ""): PutRequest => {
  let key = EMPTY
  let value = EMPTY
  let lease = 0
  let prev_kv = false
  let ignore_value = false
  let ignore_lease = false
  while (!r.done) {
    const t = r.tag(`${p}(tag)`)
    switch (t >>> 3) {
      case 1:
        expect(t, LEN, `${p}key`)
        key = r.bytes(`${p}key`)
        break
      case 2:
        expect(t, LEN, `${p}value`)
        value = r.bytes(`${p}value`)
        break
      case 3:
        expect(t, VARINT, `${p}lease`)
        lease = r.int64(`${p}lease`)
        break
      case 4:
        expect(t, VARINT, `${p}prev_kv`)
        prev_kv = r.bool(`${p}prev_kv`)
        break
      case 5:
        expect(t, VARINT, `${p}ignore_value`)
        ignore_value = r.bool(`${p}ignore_value`)
        break
      case 6:
        expect(t, VARINT, `${p}ignore_lease`)
        ignore_lease = r.bool(`${p}ignore_lease`)
        break
      default:
        r.skip(t, `${p}(field ${t >>> 3})`)
    }
  }
  return { key, value, lease, prev_kv, ignore_value, ignore_lease }
}

export const readDelete = (r: ProtoReader, p = ""): DeleteRangeRequest => {
  let key = EMPTY
  let range_end = EMPTY
  let prev_kv = false
  while (!r.done) {
    const t = r.tag(`${p}(tag)`)
    switch (t >>> 3) {
      case 1:
        expect(t, LEN, `${p}key`)
        key = r.bytes(`${p}key`)
        break
      case 2:
        expect(t, LEN, `${p}range_end`)
        range_end = r.bytes(`${p}range_end`)
        break
      case 3:
        expect(t, VARINT, `${p}prev_kv`)
        prev_kv = r.bool(`${p}prev_kv`)
        break
      default:
        r.skip(t, `${p}(field ${t >>> 3})`)
    }
  }
  return { key, range_end, prev_kv }
}

const readCompare = (r: ProtoReader, p: string): Compare => {
  let result: CompareResult = "EQUAL"
  let target: CompareTarget = "VERSION"
  let key = EMPTY
  let range_end = EMPTY
  // The members of the oneof target_union are read independently (as
  // protobufjs does, whose clients may send several): `target` picks one.
  let version = 0
  let create_revision = 0
  let mod_revision = 0
  let lease = 0
  let value = EMPTY
  while (!r.done) {
    const t = r.tag(`${p}(tag)`)
    switch (t >>> 3) {
      case 1:
        expect(t, VARINT, `${p}result`)
        result = r.enumValue(COMPARE_RESULTS, `${p}result`)
        break
      case 2:
        expect(t, VARINT, `${p}target`)
        target = r.enumValue(COMPARE_TARGETS, `${p}target`)
        break
      case 3:
        expect(t, LEN, `${p}key`)
        key = r.bytes(`${p}key`)
        break
      case 4:
        expect(t, VARINT, `${p}version`)
        version = r.int64Clamped(`${p}version`)
        break
      case 5:
        expect(t, VARINT, `${p}create_revision`)
        create_revision = r.int64Clamped(`${p}create_revision`)
        break
      case 6:
        expect(t, VARINT, `${p}mod_revision`)
        mod_revision = r.int64Clamped(`${p}mod_revision`)
        break
      case 7:
        expect(t, LEN, `${p}value`)
        value = r.bytes(`${p}value`)
        break
      case 8:
        expect(t, VARINT, `${p}lease`)
        lease = r.int64(`${p}lease`)
        break
      case 64:
        expect(t, LEN, `${p}range_end`)
        range_end = r.bytes(`${p}range_end`)
        break
      default:
        r.skip(t, `${p}(field ${t >>> 3})`)
    }
  }
  const base = { result, target, key, range_end }
  switch (target) {
    case "VALUE":
      return { ...base, value }
    case "CREATE":
      return { ...base, create_revision }
    case "MOD":
      return { ...base, mod_revision }
    case "LEASE":
      return { ...base, lease }
    default:
      return { ...base, version }
  }
}

/**
 * Nesting at which etcd's op budget is spent: each level holds at least one
 * op and leaves its nested txn `maxTxnOps` minus its own ops, so any txn
 * nested deeper fails its checks with "too many operations" anyway; refusing
 * it while decoding bounds the recursion with the same answer.
 */
const MAX_DEPTH = DEFAULT_MAX_TXN_OPS

const readOp = (r: ProtoReader, p: string, depth: number): RequestOp => {
  let op: RequestOp = {} as RequestOp
  while (!r.done) {
    const t = r.tag(`${p}(tag)`)
    switch (t >>> 3) {
      case 1:
        expect(t, LEN, `${p}request_range`)
        op = { request_range: readRange(r.message(`${p}request_range`), `${p}request_range.`) }
        break
      case 2:
        expect(t, LEN, `${p}request_put`)
        op = { request_put: readPut(r.message(`${p}request_put`), `${p}request_put.`) }
        break
      case 3:
        expect(t, LEN, `${p}request_delete_range`)
        op = {
          request_delete_range: readDelete(
            r.message(`${p}request_delete_range`),
            `${p}request_delete_range.`,
          ),
        }
        break
      case 4:
        expect(t, LEN, `${p}request_txn`)
        op = {
          request_txn: readTxn(r.message(`${p}request_txn`), `${p}request_txn.`, depth + 1),
        }
        break
      default:
        r.skip(t, `${p}(field ${t >>> 3})`)
    }
  }
  // An empty op: the txn checks answer it as etcd does.
  return op
}

export const readTxn = (r: ProtoReader, p = "", depth = 0): TxnRequest => {
  if (depth > MAX_DEPTH) throw new WireError(ErrTooManyOps)
  const compare: Compare[] = []
  const success: RequestOp[] = []
  const failure: RequestOp[] = []
  while (!r.done) {
    const t = r.tag(`${p}(tag)`)
    switch (t >>> 3) {
      case 1: {
        const path = `${p}compare[${compare.length}]`
        expect(t, LEN, path)
        compare.push(readCompare(r.message(path), `${path}.`))
        break
      }
      case 2: {
        const path = `${p}success[${success.length}]`
        expect(t, LEN, path)
        success.push(readOp(r.message(path), `${path}.`, depth))
        break
      }
      case 3: {
        const path = `${p}failure[${failure.length}]`
        expect(t, LEN, path)
        failure.push(readOp(r.message(path), `${path}.`, depth))
        break
      }
      default:
        r.skip(t, `${p}(field ${t >>> 3})`)
    }
  }
  return { compare, success, failure }
}

/** A message whose only field of ours is varint field 1, named `path`. */
const readField1 = <T>(
  r: ProtoReader,
  path: string,
  initial: T,
  read: (r: ProtoReader, path: string) => T,
): T => {
  let v = initial
  const prefix = path.slice(0, path.lastIndexOf(".") + 1)
  while (!r.done) {
    const t = r.tag(`${prefix}(tag)`)
    if (t >>> 3 === 1) {
      expect(t, VARINT, path)
      v = read(r, path)
    } else r.skip(t, `${prefix}(field ${t >>> 3})`)
  }
  return v
}

/** LeaseKeepAliveRequest and LeaseRevokeRequest: the lease's int64 ID. */
export const readLeaseId = (r: ProtoReader): { readonly ID: number } => ({
  ID: readField1(r, "ID", 0, (x, p) => x.int64(p)),
})

/** A message with no fields we read (StatusRequest, MemberListRequest, ...): checked and skipped. */
export const readEmpty = (r: ProtoReader): undefined => {
  while (!r.done) {
    const t = r.tag("(tag)")
    r.skip(t, `(field ${t >>> 3})`)
  }
  return undefined
}

/** Varint fields 1 and 2 of a small request (named `first` and `second`), read by `a` and `b`. */
const readTwoVarints = <A, B>(
  r: ProtoReader,
  first: string,
  a: (r: ProtoReader, path: string) => A,
  second: string,
  b: (r: ProtoReader, path: string) => B,
  initial: [A, B],
): [A, B] => {
  const v = initial
  while (!r.done) {
    const t = r.tag("(tag)")
    switch (t >>> 3) {
      case 1:
        expect(t, VARINT, first)
        v[0] = a(r, first)
        break
      case 2:
        expect(t, VARINT, second)
        v[1] = b(r, second)
        break
      default:
        r.skip(t, `(field ${t >>> 3})`)
    }
  }
  return v
}

const clamped = (r: ProtoReader, p: string) => r.int64Clamped(p)
const exact = (r: ProtoReader, p: string) => r.int64(p)
const bool = (r: ProtoReader, p: string) => r.bool(p)

export const readCompaction = (r: ProtoReader): CompactionRequest => {
  const [revision, physical] = readTwoVarints(r, "revision", clamped, "physical", bool, [0, false])
  return { revision, physical }
}

export const readLeaseTimeToLive = (r: ProtoReader): LeaseTimeToLiveRequest => {
  const [ID, keys] = readTwoVarints(r, "ID", exact, "keys", bool, [0, false])
  return { ID, keys }
}

/** HashKVRequest: the revision (0: current). */
export const readHashKV = (r: ProtoReader): number => readField1(r, "revision", 0, clamped)

/** LeaseGrantRequest: the TTL (clamped: any larger one is "too large") and the exact ID. */
export const readLeaseGrant = (r: ProtoReader): LeaseGrantRequest => {
  const [TTL, ID] = readTwoVarints(r, "TTL", clamped, "ID", exact, [0, 0])
  return { TTL, ID }
}

export const readMemberAdd = (r: ProtoReader): MemberAddRequest => {
  const peerURLs: string[] = []
  let isLearner = false
  while (!r.done) {
    const t = r.tag("(tag)")
    switch (t >>> 3) {
      case 1: {
        const path = `peerURLs[${peerURLs.length}]`
        expect(t, LEN, path)
        peerURLs.push(r.string(path))
        break
      }
      case 2:
        expect(t, VARINT, "isLearner")
        isLearner = r.bool("isLearner")
        break
      default:
        r.skip(t, `(field ${t >>> 3})`)
    }
  }
  return { peerURLs, isLearner }
}

/** MemberRemoveRequest (and MemberPromoteRequest): the member's uint64 ID. */
export const readMemberId = (r: ProtoReader): MemberRemoveRequest => ({
  ID: readField1(r, "ID", 0n, (x, p) => x.uint64(p)),
})

/** MoveLeaderRequest: the target member's uint64 ID. */
export const readMoveLeader = (r: ProtoReader): MoveLeaderRequest => ({
  targetID: readField1(r, "targetID", 0n, (x, p) => x.uint64(p)),
})

/** MemberUpdateRequest: the member's uint64 ID and its new peer URLs. */
export const readMemberUpdate = (r: ProtoReader): MemberUpdateRequest => {
  let ID = 0n
  const peerURLs: string[] = []
  while (!r.done) {
    const t = r.tag("(tag)")
    switch (t >>> 3) {
      case 1:
        expect(t, VARINT, "ID")
        ID = r.uint64("ID")
        break
      case 2: {
        const path = `peerURLs[${peerURLs.length}]`
        expect(t, LEN, path)
        peerURLs.push(r.string(path))
        break
      }
      default:
        r.skip(t, `(field ${t >>> 3})`)
    }
  }
  return { ID, peerURLs }
}

const ALARM_ACTIONS = ["GET", "ACTIVATE", "DEACTIVATE"] as const

export const readAlarm = (r: ProtoReader): AlarmRequest => {
  let action: AlarmRequest["action"] = "GET"
  let memberID = 0n
  let alarm: AlarmRequest["alarm"] = "NONE"
  while (!r.done) {
    const t = r.tag("(tag)")
    switch (t >>> 3) {
      case 1:
        expect(t, VARINT, "action")
        action = r.enumValue(ALARM_ACTIONS, "action")
        break
      case 2:
        expect(t, VARINT, "memberID")
        memberID = r.uint64("memberID")
        break
      case 3:
        expect(t, VARINT, "alarm")
        alarm = r.enumValue(ALARM_TYPES, "alarm")
        break
      default:
        r.skip(t, `(field ${t >>> 3})`)
    }
  }
  return { action, memberID, alarm }
}

const FILTERS: ReadonlyArray<FilterType> = ["NOPUT", "NODELETE"]

type MutableCreate = { -readonly [K in keyof WatchCreateRequest]: WatchCreateRequest[K] }

const readWatchCreate = (r: ProtoReader): WatchCreateRequest => {
  const p = "create_request."
  const c: MutableCreate = { key: EMPTY }
  const filters: FilterType[] = []
  while (!r.done) {
    const t = r.tag(`${p}(tag)`)
    switch (t >>> 3) {
      case 1:
        expect(t, LEN, `${p}key`)
        c.key = r.bytes(`${p}key`)
        break
      case 2:
        expect(t, LEN, `${p}range_end`)
        c.range_end = r.bytes(`${p}range_end`)
        break
      case 3:
        expect(t, VARINT, `${p}start_revision`)
        c.start_revision = r.int64Clamped(`${p}start_revision`)
        break
      case 4:
        expect(t, VARINT, `${p}progress_notify`)
        c.progress_notify = r.bool(`${p}progress_notify`)
        break
      case 5:
        // A repeated enum: packed (proto3's default) or one value per field.
        if ((t & 7) === LEN) {
          const packed = r.message(`${p}filters`)
          while (!packed.done) {
            filters.push(packed.enumValue(FILTERS, `${p}filters[${filters.length}]`))
          }
        } else {
          expect(t, VARINT, `${p}filters[${filters.length}]`)
          filters.push(r.enumValue(FILTERS, `${p}filters[${filters.length}]`))
        }
        break
      case 6:
        expect(t, VARINT, `${p}prev_kv`)
        c.prev_kv = r.bool(`${p}prev_kv`)
        break
      case 7:
        expect(t, VARINT, `${p}watch_id`)
        c.watch_id = r.int64(`${p}watch_id`)
        break
      case 8:
        expect(t, VARINT, `${p}fragment`)
        c.fragment = r.bool(`${p}fragment`)
        break
      default:
        r.skip(t, `${p}(field ${t >>> 3})`)
    }
  }
  if (filters.length > 0) c.filters = filters
  return c
}

/**
 * WatchRequest: one of create, cancel or progress (the last one given wins,
 * as protobuf's oneof says); undefined for a request with none of them,
 * which etcd ignores.
 */
export const readWatchRequest = (r: ProtoReader): WatchRequest | undefined => {
  let q: WatchRequest | undefined
  while (!r.done) {
    const t = r.tag("(tag)")
    switch (t >>> 3) {
      case 1:
        expect(t, LEN, "create_request")
        q = { create_request: readWatchCreate(r.message("create_request")) }
        break
      case 2: {
        expect(t, LEN, "cancel_request")
        const c = r.message("cancel_request")
        q = {
          cancel_request: {
            watch_id: readField1(c, "cancel_request.watch_id", 0, (x, p) => x.int64(p)),
          },
        }
        break
      }
      case 3:
        expect(t, LEN, "progress_request")
        readEmpty(r.message("progress_request"))
        q = { progress_request: {} }
        break
      default:
        r.skip(t, `(field ${t >>> 3})`)
    }
  }
  return q
}

// ---------------------------------------------------------------------------
// Writing

/** Bytes of a varint of a non-negative safe integer, or of a negative int64 (10). */
const varintSize = (n: number): number => {
  if (n < 0) return 10
  if (n < 0x80) return 1
  if (n < 0x4000) return 2
  if (n < 0x200000) return 3
  if (n < 0x10000000) return 4
  let size = 4
  let v = Math.floor(n / 0x10000000)
  while (v > 0) {
    size++
    v = Math.floor(v / 0x80)
  }
  return size
}

const uint64Size = (n: bigint): number => {
  let size = 1
  while (n >= 0x80n) {
    size++
    n >>= 7n
  }
  return size
}

const bytesSize = (b: Uint8Array): number => varintSize(b.length) + b.length

const utf8 = new TextEncoder()

export class ProtoWriter {
  buf: Buffer
  pos = 0

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size)
  }

  varint(n: number): void {
    if (n < 0) {
      this.varint64(BigInt.asUintN(64, BigInt(n)))
      return
    }
    const buf = this.buf
    while (n >= 0x80) {
      buf[this.pos++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    buf[this.pos++] = n
  }

  varint64(n: bigint): void {
    while (n >= 0x80n) {
      this.buf[this.pos++] = Number(n & 0x7fn) | 0x80
      n >>= 7n
    }
    this.buf[this.pos++] = Number(n)
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  /** A bool field set to true (fields 1-15: one-byte tag, value 1). */
  flag(field: number): void {
    this.buf[this.pos++] = field * 8 + VARINT
    this.buf[this.pos++] = 1
  }

  /** A varint field (fields 1-15: one-byte tag). */
  uintField(field: number, n: number): void {
    this.buf[this.pos++] = field * 8 + VARINT
    this.varint(n)
  }
}

// Field tags (field << 3 | wire type) as single bytes where they fit.
const tagOf = (field: number, wt: number): number => field * 8 + wt

/** ResponseHeader size (proto3: default fields are left out). */
const headerSize = (h: ResponseHeader): number => {
  let n = 0
  if (h.cluster_id !== undefined && h.cluster_id !== 0n) n += 1 + uint64Size(h.cluster_id)
  if (h.member_id !== undefined && h.member_id !== 0n) n += 1 + uint64Size(h.member_id)
  if (h.revision !== 0) n += 1 + varintSize(h.revision)
  if (h.raft_term !== undefined && h.raft_term !== 0) n += 1 + varintSize(h.raft_term)
  return n
}

const writeHeader = (w: ProtoWriter, field: number, h: ResponseHeader, size: number): void => {
  w.buf[w.pos++] = tagOf(field, LEN)
  w.varint(size)
  if (h.cluster_id !== undefined && h.cluster_id !== 0n) {
    w.buf[w.pos++] = tagOf(1, VARINT)
    w.varint64(h.cluster_id)
  }
  if (h.member_id !== undefined && h.member_id !== 0n) {
    w.buf[w.pos++] = tagOf(2, VARINT)
    w.varint64(h.member_id)
  }
  if (h.revision !== 0) {
    w.uintField(3, h.revision)
  }
  if (h.raft_term !== undefined && h.raft_term !== 0) {
    w.uintField(4, h.raft_term)
  }
}

const kvSize = (kv: KeyValue): number => {
  let n = 0
  if (kv.key.length > 0) n += 1 + bytesSize(kv.key)
  if (kv.create_revision !== 0) n += 1 + varintSize(kv.create_revision)
  if (kv.mod_revision !== 0) n += 1 + varintSize(kv.mod_revision)
  if (kv.version !== 0) n += 1 + varintSize(kv.version)
  if (kv.value.length > 0) n += 1 + bytesSize(kv.value)
  if (kv.lease !== 0) n += 1 + varintSize(kv.lease)
  return n
}

const writeKv = (w: ProtoWriter, field: number, kv: KeyValue, size: number): void => {
  w.buf[w.pos++] = tagOf(field, LEN)
  w.varint(size)
  if (kv.key.length > 0) {
    w.buf[w.pos++] = tagOf(1, LEN)
    w.bytes(kv.key)
  }
  if (kv.create_revision !== 0) {
    w.uintField(2, kv.create_revision)
  }
  if (kv.mod_revision !== 0) {
    w.uintField(3, kv.mod_revision)
  }
  if (kv.version !== 0) {
    w.uintField(4, kv.version)
  }
  if (kv.value.length > 0) {
    w.buf[w.pos++] = tagOf(5, LEN)
    w.bytes(kv.value)
  }
  if (kv.lease !== 0) {
    w.uintField(6, kv.lease)
  }
}

/** Size of a length-delimited field holding `size` bytes (tag of one byte). */
const fieldSize = (size: number): number => 1 + varintSize(size) + size

// Each message: `size` (body size) and `write` (body, with its own field's tag when nested).

// The header is always sent (etcd always sets it; an empty one is not an absent one).

const rangeSize = (m: RangeResponse): number => {
  let n = fieldSize(headerSize(m.header))
  for (const kv of m.kvs) n += fieldSize(kvSize(kv))
  if (m.more) n += 2
  if (m.count !== 0) n += 1 + varintSize(m.count)
  return n
}

const writeRange = (w: ProtoWriter, m: RangeResponse): void => {
  writeHeader(w, 1, m.header, headerSize(m.header))
  for (const kv of m.kvs) writeKv(w, 2, kv, kvSize(kv))
  if (m.more) {
    w.flag(3)
  }
  if (m.count !== 0) {
    w.uintField(4, m.count)
  }
}

const putSize = (m: PutResponse): number => {
  let n = fieldSize(headerSize(m.header))
  if (m.prev_kv !== undefined) n += fieldSize(kvSize(m.prev_kv))
  return n
}

const writePut = (w: ProtoWriter, m: PutResponse): void => {
  writeHeader(w, 1, m.header, headerSize(m.header))
  if (m.prev_kv !== undefined) writeKv(w, 2, m.prev_kv, kvSize(m.prev_kv))
}

const deleteSize = (m: DeleteRangeResponse): number => {
  let n = fieldSize(headerSize(m.header))
  if (m.deleted !== 0) n += 1 + varintSize(m.deleted)
  for (const kv of m.prev_kvs) n += fieldSize(kvSize(kv))
  return n
}

const writeDelete = (w: ProtoWriter, m: DeleteRangeResponse): void => {
  writeHeader(w, 1, m.header, headerSize(m.header))
  if (m.deleted !== 0) {
    w.uintField(2, m.deleted)
  }
  for (const kv of m.prev_kvs) writeKv(w, 3, kv, kvSize(kv))
}

const opSize = (op: ResponseOp): number => {
  if ("response_range" in op) return fieldSize(rangeSize(op.response_range))
  if ("response_put" in op) return fieldSize(putSize(op.response_put))
  if ("response_delete_range" in op) return fieldSize(deleteSize(op.response_delete_range))
  if ("response_txn" in op) return fieldSize(txnSize(op.response_txn))
  return 0
}

const writeOp = (w: ProtoWriter, op: ResponseOp): void => {
  if ("response_range" in op) {
    w.buf[w.pos++] = tagOf(1, LEN)
    w.varint(rangeSize(op.response_range))
    writeRange(w, op.response_range)
  } else if ("response_put" in op) {
    w.buf[w.pos++] = tagOf(2, LEN)
    w.varint(putSize(op.response_put))
    writePut(w, op.response_put)
  } else if ("response_delete_range" in op) {
    w.buf[w.pos++] = tagOf(3, LEN)
    w.varint(deleteSize(op.response_delete_range))
    writeDelete(w, op.response_delete_range)
  } else if ("response_txn" in op) {
    w.buf[w.pos++] = tagOf(4, LEN)
    w.varint(txnSize(op.response_txn))
    writeTxn(w, op.response_txn)
  }
}

const txnSize = (m: TxnResponse): number => {
  let n = fieldSize(headerSize(m.header))
  if (m.succeeded) n += 2
  for (const op of m.responses) n += fieldSize(opSize(op))
  return n
}

const writeTxn = (w: ProtoWriter, m: TxnResponse): void => {
  writeHeader(w, 1, m.header, headerSize(m.header))
  if (m.succeeded) {
    w.flag(2)
  }
  for (const op of m.responses) {
    w.buf[w.pos++] = tagOf(3, LEN)
    w.varint(opSize(op))
    writeOp(w, op)
  }
}

const eventSize = (e: Event): number => {
  let n = 0
  if (e.type !== "PUT") n += 2
  n += fieldSize(kvSize(e.kv))
  if (e.prev_kv !== undefined) n += fieldSize(kvSize(e.prev_kv))
  return n
}

const writeEvent = (w: ProtoWriter, e: Event): void => {
  if (e.type !== "PUT") {
    w.flag(1)
  }
  writeKv(w, 2, e.kv, kvSize(e.kv))
  if (e.prev_kv !== undefined) writeKv(w, 3, e.prev_kv, kvSize(e.prev_kv))
}

const watchSize = (m: WatchResponse, reason: Uint8Array): number => {
  let n = fieldSize(headerSize(m.header))
  if (m.watch_id !== 0) n += 1 + varintSize(m.watch_id)
  if (m.created) n += 2
  if (m.canceled) n += 2
  if (m.compact_revision !== 0) n += 1 + varintSize(m.compact_revision)
  if (reason.length > 0) n += 1 + bytesSize(reason)
  if (m.fragment) n += 2
  for (const e of m.events) n += fieldSize(eventSize(e))
  return n
}

const writeWatch = (w: ProtoWriter, m: WatchResponse, reason: Uint8Array): void => {
  writeHeader(w, 1, m.header, headerSize(m.header))
  if (m.watch_id !== 0) {
    w.uintField(2, m.watch_id)
  }
  if (m.created) {
    w.flag(3)
  }
  if (m.canceled) {
    w.flag(4)
  }
  if (m.compact_revision !== 0) {
    w.uintField(5, m.compact_revision)
  }
  if (reason.length > 0) {
    w.buf[w.pos++] = tagOf(6, LEN)
    w.bytes(reason)
  }
  if (m.fragment) {
    w.flag(7)
  }
  for (const e of m.events) {
    // Field 11: a one-byte tag (11 << 3 | 2 = 90).
    w.buf[w.pos++] = tagOf(11, LEN)
    w.varint(eventSize(e))
    writeEvent(w, e)
  }
}

const keepAliveSize = (m: LeaseKeepAliveResponse): number => {
  let n = fieldSize(headerSize(m.header))
  if (m.ID !== 0) n += 1 + varintSize(m.ID)
  if (m.TTL !== 0) n += 1 + varintSize(m.TTL)
  return n
}

const writeKeepAlive = (w: ProtoWriter, m: LeaseKeepAliveResponse): void => {
  writeHeader(w, 1, m.header, headerSize(m.header))
  if (m.ID !== 0) {
    w.uintField(2, m.ID)
  }
  if (m.TTL !== 0) {
    w.uintField(3, m.TTL)
  }
}

/** A message as a gRPC length-prefixed frame: flag 0, u32 length, body. */
const framed = <M>(m: M, size: number, write: (w: ProtoWriter, m: M) => void): Buffer => {
  const w = new ProtoWriter(5 + size)
  w.buf[0] = 0
  w.buf.writeUInt32BE(size, 1)
  w.pos = 5
  write(w, m)
  if (w.pos !== 5 + size)
    throw new Error(`protobuf size mismatch: ${w.pos - 5} written, ${size} computed`)
  return w.buf
}

export const frameRangeResponse = (m: RangeResponse): Buffer => framed(m, rangeSize(m), writeRange)
export const framePutResponse = (m: PutResponse): Buffer => framed(m, putSize(m), writePut)
export const frameDeleteResponse = (m: DeleteRangeResponse): Buffer =>
  framed(m, deleteSize(m), writeDelete)
export const frameTxnResponse = (m: TxnResponse): Buffer => framed(m, txnSize(m), writeTxn)
export const frameKeepAliveResponse = (m: LeaseKeepAliveResponse): Buffer =>
  framed(m, keepAliveSize(m), writeKeepAlive)
export const frameWatchResponse = (m: WatchResponse): Buffer => {
  const reason = m.cancel_reason === "" ? EMPTY : utf8.encode(m.cancel_reason)
  return framed(m, watchSize(m, reason), (w, x) => writeWatch(w, x, reason))
}

/** SnapshotResponse {remaining_bytes = 2, blob = 3} (etcd 3.4 sets no header). */
export const frameSnapshotResponse = (remaining: number, blob: Uint8Array): Buffer =>
  framed(
    blob,
    (remaining === 0 ? 0 : 1 + varintSize(remaining)) +
      (blob.length === 0 ? 0 : fieldSize(blob.length)),
    (w, b) => {
      if (remaining !== 0) w.uintField(2, remaining)
      if (b.length > 0) {
        w.buf[w.pos++] = tagOf(3, LEN)
        w.bytes(b)
      }
    },
  )
