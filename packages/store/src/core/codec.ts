// Compact binary encodings: log entries (what the Raft log carries) and
// snapshots of the whole state machine. Varints for integers (zigzag for the
// signed ones), length-prefixed bytes, a CRC-32 over each snapshot. Decoding
// checks everything and fails with a CodecError naming what is wrong; decoded
// byte fields are views into the input (no copies).
import { EMPTY } from "./bytes.ts"
import { CRC_INIT, crc32, crcFinish, crcUpdate } from "./crc32.ts"
import { MvccStore, type StoreConfig, type StoreState } from "./mvcc.ts"
import type {
  AlarmMember,
  AlarmType,
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  InternalRequest,
  KeyValue,
  PutRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
} from "./types.ts"

export class CodecError extends Error {
  override readonly name = "CodecError"
}

/** The smallest integer `Writer.int` encodes. */
const MIN_INT = -(2 ** 52)

export class Writer {
  private buf: Uint8Array
  private pos = 0

  /** A writer with `initial` bytes of room, or writing into `initial` (grown by copying if too small). */
  constructor(initial: number | Uint8Array = 256) {
    this.buf = typeof initial === "number" ? new Uint8Array(initial) : initial
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  u8(v: number): void {
    this.ensure(1)
    this.buf[this.pos++] = v
  }

  /** Unsigned varint of a non-negative safe integer. */
  uint(v: number): void {
    // Anything else would be written as bytes that decode to another number.
    if (!(v >= 0 && Number.isSafeInteger(v))) {
      throw new CodecError(`${v} is not a non-negative safe integer`)
    }
    this.varint(v)
  }

  /** A varint of a non-negative integer below 2^54 (exact in a double). */
  private varint(v: number): void {
    this.ensure(8)
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.pos++] = v
  }

  /**
   * Zigzag varint of a safe integer at least -2^52 (the zigzag code of a
   * non-negative safe integer is even and below 2^54, so still exact in a double).
   */
  int(v: number): void {
    if (v < MIN_INT) throw new CodecError(`${v} is below the smallest encodable integer`)
    if (!Number.isSafeInteger(v)) throw new CodecError(`${v} is not a safe integer`)
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1)
  }

  bytes(b: Uint8Array): void {
    this.uint(b.length)
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos)
  }

  /** The bytes written so far, without copying. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos)
  }
}

export class Reader {
  private readonly buf: Uint8Array
  pos = 0
  readonly end: number

  constructor(buf: Uint8Array, end: number = buf.length) {
    this.buf = buf
    this.end = end
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) throw new CodecError(`truncated input reading ${what}`)
  }

  u8(what: string): number {
    this.need(1, what)
    return this.buf[this.pos++]!
  }

  uint(what: string): number {
    const v = this.varint(what)
    if (!Number.isSafeInteger(v)) throw new CodecError(`${what}: not a safe integer`)
    return v
  }

  /** A varint below 2^54 (zigzag codes of safe integers). */
  private varint(what: string): number {
    let v = 0
    let mul = 1
    for (let i = 0; ; i++) {
      this.need(1, what)
      const b = this.buf[this.pos++]!
      v += (b & 0x7f) * mul
      if (b < 0x80) break
      mul *= 0x80
      if (i >= 7) throw new CodecError(`${what}: varint longer than a safe integer`)
    }
    if (v >= 2 ** 54) throw new CodecError(`${what}: not a safe integer`)
    return v
  }

  int(what: string): number {
    const z = this.varint(what)
    if (z % 2 === 0) return z / 2
    if (z > -MIN_INT * 2) throw new CodecError(`${what}: below the smallest encodable integer`)
    return -(z + 1) / 2
  }

  bytes(what: string): Uint8Array {
    const n = this.uint(`${what} length`)
    this.need(n, what)
    const b = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return b
  }

  get done(): boolean {
    return this.pos >= this.end
  }
}

// ---------------------------------------------------------------------------
// Log entries

const SORT_ORDERS: ReadonlyArray<SortOrder> = ["NONE", "ASCEND", "DESCEND"]
const SORT_TARGETS: ReadonlyArray<SortTarget> = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"]
const COMPARE_RESULTS: ReadonlyArray<CompareResult> = ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"]
const COMPARE_TARGETS: ReadonlyArray<CompareTarget> = ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"]

const enumIndex = <T>(values: ReadonlyArray<T>, v: T | undefined, fallback: T): number => {
  const i = values.indexOf(v ?? fallback)
  return Math.max(i, 0)
}

const enumAt = <T>(values: ReadonlyArray<T>, i: number, what: string): T => {
  const v = values[i]
  if (v === undefined) throw new CodecError(`${what}: unknown value ${i}`)
  return v
}

const T_PUT = 1
const T_DELETE = 2
const T_TXN = 3
const T_COMPACTION = 4
const T_LEASE_GRANT = 5
const T_LEASE_REVOKE = 6
const T_LEASE_KEEP_ALIVE = 7
const T_LEASE_EXPIRE = 8
const T_LEASE_PROMOTE = 9
const OP_RANGE = 10
const T_ALARM = 11

const ALARM_ACTIONS = ["ACTIVATE", "DEACTIVATE"] as const
/** etcd's AlarmType values, in its protobuf enum's order (also our log's and snapshots' numbers). */
export const ALARM_TYPES = ["NONE", "NOSPACE", "CORRUPT"] as const

/** An alarm's member ID as two 32-bit halves, then its type's number. */
const writeAlarmMember = (w: Writer, a: { memberID: bigint; alarm: AlarmType }): void => {
  w.uint(Number(a.memberID >> 32n))
  w.uint(Number(a.memberID & 0xffffffffn))
  w.u8(ALARM_TYPES.indexOf(a.alarm))
}

const readAlarmMember = (r: Reader): AlarmMember => {
  const hi = r.uint("alarm member ID (high)")
  const lo = r.uint("alarm member ID (low)")
  if (hi > 0xffffffff || lo > 0xffffffff) throw new CodecError("alarm member ID: not a uint64")
  const type = r.u8("alarm type")
  const alarm = ALARM_TYPES[type]
  if (alarm === undefined) throw new CodecError(`alarm type: unknown value ${type}`)
  return { memberID: (BigInt(hi) << 32n) | BigInt(lo), alarm }
}

const alarmMemberSize = (a: AlarmMember): number =>
  uintSize(Number(a.memberID >> 32n)) + uintSize(Number(a.memberID & 0xffffffffn)) + 1

const writePut = (w: Writer, p: PutRequest): void => {
  w.u8(
    (p.prev_kv === true ? 1 : 0) |
      (p.ignore_value === true ? 2 : 0) |
      (p.ignore_lease === true ? 4 : 0),
  )
  w.bytes(p.key)
  w.bytes(p.value ?? EMPTY)
  w.int(p.lease ?? 0)
}

const readPut = (r: Reader): PutRequest => {
  const flags = r.u8("put flags")
  const key = r.bytes("put key")
  const value = r.bytes("put value")
  const lease = r.int("put lease")
  return {
    key,
    value,
    lease,
    prev_kv: (flags & 1) !== 0,
    ignore_value: (flags & 2) !== 0,
    ignore_lease: (flags & 4) !== 0,
  }
}

const writeDelete = (w: Writer, d: DeleteRangeRequest): void => {
  w.u8(d.prev_kv === true ? 1 : 0)
  w.bytes(d.key)
  w.bytes(d.range_end ?? EMPTY)
}

const readDelete = (r: Reader): DeleteRangeRequest => {
  const flags = r.u8("delete flags")
  return {
    prev_kv: (flags & 1) !== 0,
    key: r.bytes("delete key"),
    range_end: r.bytes("delete range_end"),
  }
}

const writeRange = (w: Writer, q: RangeRequest): void => {
  w.u8(
    (q.serializable === true ? 1 : 0) |
      (q.keys_only === true ? 2 : 0) |
      (q.count_only === true ? 4 : 0),
  )
  w.bytes(q.key)
  w.bytes(q.range_end ?? EMPTY)
  w.int(q.limit ?? 0)
  w.int(q.revision ?? 0)
  w.u8(enumIndex(SORT_ORDERS, q.sort_order, "NONE"))
  w.u8(enumIndex(SORT_TARGETS, q.sort_target, "KEY"))
  w.int(q.min_mod_revision ?? 0)
  w.int(q.max_mod_revision ?? 0)
  w.int(q.min_create_revision ?? 0)
  w.int(q.max_create_revision ?? 0)
}

const readRange = (r: Reader): RangeRequest => {
  const flags = r.u8("range flags")
  return {
    serializable: (flags & 1) !== 0,
    keys_only: (flags & 2) !== 0,
    count_only: (flags & 4) !== 0,
    key: r.bytes("range key"),
    range_end: r.bytes("range range_end"),
    limit: r.int("range limit"),
    revision: r.int("range revision"),
    sort_order: enumAt(SORT_ORDERS, r.u8("sort_order"), "range sort_order"),
    sort_target: enumAt(SORT_TARGETS, r.u8("sort_target"), "range sort_target"),
    min_mod_revision: r.int("range min_mod_revision"),
    max_mod_revision: r.int("range max_mod_revision"),
    min_create_revision: r.int("range min_create_revision"),
    max_create_revision: r.int("range max_create_revision"),
  }
}

const writeCompare = (w: Writer, c: Compare): void => {
  const target = c.target ?? "VERSION"
  w.u8(enumIndex(COMPARE_RESULTS, c.result, "EQUAL"))
  w.u8(enumIndex(COMPARE_TARGETS, target, "VERSION"))
  w.bytes(c.key)
  w.bytes(c.range_end ?? EMPTY)
  switch (target) {
    case "VALUE":
      w.bytes(c.value ?? EMPTY)
      break
    case "CREATE":
      w.int(c.create_revision ?? 0)
      break
    case "MOD":
      w.int(c.mod_revision ?? 0)
      break
    case "LEASE":
      w.int(c.lease ?? 0)
      break
    default:
      w.int(c.version ?? 0)
  }
}

const readCompare = (r: Reader): Compare => {
  const result = enumAt(COMPARE_RESULTS, r.u8("compare result"), "compare result")
  const target = enumAt(COMPARE_TARGETS, r.u8("compare target"), "compare target")
  const key = r.bytes("compare key")
  const range_end = r.bytes("compare range_end")
  switch (target) {
    case "VALUE":
      return { result, target, key, range_end, value: r.bytes("compare value") }
    case "CREATE":
      return { result, target, key, range_end, create_revision: r.int("compare create_revision") }
    case "MOD":
      return { result, target, key, range_end, mod_revision: r.int("compare mod_revision") }
    case "LEASE":
      return { result, target, key, range_end, lease: r.int("compare lease") }
    default:
      return { result, target, key, range_end, version: r.int("compare version") }
  }
}

const writeOps = (w: Writer, ops: ReadonlyArray<RequestOp>): void => {
  w.uint(ops.length)
  for (const op of ops) {
    if ("request_range" in op) {
      w.u8(OP_RANGE)
      writeRange(w, op.request_range)
    } else if ("request_put" in op) {
      w.u8(T_PUT)
      writePut(w, op.request_put)
    } else if ("request_delete_range" in op) {
      w.u8(T_DELETE)
      writeDelete(w, op.request_delete_range)
    } else {
      w.u8(T_TXN)
      writeTxn(w, op.request_txn)
    }
  }
}

/**
 * Deepest txn nesting a log entry may carry: above what the API accepts (etcd's
 * op budget, 128 levels), so that every txn it accepts can be logged.
 */
const MAX_DEPTH = 256

const readOps = (r: Reader, depth: number): RequestOp[] => {
  const n = r.uint("txn op count")
  const ops: RequestOp[] = []
  for (let i = 0; i < n; i++) {
    const tag = r.u8("txn op type")
    switch (tag) {
      case OP_RANGE:
        ops.push({ request_range: readRange(r) })
        break
      case T_PUT:
        ops.push({ request_put: readPut(r) })
        break
      case T_DELETE:
        ops.push({ request_delete_range: readDelete(r) })
        break
      case T_TXN:
        ops.push({ request_txn: readTxn(r, depth + 1) })
        break
      default:
        throw new CodecError(`txn op type: unknown value ${tag}`)
    }
  }
  return ops
}

const writeTxn = (w: Writer, t: TxnRequest): void => {
  const compare = t.compare ?? []
  w.uint(compare.length)
  for (const c of compare) writeCompare(w, c)
  writeOps(w, t.success ?? [])
  writeOps(w, t.failure ?? [])
}

const readTxn = (r: Reader, depth: number): TxnRequest => {
  if (depth > MAX_DEPTH) throw new CodecError(`txn nested deeper than ${MAX_DEPTH}`)
  const n = r.uint("compare count")
  const compare: Compare[] = []
  for (let i = 0; i < n; i++) compare.push(readCompare(r))
  const success = readOps(r, depth)
  const failure = readOps(r, depth)
  return { compare, success, failure }
}

/** Encodes a log entry. */
export const encodeRequest = (
  req: InternalRequest,
  w: Writer = new Writer(
    req.put === undefined ? 128 : 32 + req.put.key.length + (req.put.value?.length ?? 0),
  ),
): Uint8Array => {
  w.uint(req.header.ID)
  w.int(req.header.now)
  if (req.put !== undefined) {
    w.u8(T_PUT)
    writePut(w, req.put)
  } else if (req.delete_range !== undefined) {
    w.u8(T_DELETE)
    writeDelete(w, req.delete_range)
  } else if (req.txn !== undefined) {
    w.u8(T_TXN)
    writeTxn(w, req.txn)
  } else if (req.compaction !== undefined) {
    w.u8(T_COMPACTION)
    w.uint(req.compaction.revision)
    w.u8(req.compaction.physical === true ? 1 : 0)
  } else if (req.lease_grant !== undefined) {
    w.u8(T_LEASE_GRANT)
    w.int(req.lease_grant.TTL)
    w.int(req.lease_grant.ID ?? 0)
  } else if (req.lease_revoke !== undefined) {
    w.u8(T_LEASE_REVOKE)
    w.int(req.lease_revoke.ID)
  } else if (req.lease_keep_alive !== undefined) {
    w.u8(T_LEASE_KEEP_ALIVE)
    w.int(req.lease_keep_alive.ID)
  } else if (req.lease_expire !== undefined) {
    w.u8(T_LEASE_EXPIRE)
    w.uint(req.lease_expire.IDs.length)
    for (const id of req.lease_expire.IDs) w.int(id)
  } else if (req.lease_promote !== undefined) {
    w.u8(T_LEASE_PROMOTE)
  } else if (req.alarm !== undefined) {
    w.u8(T_ALARM)
    w.u8(ALARM_ACTIONS.indexOf(req.alarm.action))
    writeAlarmMember(w, req.alarm)
  } else {
    throw new CodecError("log entry carries no request")
  }
  return w.finish()
}

/** Decodes a log entry; throws CodecError on malformed input. */
export const decodeRequest = (b: Uint8Array): InternalRequest => {
  const r = new Reader(b)
  const header = { ID: r.uint("header ID"), now: r.int("header now") }
  const tag = r.u8("request type")
  let req: InternalRequest
  switch (tag) {
    case T_PUT:
      req = { header, put: readPut(r) }
      break
    case T_DELETE:
      req = { header, delete_range: readDelete(r) }
      break
    case T_TXN:
      req = { header, txn: readTxn(r, 0) }
      break
    case T_COMPACTION:
      req = {
        header,
        compaction: { revision: r.uint("compaction revision"), physical: r.u8("physical") === 1 },
      }
      break
    case T_LEASE_GRANT:
      req = { header, lease_grant: { TTL: r.int("lease TTL"), ID: r.int("lease ID") } }
      break
    case T_LEASE_REVOKE:
      req = { header, lease_revoke: { ID: r.int("lease ID") } }
      break
    case T_LEASE_KEEP_ALIVE:
      req = { header, lease_keep_alive: { ID: r.int("lease ID") } }
      break
    case T_LEASE_EXPIRE: {
      const n = r.uint("lease count")
      const IDs: number[] = []
      for (let i = 0; i < n; i++) IDs.push(r.int("lease ID"))
      req = { header, lease_expire: { IDs } }
      break
    }
    case T_LEASE_PROMOTE:
      req = { header, lease_promote: {} }
      break
    case T_ALARM: {
      const a = r.u8("alarm action")
      const action = ALARM_ACTIONS[a]
      if (action === undefined) throw new CodecError(`alarm action: unknown value ${a}`)
      req = { header, alarm: { action, ...readAlarmMember(r) } }
      break
    }
    default:
      throw new CodecError(`request type: unknown value ${tag}`)
  }
  if (!r.done) throw new CodecError(`${r.end - r.pos} trailing bytes after the request`)
  return req
}

// ---------------------------------------------------------------------------
// Snapshots

const MAGIC = [0x46, 0x4c, 0x53, 0x31] // "FLS1"

const writeKv = (w: Writer, kv: KeyValue, keyId: number): void => {
  w.uint(keyId)
  w.uint(kv.mod_revision)
  w.uint(kv.version)
  if (kv.version === 0) return
  w.uint(kv.create_revision)
  w.int(kv.lease)
  w.bytes(kv.value)
}

const readKv = (r: Reader, keys: ReadonlyArray<Uint8Array>): KeyValue => {
  const id = r.uint("key id")
  const key = keys[id]
  if (key === undefined) throw new CodecError(`key id ${id} outside the key table`)
  const mod_revision = r.uint("mod_revision")
  const version = r.uint("version")
  if (version === 0) {
    return { key, create_revision: 0, mod_revision, version: 0, value: EMPTY, lease: 0 }
  }
  const create_revision = r.uint("create_revision")
  const lease = r.int("lease")
  const value = r.bytes("value")
  return { key, create_revision, mod_revision, version, value, lease }
}

/** Bytes of `Writer.uint(v)`. */
export const uintSize = (v: number): number => {
  if (v < 0x80) return 1
  if (v < 0x4000) return 2
  if (v < 0x200000) return 3
  if (v < 0x10000000) return 4
  let n = 5
  for (v = Math.floor(v / 0x800000000); v > 0; v = Math.floor(v / 0x80)) n++
  return n
}

/** Bytes of `Writer.int(v)`. */
export const intSize = (v: number): number => uintSize(v >= 0 ? v * 2 : -v * 2 - 1)

const kvSize = (kv: KeyValue, keyId: number): number => {
  const n = uintSize(keyId) + uintSize(kv.mod_revision) + uintSize(kv.version)
  if (kv.version === 0) return n
  return (
    n +
    uintSize(kv.create_revision) +
    intSize(kv.lease) +
    uintSize(kv.value.length) +
    kv.value.length
  )
}

/** Versions or keys handled per step of `encodeSnapshotSteps` (a few milliseconds). */
const STEP = 4096
/** Bytes checksummed per step. */
const CRC_STEP_BYTES = 4 * 1024 * 1024

/**
 * `encodeSnapshot` in steps: each `next()` does about `STEP` versions' worth
 * of work (sizing, writing, checksumming), so a shell can spread a large
 * snapshot over many turns of its event loop while the store keeps changing:
 * `s` must be a captured state (`MvccStore.exportState`), which later writes
 * leave alone. The result is one buffer of exactly the right size, starting
 * with `header(snapshotBytes)` (a caller's framing, e.g. the replica's),
 * from `allocate` (a shell may skip zero-filling: every byte is written).
 */
export function* encodeSnapshotSteps(
  s: StoreState,
  header: (snapshotBytes: number) => Uint8Array = () => EMPTY,
  allocate: (bytes: number) => Uint8Array = (n) => new Uint8Array(n),
): Generator<void, Uint8Array, void> {
  const base = s.base
  const log = s.log
  const logLength = s.logLength
  // Pass 1: the key table (every version of a key shares one Uint8Array; ids
  // in order of first use, base then log) and the exact size.
  const ids = new Map<Uint8Array, number>()
  const table: Uint8Array[] = []
  // Each version's key id, found once (base first, then log).
  const keyIds = new Uint32Array(base.length + logLength)
  let size = MAGIC.length + uintSize(s.rev) + uintSize(s.compactRev) + intSize(s.time)
  size += uintSize(s.appliedIndex) + uintSize(s.leases.length)
  for (const l of s.leases) size += intSize(l.ID) + uintSize(l.ttl) + intSize(l.deadline)
  let keyBytes = 0
  const sizeOf = (kv: KeyValue, at: number): number => {
    let id = ids.get(kv.key)
    if (id === undefined) {
      id = table.length
      ids.set(kv.key, id)
      table.push(kv.key)
      keyBytes += uintSize(kv.key.length) + kv.key.length
    }
    keyIds[at] = id
    return kvSize(kv, id)
  }
  for (let i = 0; i < base.length; i++) {
    size += sizeOf(base[i]!, i)
    if (i % STEP === STEP - 1) yield
  }
  for (let i = 0; i < logLength; i++) {
    size += sizeOf(log[i]!, base.length + i)
    if (i % STEP === STEP - 1) yield
  }
  size += uintSize(table.length) + keyBytes + uintSize(base.length) + uintSize(logLength) + 4
  // Alarms, only when some are raised: a snapshot without them reads as before alarms existed.
  const alarms = s.alarms ?? []
  if (alarms.length > 0) {
    size += uintSize(alarms.length)
    for (const a of alarms) size += alarmMemberSize(a)
  }
  // Pass 2: write into a buffer of exactly that size (the Writer never grows).
  const head = header(size)
  const w = new Writer(allocate(head.length + size))
  w.raw(head)
  w.raw(new Uint8Array(MAGIC))
  w.uint(s.rev)
  w.uint(s.compactRev)
  w.int(s.time)
  w.uint(s.appliedIndex)
  w.uint(s.leases.length)
  for (const l of s.leases) {
    w.int(l.ID)
    w.uint(l.ttl)
    w.int(l.deadline)
  }
  w.uint(table.length)
  for (let i = 0; i < table.length; i++) {
    w.bytes(table[i]!)
    if (i % STEP === STEP - 1) yield
  }
  w.uint(base.length)
  for (let i = 0; i < base.length; i++) {
    writeKv(w, base[i]!, keyIds[i]!)
    if (i % STEP === STEP - 1) yield
  }
  w.uint(logLength)
  for (let i = 0; i < logLength; i++) {
    writeKv(w, log[i]!, keyIds[base.length + i]!)
    if (i % STEP === STEP - 1) yield
  }
  if (alarms.length > 0) {
    w.uint(alarms.length)
    for (const a of alarms) writeAlarmMember(w, a)
  }
  // Pass 3: the checksum of the snapshot's body, a slice per step.
  const out = w.view()
  let c = CRC_INIT
  for (let i = head.length; i < out.length; i += CRC_STEP_BYTES) {
    c = crcUpdate(c, out, i, Math.min(out.length, i + CRC_STEP_BYTES))
    yield
  }
  const crc = crcFinish(c)
  w.raw(new Uint8Array([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff]))
  const done = w.view()
  if (done.length !== head.length + size)
    throw new Error(`snapshot size: computed ${head.length + size} bytes, wrote ${done.length}`)
  return done
}

/** Runs a step generator to its end. */
export const runSteps = <A>(steps: Generator<void, A, void>): A => {
  for (;;) {
    const r = steps.next()
    if (r.done === true) return r.value
  }
}

/**
 * The whole state machine as bytes: revisions, logical time, applied index,
 * leases, and every retained version (keys stored once in a table).
 */
export const encodeSnapshot = (store: MvccStore): Uint8Array =>
  runSteps(encodeSnapshotSteps(store.exportState()))

/** Restores a store from a snapshot; throws CodecError on a damaged or malformed snapshot. */
export const decodeSnapshot = (b: Uint8Array, config: Partial<StoreConfig> = {}): MvccStore => {
  if (b.length < MAGIC.length + 4) throw new CodecError("snapshot too short")
  for (let i = 0; i < MAGIC.length; i++) {
    if (b[i] !== MAGIC[i]) throw new CodecError("not a store snapshot (bad magic)")
  }
  const bodyEnd = b.length - 4
  const stored =
    ((b[bodyEnd]! << 24) | (b[bodyEnd + 1]! << 16) | (b[bodyEnd + 2]! << 8) | b[bodyEnd + 3]!) >>> 0
  if (crc32(b, 0, bodyEnd) !== stored) throw new CodecError("snapshot checksum mismatch")
  const r = new Reader(b, bodyEnd)
  r.pos = MAGIC.length
  const rev = r.uint("rev")
  const compactRev = r.uint("compactRev")
  const time = r.int("time")
  const appliedIndex = r.uint("appliedIndex")
  const nLeases = r.uint("lease count")
  const leases: Array<{ ID: number; ttl: number; deadline: number }> = []
  for (let i = 0; i < nLeases; i++) {
    leases.push({
      ID: r.int("lease ID"),
      ttl: r.uint("lease ttl"),
      deadline: r.int("lease deadline"),
    })
  }
  const nKeys = r.uint("key count")
  const keys: Uint8Array[] = []
  // Keys are copied out: a restored store must not pin the snapshot buffer through them.
  for (let i = 0; i < nKeys; i++) keys.push(r.bytes("key").slice())
  const nBase = r.uint("base count")
  const base: KeyValue[] = []
  for (let i = 0; i < nBase; i++) base.push(readKv(r, keys))
  const nLog = r.uint("log count")
  const log: KeyValue[] = []
  let last = 0
  for (let i = 0; i < nLog; i++) {
    const kv = readKv(r, keys)
    if (kv.mod_revision < last || kv.mod_revision < compactRev || kv.mod_revision > rev) {
      throw new CodecError(`log entry ${i}: revision ${kv.mod_revision} out of order`)
    }
    last = kv.mod_revision
    log.push(kv)
  }
  const alarms: AlarmMember[] = []
  if (!r.done) {
    const n = r.uint("alarm count")
    for (let i = 0; i < n; i++) alarms.push(readAlarmMember(r))
  }
  if (!r.done) throw new CodecError("trailing bytes in snapshot")
  const state: StoreState = {
    alarms,
    rev,
    compactRev,
    time,
    appliedIndex,
    leases,
    base,
    log,
    logLength: log.length,
  }
  return MvccStore.importState(state, config)
}
