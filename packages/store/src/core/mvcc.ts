// The MVCC state machine: etcd's mvcc store and lessor as one pure,
// deterministic object. Every replica applies the same log entries in the same
// order and ends in the same state; nothing here reads a clock (time arrives in
// each entry's header) or chooses anything at random (lease IDs come with the
// request).
//
// Revisions: every write transaction that changes something takes the next
// main revision; its changes are numbered by their order inside it (the sub
// revision), which is their order in the change log.
import { compareBytes, EMPTY, type KeyRange, keyRange, toBinary } from "./bytes.ts"
import { CRC_INIT, crcFinish, crcStep } from "./crc32.ts"
import {
  ErrCompacted,
  ErrFutureRev,
  ErrKeyNotFound,
  ErrLeaseExist,
  ErrLeaseNotFound,
  ErrLeaseTTLTooLarge,
  ErrNoSpace,
  type EtcdFailure,
  invalidArgument,
  isEtcdFailure,
} from "./errors.ts"
import { KeyIndex, KeyTree } from "./keyindex.ts"
import type {
  AlarmChange,
  AlarmMember,
  AlarmResponse,
  CompactionRequest,
  CompactionResponse,
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  InternalRequest,
  InternalResponse,
  KeyValue,
  LeaseExpireRequest,
  LeaseExpireResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeasePromoteResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from "./types.ts"
import { checkTxn, DEFAULT_MAX_TXN_OPS } from "./validate.ts"

/** etcd's MaxLeaseTTL: 9,000,000,000 seconds. */
export const MAX_LEASE_TTL = 9_000_000_000

/** Configuration every replica must share (it changes what entries do). */
export interface StoreConfig {
  /** Granted TTLs are raised to this many seconds (etcd: 1.5 election timeouts, 2 s by default). */
  readonly minLeaseTTL: number
  readonly maxTxnOps: number
  /**
   * etcd's --quota-backend-bytes, against `sizeBytes`: a write that would
   * reach it raises NOSPACE and is refused (checked where it is proposed);
   * 0: no quota.
   */
  readonly quotaBackendBytes: number
}

/** etcd's default backend quota: 2 GiB. */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024

export const defaultStoreConfig: StoreConfig = {
  minLeaseTTL: 2,
  maxTxnOps: DEFAULT_MAX_TXN_OPS,
  quotaBackendBytes: DEFAULT_QUOTA_BACKEND_BYTES,
}

/** A lease as the state machine holds it. */
export interface Lease {
  readonly ID: number
  /** Granted TTL in seconds (after raising to the minimum). */
  readonly ttl: number
  /** Expiry deadline in the store's logical time (milliseconds). */
  deadline: number
  /** Attached keys (binary strings). */
  readonly keys: Set<string>
}

const emptyArray: ReadonlyArray<never> = Object.freeze([])

export class MvccStore {
  readonly config: StoreConfig
  private currentRev = 1
  private compactedRev = 0
  private time = 0
  private readonly index = new Map<string, KeyIndex>()
  private readonly tree = new KeyTree()
  /**
   * The change log: every version and tombstone with mod_revision >= the compact
   * revision, in (main, sub) order, with its key (parallel arrays: no wrapper objects).
   */
  private logKv: KeyValue[] = []
  private logKi: KeyIndex[] = []
  private readonly leaseMap = new Map<number, Lease>()
  /** Log index of the last applied entry, kept for the Raft shell (etcd's consistent index). */
  appliedIndex = 0
  /** Approximate bytes held by retained versions (etcd's db size). */
  private bytes = 0
  /** Raised alarms (etcd's alarm bucket), in the order they were raised. */
  private alarmList: AlarmMember[] = []

  // The write transaction in progress: its main revision, and whether it changed anything.
  private writeRev = 0
  private wrote = false

  constructor(config: Partial<StoreConfig> = {}) {
    this.config = { ...defaultStoreConfig, ...config }
  }

  /** The current revision: that of the last write. A fresh store is at revision 1. */
  get rev(): number {
    return this.currentRev
  }

  /** The last compaction revision (0 before any); reads below it fail. */
  get compactRev(): number {
    return this.compactedRev
  }

  /** The logical time of the last applied entry (milliseconds, the leaders' clocks). */
  get now(): number {
    return this.time
  }

  /** Approximate bytes held by retained versions and keys. */
  get sizeBytes(): number {
    return this.bytes
  }

  /** Number of keys in the index (deleted keys included until compacted away). */
  /** The alarms raised and not cleared. */
  get alarms(): ReadonlyArray<AlarmMember> {
    return this.alarmList
  }

  /** Raises or clears an alarm; answers the alarm changed (none if it was so already). */
  private changeAlarm(c: AlarmChange): AlarmResponse {
    const header = { revision: this.currentRev }
    const at = this.alarmList.findIndex((a) => a.memberID === c.memberID && a.alarm === c.alarm)
    const member: AlarmMember = { memberID: c.memberID, alarm: c.alarm }
    if (c.action === "ACTIVATE") {
      if (at >= 0 || c.alarm === "NONE") return { header, alarms: [] }
      this.alarmList = [...this.alarmList, member]
      return { header, alarms: [member] }
    }
    if (at < 0) return { header, alarms: [] }
    this.alarmList = this.alarmList.filter((_, i) => i !== at)
    return { header, alarms: [member] }
  }

  get keyCount(): number {
    return this.tree.size
  }

  // -------------------------------------------------------------------------
  // Applying log entries

  /** Applies one log entry; deterministic in (state, entry). */
  apply(req: InternalRequest): InternalResponse | EtcdFailure {
    const now = req.header.now
    if (req.lease_promote !== undefined) return this.leasePromote(now)
    if (now > this.time) this.time = now
    if (req.alarm !== undefined) return this.changeAlarm(req.alarm)
    // etcd's capped applier: while a NOSPACE alarm is raised, what would grow
    // the store is refused (deletes, reads and compactions still run).
    if (
      this.alarmList.some((a) => a.alarm === "NOSPACE") &&
      (req.put !== undefined ||
        req.lease_grant !== undefined ||
        (req.txn !== undefined && quotaCost({ txn: req.txn }) > 0))
    )
      return ErrNoSpace
    if (req.put !== undefined) return this.put(req.put)
    if (req.delete_range !== undefined) return this.deleteRange(req.delete_range)
    if (req.txn !== undefined) return this.txn(req.txn)
    if (req.compaction !== undefined) return this.compact(req.compaction)
    if (req.lease_grant !== undefined) return this.leaseGrant(req.lease_grant)
    if (req.lease_revoke !== undefined) return this.leaseRevoke(req.lease_revoke)
    if (req.lease_keep_alive !== undefined) return this.leaseKeepAlive(req.lease_keep_alive)
    if (req.lease_expire !== undefined) return this.leaseExpire(req.lease_expire)
    return invalidArgument("request", "the log entry carries no request")
  }

  // -------------------------------------------------------------------------
  // Reads

  /** A range at the current revision, or at `revision` if set. */
  range(r: RangeRequest): RangeResponse | EtcdFailure {
    return this.rangeAt(r, this.currentRev)
  }

  /** `current` is the revision read when the request names none (the txn's in-progress revision inside a txn). */
  private rangeAt(r: RangeRequest, current: number): RangeResponse | EtcdFailure {
    const asked = r.revision ?? 0
    let rev = current
    if (asked > 0) {
      if (asked > this.currentRev) return ErrFutureRev
      if (asked < this.compactedRev) return ErrCompacted
      rev = asked
    }
    const kr = keyRange(r.key, r.range_end)
    const limit = r.limit !== undefined && r.limit > 0 ? r.limit : 0
    const minMod = r.min_mod_revision ?? 0
    const maxMod = r.max_mod_revision ?? 0
    const minCreate = r.min_create_revision ?? 0
    const maxCreate = r.max_create_revision ?? 0
    const filtered = minMod !== 0 || maxMod !== 0 || minCreate !== 0 || maxCreate !== 0
    const target = r.sort_target ?? "KEY"
    let order = r.sort_order ?? "NONE"
    // Keys come out in ascending key order; sorting by another target without an
    // order means ascending (etcd's rule), and ascending by key is already done.
    if (order === "NONE" && target !== "KEY") order = "ASCEND"
    else if (order === "ASCEND" && target === "KEY") order = "NONE"
    // Without sorting or filtering, one kv beyond the limit tells `more`.
    const keep =
      r.count_only === true ? 0 : order === "NONE" && !filtered && limit > 0 ? limit + 1 : -1
    const kvs: KeyValue[] = []
    const count = this.collect(kr, rev, keep, kvs)
    let out = kvs
    if (filtered) {
      out = out.filter(
        (kv) =>
          (maxMod === 0 || kv.mod_revision <= maxMod) &&
          (minMod === 0 || kv.mod_revision >= minMod) &&
          (maxCreate === 0 || kv.create_revision <= maxCreate) &&
          (minCreate === 0 || kv.create_revision >= minCreate),
      )
    }
    if (order !== "NONE") sortKvs(out, target, order === "DESCEND")
    let more = false
    if (limit > 0 && out.length > limit) {
      out.length = limit
      more = true
    }
    if (r.keys_only === true) out = out.map(keysOnly)
    // etcd answers with the revision of the store (or txn) read from, whatever revision was asked.
    return { header: { revision: current }, kvs: out, more, count }
  }

  /** Pushes up to `keep` (-1: all) live kvs of the range at `rev` into `out`; returns the count of live keys. */
  private collect(kr: KeyRange, rev: number, keep: number, out: KeyValue[]): number {
    if (kr.end === undefined) {
      const kv = this.index.get(kr.start)?.live(rev)
      if (kv === undefined) return 0
      if (keep !== 0) out.push(kv)
      return 1
    }
    if (keep === 0) return this.tree.countLive(kr.start, kr.end, rev)
    if (keep < 0) {
      this.tree.forRange(kr.start, kr.end, (ki) => {
        const kv = ki.live(rev)
        if (kv !== undefined) out.push(kv)
        return true
      })
      return out.length
    }
    // The first `keep` live keys, then the rest counted from chunk summaries
    // (etcd's count is every live key of the range, whatever the limit).
    let last: KeyIndex | undefined
    this.tree.forRange(kr.start, kr.end, (ki) => {
      const kv = ki.live(rev)
      if (kv === undefined) return true
      out.push(kv)
      if (out.length < keep) return true
      last = ki
      return false
    })
    // The smallest key after `last` is `last` followed by a zero byte.
    return last === undefined
      ? out.length
      : out.length + this.tree.countLive(`${last.key}\0`, kr.end, rev)
  }

  // -------------------------------------------------------------------------
  // Writes. Each public write is its own write transaction; txn runs several
  // operations inside one.

  private begin(): void {
    this.writeRev = this.currentRev + 1
    this.wrote = false
  }

  private end(): number {
    if (this.wrote) this.currentRev = this.writeRev
    this.writeRev = 0
    this.wrote = false
    return this.currentRev
  }

  put(p: PutRequest): PutResponse | EtcdFailure {
    // etcd's order for a put of its own: the lease, then the key (checkPut, for
    // a txn's puts, is the other way round).
    const lease = p.lease ?? 0
    if (lease !== 0 && !this.leaseMap.has(lease)) return ErrLeaseNotFound
    const failure = this.checkPut(p)
    if (failure !== undefined) return failure
    this.begin()
    const prev = this.doPut(p)
    const revision = this.end()
    return p.prev_kv === true && prev !== undefined
      ? { header: { revision }, prev_kv: prev }
      : { header: { revision } }
  }

  /** State checks of a put, made before anything is written. */
  private checkPut(p: PutRequest): EtcdFailure | undefined {
    if (p.ignore_value === true || p.ignore_lease === true) {
      if (this.latestLive(toBinary(p.key)) === undefined) return ErrKeyNotFound
    }
    const lease = p.lease ?? 0
    if (lease !== 0 && !this.leaseMap.has(lease)) return ErrLeaseNotFound
    return undefined
  }

  private latestLive(key: string): KeyValue | undefined {
    const ki = this.index.get(key)
    if (ki === undefined) return undefined
    const last = ki.revs[ki.revs.length - 1]
    return last === undefined || last.version === 0 ? undefined : last
  }

  /** Writes a checked put into the transaction in progress; returns the previous live version. */
  private doPut(p: PutRequest): KeyValue | undefined {
    const rev = this.writeRev
    const k = toBinary(p.key)
    let ki = this.index.get(k)
    if (ki === undefined) {
      // Copy: the caller's buffer may be a view into a larger message buffer.
      ki = new KeyIndex(k, p.key.slice())
      this.index.set(k, ki)
      this.tree.insert(ki)
    }
    const revs = ki.revs
    const last = revs[revs.length - 1]
    const prev = last === undefined || last.version === 0 ? undefined : last
    const value = p.ignore_value === true && prev !== undefined ? prev.value : (p.value ?? EMPTY)
    const lease = p.ignore_lease === true && prev !== undefined ? prev.lease : (p.lease ?? 0)
    const kv: KeyValue = {
      key: ki.bytes,
      create_revision: prev === undefined ? rev : prev.create_revision,
      mod_revision: rev,
      version: prev === undefined ? 1 : prev.version + 1,
      value,
      lease,
    }
    revs.push(kv)
    this.tree.changed(ki, prev === undefined ? 1 : 0, rev)
    this.logKv.push(kv)
    this.logKi.push(ki)
    this.bytes += versionBytes(kv)
    if (prev !== undefined && prev.lease !== 0 && prev.lease !== lease) {
      this.leaseMap.get(prev.lease)?.keys.delete(k)
    }
    if (lease !== 0) this.leaseMap.get(lease)?.keys.add(k)
    this.wrote = true
    return prev
  }

  deleteRange(d: DeleteRangeRequest): DeleteRangeResponse | EtcdFailure {
    this.begin()
    const prevKvs: KeyValue[] = []
    const deleted = this.doDelete(keyRange(d.key, d.range_end), prevKvs)
    const revision = this.end()
    return { header: { revision }, deleted, prev_kvs: d.prev_kv === true ? prevKvs : emptyArray }
  }

  /** Deletes the live keys of a range in the transaction in progress; returns how many. */
  private doDelete(kr: KeyRange, prevKvs: KeyValue[]): number {
    const rev = this.writeRev
    if (kr.end === undefined) {
      const ki = this.index.get(kr.start)
      if (ki === undefined) return 0
      return this.tombstone(ki, rev, prevKvs)
    }
    let n = 0
    this.tree.forRange(kr.start, kr.end, (ki) => {
      n += this.tombstone(ki, rev, prevKvs)
      return true
    })
    return n
  }

  private tombstone(ki: KeyIndex, rev: number, prevKvs: KeyValue[]): number {
    const revs = ki.revs
    const last = revs[revs.length - 1]
    if (last === undefined || last.version === 0) return 0
    const kv: KeyValue = {
      key: ki.bytes,
      create_revision: 0,
      mod_revision: rev,
      version: 0,
      value: EMPTY,
      lease: 0,
    }
    revs.push(kv)
    this.tree.changed(ki, -1, rev)
    this.logKv.push(kv)
    this.logKi.push(ki)
    this.bytes += versionBytes(kv)
    if (last.lease !== 0) this.leaseMap.get(last.lease)?.keys.delete(ki.key)
    prevKvs.push(last)
    this.wrote = true
    return 1
  }

  txn(t: TxnRequest): TxnResponse | EtcdFailure {
    const invalid = checkTxn(t, this.config.maxTxnOps)
    if (invalid !== undefined) return invalid
    // Choose every branch (nested txns included) against the state before the
    // txn, as etcd does, and check the chosen operations before writing anything,
    // so that execution cannot fail half way: every put first, then every range
    // (etcd's order, which decides the error when both would fail).
    const path: boolean[] = []
    this.choosePath(t, path)
    const failure =
      this.checkChosen(t, path, { i: 0 }, this.checkPutOp) ??
      this.checkChosen(t, path, { i: 0 }, this.checkRangeOp)
    if (failure !== undefined) return failure
    this.begin()
    const cursor = { i: 0 }
    const response = this.execTxn(t, path, cursor)
    this.end()
    return response
  }

  /** The branch each txn on the chosen path takes, in the order execTxn visits them. */
  private choosePath(t: TxnRequest, path: boolean[]): void {
    const succeeded = this.compares(t.compare ?? emptyArray)
    path.push(succeeded)
    for (const op of (succeeded ? t.success : t.failure) ?? emptyArray) {
      if ("request_txn" in op) this.choosePath(op.request_txn, path)
    }
  }

  /** `check` on every operation of the chosen path, in order; the first failure. */
  private checkChosen(
    t: TxnRequest,
    path: ReadonlyArray<boolean>,
    cursor: { i: number },
    check: (op: RequestOp) => EtcdFailure | undefined,
  ): EtcdFailure | undefined {
    const succeeded = path[cursor.i++]!
    for (const op of (succeeded ? t.success : t.failure) ?? emptyArray) {
      const failure =
        "request_txn" in op ? this.checkChosen(op.request_txn, path, cursor, check) : check(op)
      if (failure !== undefined) return failure
    }
    return undefined
  }

  private readonly checkPutOp = (op: RequestOp): EtcdFailure | undefined =>
    "request_put" in op ? this.checkPut(op.request_put) : undefined

  /**
   * etcd's check of a range inside a txn: a revision other than 0 must be at
   * most the current one and at least the first one kept (the compact
   * revision, -1 before any compaction), negatives included; a plain range
   * reads a negative revision as the current one.
   */
  private readonly checkRangeOp = (op: RequestOp): EtcdFailure | undefined => {
    if (!("request_range" in op)) return undefined
    const asked = op.request_range.revision ?? 0
    if (asked === 0) return undefined
    if (asked > this.currentRev) return ErrFutureRev
    if (asked < (this.compactedRev === 0 ? -1 : this.compactedRev)) return ErrCompacted
    return undefined
  }

  private execTxn(t: TxnRequest, path: boolean[], cursor: { i: number }): TxnResponse {
    const succeeded = path[cursor.i++]!
    const ops = (succeeded ? t.success : t.failure) ?? emptyArray
    const responses: ResponseOp[] = []
    for (const op of ops) {
      if ("request_range" in op) {
        const current = this.wrote ? this.writeRev : this.currentRev
        const r = this.rangeAt(op.request_range, current)
        // checkRangeOp made the revision checks; a failure here is a bug.
        if (isEtcdFailure(r)) throw new Error(`txn range failed after its checks: ${r.message}`)
        responses.push({ response_range: r })
      } else if ("request_put" in op) {
        const p = op.request_put
        const prev = this.doPut(p)
        const header = { revision: this.writeRev }
        responses.push({
          response_put:
            p.prev_kv === true && prev !== undefined ? { header, prev_kv: prev } : { header },
        })
      } else if ("request_delete_range" in op) {
        const d = op.request_delete_range
        const prevKvs: KeyValue[] = []
        const deleted = this.doDelete(keyRange(d.key, d.range_end), prevKvs)
        responses.push({
          response_delete_range: {
            header: { revision: this.wrote ? this.writeRev : this.currentRev },
            deleted,
            prev_kvs: d.prev_kv === true ? prevKvs : emptyArray,
          },
        })
      } else {
        responses.push({ response_txn: this.execTxn(op.request_txn, path, cursor) })
      }
    }
    return {
      header: { revision: this.wrote ? this.writeRev : this.currentRev },
      succeeded,
      responses,
    }
  }

  private compares(cs: ReadonlyArray<Compare>): boolean {
    for (const c of cs) if (!this.compare(c)) return false
    return true
  }

  /** etcd's applyCompare at the committed revision: every key of the range must satisfy it. */
  private compare(c: Compare): boolean {
    const kvs: KeyValue[] = []
    this.collect(keyRange(c.key, c.range_end), this.currentRev, -1, kvs)
    const target = c.target ?? "VERSION"
    if (kvs.length === 0) {
      // A missing key has no value to compare; its revisions, version and lease are 0.
      return target !== "VALUE" && compareKV(c, target, undefined)
    }
    for (const kv of kvs) if (!compareKV(c, target, kv)) return false
    return true
  }

  /**
   * Compaction at `revision`: reads below it fail from now on; each key keeps its
   * latest version at or below it (unless deleted before it) and everything after.
   */
  compact(c: CompactionRequest): CompactionResponse | EtcdFailure {
    const rev = c.revision
    if (rev <= this.compactedRev) return ErrCompacted
    if (rev > this.currentRev) return ErrFutureRev
    // Only keys written at or after the previous compaction have anything to drop,
    // and the log holds exactly those writes.
    const logKv = this.logKv
    const logKi = this.logKi
    let cut = 0
    const touched = new Set<KeyIndex>()
    for (let i = 0; i < logKv.length && logKv[i]!.mod_revision <= rev; i++) {
      touched.add(logKi[i]!)
      if (logKv[i]!.mod_revision < rev) cut = i + 1
    }
    for (const ki of touched) this.compactKey(ki, rev)
    if (cut > 0) {
      // New arrays, not splice: a captured state (exportState) keeps the old ones.
      this.logKv = logKv.slice(cut)
      this.logKi = logKi.slice(cut)
    }
    this.tree.compactChanges(rev)
    this.compactedRev = rev
    return { header: { revision: this.currentRev } }
  }

  private compactKey(ki: KeyIndex, rev: number): void {
    const revs = ki.revs
    // The latest version at or below rev.
    let i = revs.length - 1
    while (i >= 0 && revs[i]!.mod_revision > rev) i--
    if (i < 0) return
    let drop = i
    // A tombstone below rev hides nothing readable any more; one exactly at rev
    // stays so that a watch from rev still sees the deletion.
    if (revs[i]!.version === 0 && revs[i]!.mod_revision < rev) drop = i + 1
    if (drop > 0) {
      for (let j = 0; j < drop; j++) this.bytes -= versionBytes(revs[j]!)
      revs.splice(0, drop)
    }
    if (revs.length === 0) {
      this.index.delete(ki.key)
      this.tree.delete(ki.key)
    }
  }

  // -------------------------------------------------------------------------
  // Leases

  leaseGrant(g: LeaseGrantRequest): LeaseGrantResponse | EtcdFailure {
    const id = g.ID ?? 0
    // The proposer chooses the ID (so that every replica agrees); 0 cannot be applied.
    if (id === 0) return ErrLeaseNotFound
    if (g.TTL > MAX_LEASE_TTL) return ErrLeaseTTLTooLarge
    if (this.leaseMap.has(id)) return ErrLeaseExist
    const ttl = Math.max(g.TTL, this.config.minLeaseTTL)
    this.leaseMap.set(id, { ID: id, ttl, deadline: this.time + ttl * 1000, keys: new Set() })
    return { header: { revision: this.currentRev }, ID: id, TTL: ttl, error: "" }
  }

  leaseRevoke(r: LeaseRevokeRequest): LeaseRevokeResponse | EtcdFailure {
    const lease = this.leaseMap.get(r.ID)
    if (lease === undefined) return ErrLeaseNotFound
    this.begin()
    this.revoke(lease)
    return { header: { revision: this.end() } }
  }

  /** Deletes a lease's keys (in key order, inside the write in progress) and the lease. */
  private revoke(lease: Lease): void {
    const keys = [...lease.keys].sort()
    const sink: KeyValue[] = []
    for (const k of keys) this.doDelete({ start: k, end: undefined }, sink)
    this.leaseMap.delete(lease.ID)
  }

  leaseKeepAlive(k: LeaseKeepAliveRequest): LeaseKeepAliveResponse {
    const lease = this.leaseMap.get(k.ID)
    if (lease === undefined) return { header: { revision: this.currentRev }, ID: k.ID, TTL: 0 }
    lease.deadline = this.time + lease.ttl * 1000
    return { header: { revision: this.currentRev }, ID: k.ID, TTL: lease.ttl }
  }

  /** Expires the listed leases whose deadline has passed at the entry's time, in one revision. */
  leaseExpire(e: LeaseExpireRequest): LeaseExpireResponse {
    const expired: number[] = []
    this.begin()
    for (const id of e.IDs) {
      const lease = this.leaseMap.get(id)
      // Renewed or revoked since the leader decided: nothing to do.
      if (lease === undefined || lease.deadline > this.time) continue
      this.revoke(lease)
      expired.push(id)
    }
    return { header: { revision: this.end() }, expired }
  }

  /** A new leader's clock takes over: remaining TTLs are kept, measured from the last applied time. */
  private leasePromote(now: number): LeasePromoteResponse {
    const shift = now - this.time
    for (const lease of this.leaseMap.values()) lease.deadline += shift
    this.time = now
    return { header: { revision: this.currentRev } }
  }

  /** Time to live of a lease at time `now` (the reader's clock, in the store's time base). */
  leaseTimeToLive(r: LeaseTimeToLiveRequest, now: number = this.time): LeaseTimeToLiveResponse {
    const header = { revision: this.currentRev }
    const lease = this.leaseMap.get(r.ID)
    if (lease === undefined) return { header, ID: r.ID, TTL: -1, grantedTTL: 0, keys: emptyArray }
    const remaining = Math.max(0, Math.floor((lease.deadline - now) / 1000))
    const keys =
      r.keys === true
        ? [...lease.keys].sort().map((k) => this.index.get(k)?.bytes ?? EMPTY)
        : emptyArray
    return { header, ID: r.ID, TTL: remaining, grantedTTL: lease.ttl, keys }
  }

  leaseLeases(): LeaseLeasesResponse {
    const ids = [...this.leaseMap.keys()].sort((a, b) => a - b)
    return { header: { revision: this.currentRev }, leases: ids.map((ID) => ({ ID })) }
  }

  /** The lease, if granted and not revoked. */
  lease(id: number): Lease | undefined {
    return this.leaseMap.get(id)
  }

  /** IDs of the leases whose deadline is at or before `now`, in ID order (what a leader proposes to expire). */
  expiredLeases(now: number): number[] {
    const out: number[] = []
    for (const lease of this.leaseMap.values()) if (lease.deadline <= now) out.push(lease.ID)
    return out.sort((a, b) => a - b)
  }

  /** The earliest lease deadline, or undefined without leases (lets a shell sleep until then). */
  nextLeaseDeadline(): number | undefined {
    let next: number | undefined
    for (const lease of this.leaseMap.values()) {
      if (next === undefined || lease.deadline < next) next = lease.deadline
    }
    return next
  }

  /**
   * A hash of every retained version at or below `rev` (0: the current
   * revision), in key then revision order: equal on replicas that applied the
   * same entries and compacted at the same revision (etcd's HashKV).
   */
  hashKV(rev = 0): { readonly hash: number; readonly compactRevision: number } | EtcdFailure {
    const at = rev > 0 ? rev : this.currentRev
    if (at > this.currentRev) return ErrFutureRev
    if (at < this.compactedRev) return ErrCompacted
    let h = CRC_INIT
    const mix = (bytes: Uint8Array): void => {
      for (let i = 0; i < bytes.length; i++) h = crcStep(h, bytes[i]!)
    }
    const num = (n: number): void => {
      for (let i = 0; i < 7; i++) {
        h = crcStep(h, n % 256)
        n = Math.floor(n / 256)
      }
    }
    for (const ki of this.tree) {
      for (const kv of ki.revs) {
        if (kv.mod_revision > at) break
        mix(kv.key)
        num(kv.mod_revision)
        num(kv.create_revision)
        num(kv.version)
        num(kv.lease < 0 ? -kv.lease * 2 + 1 : kv.lease * 2)
        mix(kv.value)
      }
    }
    return { hash: crcFinish(h), compactRevision: this.compactedRev }
  }

  // -------------------------------------------------------------------------
  // The change log, for watchers.

  /** Index in the change log of the first change with mod_revision >= rev. */
  logIndexOf(rev: number): number {
    const log = this.logKv
    let lo = 0
    let hi = log.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (log[mid]!.mod_revision < rev) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  get logLength(): number {
    return this.logKv.length
  }

  logEntry(i: number): KeyValue {
    return this.logKv[i]!
  }

  logKey(i: number): KeyIndex {
    return this.logKi[i]!
  }

  // -------------------------------------------------------------------------
  // Snapshots (see snapshot.ts for the encoding)

  /**
   * @internal Everything a snapshot holds, captured: later writes leave it as
   * it is (versions are immutable, the change log is only appended to, and a
   * compaction replaces it). O(keys) after a compaction (the versions below
   * it), O(leases) otherwise.
   */
  exportState(): StoreState {
    // Versions below the compact revision (at most one per key) are not in the log.
    const base: KeyValue[] = []
    if (this.compactedRev > 0)
      this.tree.forRange("", "", (ki) => {
        const e = ki.revs[0]
        if (e !== undefined && e.mod_revision < this.compactedRev) base.push(e)
        return true
      })
    return {
      rev: this.currentRev,
      compactRev: this.compactedRev,
      time: this.time,
      appliedIndex: this.appliedIndex,
      leases: [...this.leaseMap.values()].map((l) => ({
        ID: l.ID,
        ttl: l.ttl,
        deadline: l.deadline,
      })),
      base,
      log: this.logKv,
      logLength: this.logKv.length,
      alarms: this.alarmList,
    }
  }

  /** @internal Rebuilds a store from exported state. */
  static importState(s: StoreState, config: Partial<StoreConfig> = {}): MvccStore {
    const store = new MvccStore(config)
    store.currentRev = s.rev
    store.compactedRev = s.compactRev
    store.time = s.time
    store.appliedIndex = s.appliedIndex
    store.alarmList = [...(s.alarms ?? [])]
    for (const l of s.leases) {
      store.leaseMap.set(l.ID, { ID: l.ID, ttl: l.ttl, deadline: l.deadline, keys: new Set() })
    }
    const add = (kv: KeyValue, logged: boolean): void => {
      const k = toBinary(kv.key)
      let ki = store.index.get(k)
      if (ki === undefined) {
        ki = new KeyIndex(k, kv.key)
        store.index.set(k, ki)
        store.tree.insert(ki)
      }
      // Share the key bytes among versions, as writes do.
      const stored: KeyValue = kv.key === ki.bytes ? kv : { ...kv, key: ki.bytes }
      ki.revs.push(stored)
      store.bytes += versionBytes(stored)
      if (logged) {
        store.logKv.push(stored)
        store.logKi.push(ki)
      }
    }
    for (const kv of s.base) add(kv, false)
    for (let i = 0; i < s.logLength; i++) add(s.log[i]!, true)
    // The log keeps every change at the compact revision, a key's history only
    // the last of them (a txn may put and then delete a key): trim as compact did.
    if (s.compactRev > 0) for (const ki of [...store.tree]) store.compactKey(ki, s.compactRev)
    store.tree.resummarize()
    // Reattach keys to leases from their latest versions.
    for (const ki of store.tree) {
      const last = ki.revs[ki.revs.length - 1]
      if (last !== undefined && last.version !== 0 && last.lease !== 0) {
        store.leaseMap.get(last.lease)?.keys.add(ki.key)
      }
    }
    return store
  }
}

/** The whole state of a store, as a snapshot carries it. */
export interface StoreState {
  readonly rev: number
  readonly compactRev: number
  readonly time: number
  readonly appliedIndex: number
  readonly leases: ReadonlyArray<{
    readonly ID: number
    readonly ttl: number
    readonly deadline: number
  }>
  /** Retained versions below the compact revision (at most one per key), in key order. */
  readonly base: ReadonlyArray<KeyValue>
  /**
   * The change log: versions and tombstones at or after the compact revision,
   * in (main, sub) order: its first `logLength` entries (later ones were
   * appended after the capture).
   */
  readonly log: ReadonlyArray<KeyValue>
  readonly logLength: number
  /** Raised alarms (none when absent: snapshots from before alarms). */
  readonly alarms?: ReadonlyArray<AlarmMember>
}

/** etcd's estimates of what a write adds to the store (its quota's Cost). */
const KV_OVERHEAD = 256
const LEASE_OVERHEAD = 64

/**
 * What a request would add to the store by etcd's quota rules: a put its
 * key, value and 256 bytes; a txn the larger of its branches' top-level
 * puts; a lease grant 64 bytes; anything else nothing.
 */
export const quotaCost = (req: {
  readonly put?: PutRequest
  readonly txn?: TxnRequest
  readonly lease_grant?: LeaseGrantRequest
}): number => {
  const putCost = (p: PutRequest) => KV_OVERHEAD + p.key.length + (p.value?.length ?? 0)
  if (req.put !== undefined) return putCost(req.put)
  if (req.lease_grant !== undefined) return LEASE_OVERHEAD
  if (req.txn === undefined) return 0
  const branch = (ops: ReadonlyArray<RequestOp> | undefined) => {
    let n = 0
    for (const op of ops ?? []) if ("request_put" in op) n += putCost(op.request_put)
    return n
  }
  return Math.max(branch(req.txn.success), branch(req.txn.failure))
}

/** A version's share of the store's size: key, value and bookkeeping. */
const versionBytes = (kv: KeyValue): number => kv.key.length + kv.value.length + 48

const keysOnly = (kv: KeyValue): KeyValue => ({ ...kv, value: EMPTY })

const compareKV = (c: Compare, target: string, kv: KeyValue | undefined): boolean => {
  let result: number
  switch (target) {
    case "VALUE":
      result = compareBytes(kv?.value ?? EMPTY, c.value ?? EMPTY)
      break
    case "CREATE":
      result = (kv?.create_revision ?? 0) - (c.create_revision ?? 0)
      break
    case "MOD":
      result = (kv?.mod_revision ?? 0) - (c.mod_revision ?? 0)
      break
    case "LEASE":
      result = (kv?.lease ?? 0) - (c.lease ?? 0)
      break
    default:
      result = (kv?.version ?? 0) - (c.version ?? 0)
  }
  switch (c.result ?? "EQUAL") {
    case "EQUAL":
      return result === 0
    case "NOT_EQUAL":
      return result !== 0
    case "GREATER":
      return result > 0
    case "LESS":
      return result < 0
  }
  return true
}

/** Stable sort: ties keep ascending key order (etcd leaves them unspecified). */
const sortKvs = (kvs: KeyValue[], target: string, descend: boolean): void => {
  let cmp: (a: KeyValue, b: KeyValue) => number
  switch (target) {
    case "VERSION":
      cmp = (a, b) => a.version - b.version
      break
    case "CREATE":
      cmp = (a, b) => a.create_revision - b.create_revision
      break
    case "MOD":
      cmp = (a, b) => a.mod_revision - b.mod_revision
      break
    case "VALUE":
      cmp = (a, b) => compareBytes(a.value, b.value)
      break
    default:
      cmp = (a, b) => compareBytes(a.key, b.key)
  }
  kvs.sort(descend ? (a, b) => cmp(b, a) : cmp)
}
