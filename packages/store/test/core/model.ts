// A deliberately naive reference model of the store: the whole key space is
// copied at every revision, events are recorded as they happen, errors are
// checked in the most direct way. Slow and obviously right; the real store
// must agree with it on every response.
import {
  compareBytes,
  EMPTY,
  ErrCompacted,
  ErrFutureRev,
  ErrKeyNotFound,
  ErrLeaseExist,
  ErrLeaseNotFound,
  ErrLeaseTTLTooLarge,
  type EtcdFailure,
  toBinary,
} from "../../src/core/index.ts"
import type {
  Compare,
  Event,
  InternalRequest,
  KeyValue,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  WatchCreateRequest,
} from "../../src/core/types.ts"
import { checkTxn } from "../../src/core/validate.ts"

type State = Map<string, KeyValue>

interface ModelEvent {
  readonly rev: number
  readonly key: string
  readonly event: Event
}

interface ModelLease {
  readonly ttl: number
  deadline: number
}

const inKeyRange = (k: string, key: Uint8Array, rangeEnd: Uint8Array | undefined): boolean => {
  const start = toBinary(key)
  if (rangeEnd === undefined || rangeEnd.length === 0) return k === start
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return k >= start
  return k >= start && k < toBinary(rangeEnd)
}

export class Model {
  rev = 1
  compactRev = 0
  now = 0
  /** states[r]: the live keys at revision r. */
  readonly states: State[] = [new Map(), new Map()]
  readonly events: ModelEvent[] = []
  readonly leases = new Map<number, ModelLease>()
  readonly minLeaseTTL: number

  constructor(minLeaseTTL = 2) {
    this.minLeaseTTL = minLeaseTTL
  }

  private get state(): State {
    return this.states[this.rev]!
  }

  // --- a write transaction over a working copy --------------------------------
  private work: State | undefined
  private pendingEvents: ModelEvent[] = []

  private beginWrite(): void {
    this.work = new Map(this.state)
    this.pendingEvents = []
  }

  private wrote(): boolean {
    return this.pendingEvents.length > 0
  }

  private commit(): number {
    if (this.wrote()) {
      this.rev++
      this.states[this.rev] = this.work!
      this.events.push(...this.pendingEvents)
    }
    this.work = undefined
    this.pendingEvents = []
    return this.rev
  }

  private writePut(key: Uint8Array, value: Uint8Array, lease: number): KeyValue | undefined {
    const k = toBinary(key)
    const rev = this.rev + 1
    const prev = this.work!.get(k)
    const kv: KeyValue = {
      key: Uint8Array.from(key),
      create_revision: prev ? prev.create_revision : rev,
      mod_revision: rev,
      version: prev ? prev.version + 1 : 1,
      value,
      lease,
    }
    this.work!.set(k, kv)
    this.pendingEvents.push({
      rev,
      key: k,
      event: prev ? { type: "PUT", kv, prev_kv: prev } : { type: "PUT", kv },
    })
    return prev
  }

  private writeDelete(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyValue[] {
    const rev = this.rev + 1
    const keys = [...this.work!.keys()].filter((k) => inKeyRange(k, key, rangeEnd)).sort()
    const prevs: KeyValue[] = []
    for (const k of keys) {
      const prev = this.work!.get(k)!
      this.work!.delete(k)
      prevs.push(prev)
      const kv: KeyValue = {
        key: Uint8Array.from(prev.key),
        create_revision: 0,
        mod_revision: rev,
        version: 0,
        value: EMPTY,
        lease: 0,
      }
      this.pendingEvents.push({ rev, key: k, event: { type: "DELETE", kv, prev_kv: prev } })
    }
    return prevs
  }

  // --- reads ----------------------------------------------------------------
  range(r: RangeRequest, working?: State, workingRev?: number): RangeResponse | EtcdFailure {
    const asked = r.revision ?? 0
    let state: State
    if (asked > 0) {
      if (asked > this.rev) return ErrFutureRev
      if (asked < this.compactRev) return ErrCompacted
      state = this.states[asked]!
    } else state = working ?? this.state
    // etcd's header: the revision of the store (or txn) read from, whatever revision was asked.
    const header = { revision: workingRev ?? this.rev }
    const keys = [...state.keys()].filter((k) => inKeyRange(k, r.key, r.range_end)).sort()
    let kvs = keys.map((k) => state.get(k)!)
    const count = kvs.length
    if (r.count_only) return { header, kvs: [], more: false, count }
    if (r.max_mod_revision) kvs = kvs.filter((kv) => kv.mod_revision <= r.max_mod_revision!)
    if (r.min_mod_revision) kvs = kvs.filter((kv) => kv.mod_revision >= r.min_mod_revision!)
    if (r.max_create_revision) {
      kvs = kvs.filter((kv) => kv.create_revision <= r.max_create_revision!)
    }
    if (r.min_create_revision) {
      kvs = kvs.filter((kv) => kv.create_revision >= r.min_create_revision!)
    }
    const target = r.sort_target ?? "KEY"
    const order = r.sort_order ?? "NONE"
    if (order !== "NONE" || target !== "KEY") {
      const field = (kv: KeyValue): number | Uint8Array =>
        target === "VERSION"
          ? kv.version
          : target === "CREATE"
            ? kv.create_revision
            : target === "MOD"
              ? kv.mod_revision
              : target === "VALUE"
                ? kv.value
                : kv.key
      const cmp = (a: KeyValue, b: KeyValue): number => {
        const fa = field(a)
        const fb = field(b)
        return typeof fa === "number" ? fa - (fb as number) : compareBytes(fa, fb as Uint8Array)
      }
      // Ties stay in key order.
      kvs = [...kvs].sort(order === "DESCEND" ? (a, b) => cmp(b, a) : cmp)
    }
    let more = false
    const limit = r.limit ?? 0
    if (limit > 0 && kvs.length > limit) {
      kvs = kvs.slice(0, limit)
      more = true
    }
    if (r.keys_only) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }))
    return { header, kvs, more, count }
  }

  // --- compares --------------------------------------------------------------
  private compare(c: Compare): boolean {
    const state = this.state
    const kvs = [...state.keys()]
      .filter((k) => inKeyRange(k, c.key, c.range_end))
      .map((k) => state.get(k)!)
    const target = c.target ?? "VERSION"
    const test = (kv: KeyValue | undefined): boolean => {
      let d: number
      if (target === "VALUE") d = compareBytes(kv?.value ?? EMPTY, c.value ?? EMPTY)
      else if (target === "CREATE") d = (kv?.create_revision ?? 0) - (c.create_revision ?? 0)
      else if (target === "MOD") d = (kv?.mod_revision ?? 0) - (c.mod_revision ?? 0)
      else if (target === "LEASE") d = (kv?.lease ?? 0) - (c.lease ?? 0)
      else d = (kv?.version ?? 0) - (c.version ?? 0)
      const result = c.result ?? "EQUAL"
      return result === "EQUAL"
        ? d === 0
        : result === "NOT_EQUAL"
          ? d !== 0
          : result === "GREATER"
            ? d > 0
            : d < 0
    }
    if (kvs.length === 0) return target !== "VALUE" && test(undefined)
    return kvs.every(test)
  }

  // --- the apply function ----------------------------------------------------
  apply(req: InternalRequest): unknown {
    if (req.lease_promote) {
      for (const l of this.leases.values()) l.deadline += req.header.now - this.now
      this.now = req.header.now
      return { header: { revision: this.rev } }
    }
    this.now = Math.max(this.now, req.header.now)
    if (req.put) {
      const p = req.put
      const cur = this.state.get(toBinary(p.key))
      // etcd's order for a put of its own: the lease, then the key (a txn's puts: the other way).
      if (p.lease && !this.leases.has(p.lease)) return ErrLeaseNotFound
      if ((p.ignore_value || p.ignore_lease) && !cur) return ErrKeyNotFound
      this.beginWrite()
      const prev = this.writePut(
        p.key,
        p.ignore_value ? cur!.value : (p.value ?? EMPTY),
        p.ignore_lease ? cur!.lease : (p.lease ?? 0),
      )
      const revision = this.commit()
      return p.prev_kv && prev ? { header: { revision }, prev_kv: prev } : { header: { revision } }
    }
    if (req.delete_range) {
      const d = req.delete_range
      this.beginWrite()
      const prevs = this.writeDelete(d.key, d.range_end)
      const revision = this.commit()
      return { header: { revision }, deleted: prevs.length, prev_kvs: d.prev_kv ? prevs : [] }
    }
    if (req.txn) return this.txn(req.txn)
    if (req.compaction) {
      const rev = req.compaction.revision
      if (rev <= this.compactRev) return ErrCompacted
      if (rev > this.rev) return ErrFutureRev
      this.compactRev = rev
      return { header: { revision: this.rev } }
    }
    if (req.lease_grant) {
      const g = req.lease_grant
      if (!g.ID) return ErrLeaseNotFound
      if (g.TTL > 9_000_000_000) return ErrLeaseTTLTooLarge
      if (this.leases.has(g.ID)) return ErrLeaseExist
      const ttl = Math.max(g.TTL, this.minLeaseTTL)
      this.leases.set(g.ID, { ttl, deadline: this.now + ttl * 1000 })
      return { header: { revision: this.rev }, ID: g.ID, TTL: ttl, error: "" }
    }
    if (req.lease_revoke) {
      if (!this.leases.has(req.lease_revoke.ID)) return ErrLeaseNotFound
      this.beginWrite()
      this.revoke(req.lease_revoke.ID)
      return { header: { revision: this.commit() } }
    }
    if (req.lease_keep_alive) {
      const id = req.lease_keep_alive.ID
      const l = this.leases.get(id)
      if (!l) return { header: { revision: this.rev }, ID: id, TTL: 0 }
      l.deadline = this.now + l.ttl * 1000
      return { header: { revision: this.rev }, ID: id, TTL: l.ttl }
    }
    if (req.lease_expire) {
      this.beginWrite()
      const expired: number[] = []
      for (const id of req.lease_expire.IDs) {
        const l = this.leases.get(id)
        if (l && l.deadline <= this.now) {
          this.revoke(id)
          expired.push(id)
        }
      }
      return { header: { revision: this.commit() }, expired }
    }
    throw new Error("model: empty request")
  }

  private revoke(id: number): void {
    const keys = [...this.work!.entries()]
      .filter(([, kv]) => kv.lease === id)
      .map(([k]) => k)
      .sort()
    for (const k of keys) this.writeDelete(this.work!.get(k)!.key, undefined)
    this.leases.delete(id)
  }

  private txn(t: TxnRequest): unknown {
    const invalid = checkTxn(t)
    if (invalid) return invalid
    // Choose the branches first, against the state before the txn.
    const chosen = new Map<TxnRequest, boolean>()
    const choose = (t: TxnRequest): void => {
      const ok = (t.compare ?? []).every((c) => this.compare(c))
      chosen.set(t, ok)
      for (const op of (ok ? t.success : t.failure) ?? []) {
        if ("request_txn" in op) choose(op.request_txn)
      }
    }
    choose(t)
    /** The operations of the chosen branches, nested ones in place. */
    const chosenOps = (t: TxnRequest): RequestOp[] =>
      ((chosen.get(t) ? t.success : t.failure) ?? []).flatMap((op) =>
        "request_txn" in op ? chosenOps(op.request_txn) : [op],
      )
    const ops = chosenOps(t)
    // etcd checks every put of the chosen path, then every range.
    for (const op of ops) {
      if (!("request_put" in op)) continue
      const p = op.request_put
      if ((p.ignore_value || p.ignore_lease) && !this.state.has(toBinary(p.key))) {
        return ErrKeyNotFound
      }
      if (p.lease && !this.leases.has(p.lease)) return ErrLeaseNotFound
    }
    // A txn's range at a revision other than 0: at most the current one, at
    // least the first kept (etcd: the compact revision, -1 before any).
    const firstRev = this.compactRev === 0 ? -1 : this.compactRev
    for (const op of ops) {
      if (!("request_range" in op)) continue
      const asked = op.request_range.revision ?? 0
      if (asked === 0) continue
      if (asked > this.rev) return ErrFutureRev
      if (asked < firstRev) return ErrCompacted
    }
    this.beginWrite()
    const current = (): number => (this.wrote() ? this.rev + 1 : this.rev)
    const exec = (t: TxnRequest): unknown => {
      const ok = chosen.get(t)!
      const responses: ResponseOp[] = []
      for (const op of ((ok ? t.success : t.failure) ?? []) as RequestOp[]) {
        if ("request_range" in op) {
          const r = this.range(op.request_range, this.work, current()) as RangeResponse
          responses.push({ response_range: r })
        } else if ("request_put" in op) {
          const p = op.request_put
          const cur = this.work!.get(toBinary(p.key))
          const prev = this.writePut(
            p.key,
            p.ignore_value ? cur!.value : (p.value ?? EMPTY),
            p.ignore_lease ? cur!.lease : (p.lease ?? 0),
          )
          const header = { revision: this.rev + 1 }
          responses.push({
            response_put: p.prev_kv && prev ? { header, prev_kv: prev } : { header },
          })
        } else if ("request_delete_range" in op) {
          const d = op.request_delete_range
          const prevs = this.writeDelete(d.key, d.range_end)
          responses.push({
            response_delete_range: {
              header: { revision: current() },
              deleted: prevs.length,
              prev_kvs: d.prev_kv ? prevs : [],
            },
          })
        } else {
          responses.push({ response_txn: exec(op.request_txn) as never })
        }
      }
      return { header: { revision: current() }, succeeded: ok, responses }
    }
    const resp = exec(t) as { header: { revision: number } }
    this.commit()
    return resp
  }

  // --- watches ---------------------------------------------------------------
  /**
   * The events a watch created now from `start` (> 0) would replay, up to the
   * current revision. Events at `noPrevAt`, the compact revision when the watch
   * caught up, have lost their predecessor to that compaction (no prev_kv then,
   * as in etcd).
   */
  watchEvents(c: WatchCreateRequest, start: number, noPrevAt: number = this.compactRev): Event[] {
    const filters = c.filters ?? []
    const key = c.key.length === 0 ? new Uint8Array([0]) : c.key
    return this.events
      .filter((e) => e.rev >= start && inKeyRange(e.key, key, c.range_end))
      .filter(
        (e) => !(e.event.type === "PUT" ? filters.includes("NOPUT") : filters.includes("NODELETE")),
      )
      .map((e) => {
        if (!c.prev_kv || e.event.prev_kv === undefined || e.rev === noPrevAt) {
          return { type: e.event.type, kv: e.event.kv }
        }
        return e.event
      })
  }

  /** The leases whose deadline has passed at `now`. */
  expired(now: number): number[] {
    return [...this.leases.entries()]
      .filter(([, l]) => l.deadline <= now)
      .map(([id]) => id)
      .sort((a, b) => a - b)
  }
}
