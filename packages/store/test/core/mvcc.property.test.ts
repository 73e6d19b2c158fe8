// Random sequences of puts, deletes, txns, compactions and lease operations,
// applied to the store and to the reference model: every response agrees,
// every range at every revision agrees, every watch replays exactly the
// model's events, snapshots and the log encoding lose nothing.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  compareBytes,
  decodeRequest,
  decodeSnapshot,
  ErrEmptyWatcherRange,
  encodeRequest,
  encodeSnapshot,
  MvccStore,
  WatchHub,
} from "../../src/core/index.ts"
import type {
  Compare,
  Event,
  FilterType,
  InternalRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  WatchCreateRequest,
  WatchResponse,
} from "../../src/core/types.ts"
import { Model } from "./model.ts"

const b = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))

const KEYS = ["a", "ab", "b", "c", "d", "\xff"]
const key = fc.constantFrom(...KEYS).map(b)
const value = fc.constantFrom("", "x", "y", "zz").map(b)
/** undefined: single key; "\0": to the end; else an explicit end (possibly before the start). */
const rangeEnd = fc.option(fc.constantFrom("\0", "b", "c", "e", "\xff", "a"), { nil: undefined })
const leaseId = fc.oneof(
  { weight: 5, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constantFrom(1, 2, 3) },
)
/** True one time in `n`. */
const rarely = (n: number): fc.Arbitrary<boolean> => fc.nat(n - 1).map((x) => x === 0)
/** A revision as a fraction of "current + 2", resolved when the op runs (so it can be in the future or compacted). */
const revPick = fc.nat(999).map((x) => x / 1000)

type Op =
  | { readonly kind: "put"; readonly req: InternalRequest["put"] & object }
  | { readonly kind: "delete"; readonly req: InternalRequest["delete_range"] & object }
  | { readonly kind: "txn"; readonly req: (p: (x: number) => number) => TxnRequest }
  | { readonly kind: "compact"; readonly at: number }
  | { readonly kind: "grant"; readonly ID: number; readonly TTL: number }
  | { readonly kind: "revoke"; readonly ID: number }
  | { readonly kind: "keepAlive"; readonly ID: number }
  | { readonly kind: "expire"; readonly extra: number }
  | { readonly kind: "promote"; readonly shift: number }
  | { readonly kind: "watch"; readonly req: WatchCreateRequest; readonly at: number }

const putReq = fc
  .record({
    key,
    value,
    lease: leaseId,
    prev_kv: fc.boolean(),
    ignore_value: rarely(8),
    ignore_lease: rarely(8),
  })
  .map((p) => ({
    ...p,
    // Stateless checks (done before proposing) would reject these combinations.
    value: p.ignore_value ? new Uint8Array(0) : p.value,
    lease: p.ignore_lease ? 0 : p.lease,
  }))

const deleteReq = fc.record({ key, end: rangeEnd, prev_kv: fc.boolean() }).map((d) => ({
  key: d.key,
  ...(d.end === undefined ? {} : { range_end: b(d.end) }),
  prev_kv: d.prev_kv,
}))

const rangeReq = (
  pick: fc.Arbitrary<number>,
): fc.Arbitrary<(p: (x: number) => number) => RangeRequest> =>
  fc
    .record({
      key,
      end: rangeEnd,
      limit: fc.constantFrom(0, 0, 1, 2),
      // Negative revisions too: a txn refuses them (or not) by etcd's first-revision rule.
      rev: fc.option(fc.oneof({ weight: 4, arbitrary: pick }, fc.constantFrom(-1, -2)), {
        nil: undefined,
      }),
      sort_order: fc.constantFrom<SortOrder>("NONE", "ASCEND", "DESCEND"),
      sort_target: fc.constantFrom<SortTarget>("KEY", "VERSION", "CREATE", "MOD", "VALUE"),
      keys_only: fc.boolean(),
      count_only: fc.boolean(),
      min_mod_revision: fc.constantFrom(0, 0, 2, 4),
      max_create_revision: fc.constantFrom(0, 0, 3, 6),
    })
    .map((r) => (p: (x: number) => number) => ({
      key: r.key,
      ...(r.end === undefined ? {} : { range_end: b(r.end) }),
      limit: r.limit,
      revision: r.rev === undefined ? 0 : r.rev < 0 ? r.rev : p(r.rev),
      sort_order: r.sort_order,
      sort_target: r.sort_target,
      keys_only: r.keys_only,
      count_only: r.count_only,
      min_mod_revision: r.min_mod_revision,
      max_create_revision: r.max_create_revision,
    }))

const compare: fc.Arbitrary<Compare> = fc
  .record({
    key,
    end: fc.option(fc.constantFrom("\0", "c"), { nil: undefined }),
    result: fc.constantFrom("EQUAL", "GREATER", "LESS", "NOT_EQUAL" as const),
    target: fc.constantFrom("VERSION", "CREATE", "MOD", "VALUE", "LEASE" as const),
    n: fc.constantFrom(0, 1, 2, 3, 5),
    value,
  })
  .map((c) => ({
    key: c.key,
    ...(c.end === undefined ? {} : { range_end: b(c.end) }),
    result: c.result,
    target: c.target,
    ...(c.target === "VALUE"
      ? { value: c.value }
      : c.target === "VERSION"
        ? { version: c.n }
        : c.target === "CREATE"
          ? { create_revision: c.n }
          : c.target === "MOD"
            ? { mod_revision: c.n }
            : { lease: c.n % 4 }),
  }))

type OpMaker = (p: (x: number) => number) => RequestOp

const requestOp = (depth: number): fc.Arbitrary<OpMaker> => {
  const leaves: Array<fc.Arbitrary<OpMaker>> = [
    rangeReq(revPick).map((r) => (p) => ({ request_range: r(p) })),
    putReq.map((r) => () => ({ request_put: r })),
    deleteReq.map((r) => () => ({ request_delete_range: r })),
  ]
  if (depth > 0) leaves.push(txnReq(depth - 1).map((t) => (p) => ({ request_txn: t(p) })))
  return fc.oneof(...leaves)
}

const txnReq = (depth: number): fc.Arbitrary<(p: (x: number) => number) => TxnRequest> =>
  fc
    .record({
      compare: fc.array(compare, { maxLength: 2 }),
      success: fc.array(requestOp(depth), { maxLength: 3 }),
      failure: fc.array(requestOp(depth), { maxLength: 3 }),
    })
    .map((t) => (p) => ({
      compare: t.compare,
      success: t.success.map((f) => f(p)),
      failure: t.failure.map((f) => f(p)),
    }))

const watchReq: fc.Arbitrary<{ req: WatchCreateRequest; at: number }> = fc
  .record({
    key: fc.constantFrom("", "a", "b", "c"),
    end: rangeEnd,
    filters: fc.subarray<FilterType>(["NOPUT", "NODELETE"]),
    prev_kv: fc.boolean(),
    at: fc.option(revPick, { nil: undefined }),
  })
  .map((w) => ({
    req: {
      key: b(w.key),
      ...(w.end === undefined ? {} : { range_end: b(w.end) }),
      filters: w.filters,
      prev_kv: w.prev_kv,
    },
    at: w.at ?? -1,
  }))

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: putReq.map((req) => ({ kind: "put" as const, req })) },
  { weight: 2, arbitrary: deleteReq.map((req) => ({ kind: "delete" as const, req })) },
  { weight: 3, arbitrary: txnReq(1).map((req) => ({ kind: "txn" as const, req })) },
  { weight: 2, arbitrary: revPick.map((at) => ({ kind: "compact" as const, at })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ ID: fc.constantFrom(0, 1, 2, 3), TTL: fc.constantFrom(0, 1, 3, 10) })
      .map((g) => ({ kind: "grant" as const, ...g })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, 1, 2, 3).map((ID) => ({ kind: "revoke" as const, ID })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, 1, 2, 3).map((ID) => ({ kind: "keepAlive" as const, ID })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, 1, 2, 3).map((extra) => ({ kind: "expire" as const, extra })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(-5000, 0, 7000)
      .map((shift) => ({ kind: "promote" as const, shift })),
  },
  { weight: 1, arbitrary: watchReq.map((w) => ({ kind: "watch" as const, ...w })) },
)

const step = fc.record({ op, dt: fc.constantFrom(0, 0, 400, 1500, 4000) })

/** The ranges checked at every revision at the end. */
const PROBES: RangeRequest[] = [
  { key: b("\0"), range_end: b("\0") },
  { key: b("a"), range_end: b("b") },
  { key: b("a") },
  { key: b("ab") },
  { key: b("b"), range_end: b("\0") },
  { key: b("c"), range_end: b("a") },
  { key: b("\0"), range_end: b("\0"), count_only: true },
  { key: b("\0"), range_end: b("\0"), limit: 2 },
  { key: b("\0"), range_end: b("\0"), sort_order: "DESCEND", sort_target: "MOD", limit: 3 },
  { key: b("\0"), range_end: b("\0"), sort_target: "VALUE", keys_only: true },
  { key: b("\0"), range_end: b("\0"), min_create_revision: 3, max_mod_revision: 8 },
]

interface LiveWatch {
  readonly req: WatchCreateRequest
  readonly start: number
  readonly compactAtCreation: number
  readonly stream: number
}

/** A watch on [key, range_end) with range_end <= key watches nothing; etcd refuses it. */
const emptyRange = (w: WatchCreateRequest): boolean => {
  const end = w.range_end
  if (end === undefined || end.length === 0 || (end.length === 1 && end[0] === 0)) return false
  const key = w.key.length === 0 ? new Uint8Array([0]) : w.key
  return compareBytes(key, end) >= 0
}

const eventsOf = (responses: ReadonlyArray<WatchResponse>): Event[] =>
  responses.flatMap((r) => [...r.events])

describe("MvccStore against the reference model", () => {
  it("agrees on every response, range, watch and snapshot", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60, size: "max" }), (steps) => {
        const store = new MvccStore()
        const replica = new MvccStore()
        const model = new Model()
        const received = new Map<number, WatchResponse[]>()
        const hub = new WatchHub(store, (s, r) => {
          let list = received.get(s)
          if (list === undefined) received.set(s, (list = []))
          list.push(r)
        })
        const live: LiveWatch[] = []
        let now = 1000
        let id = 0
        const pick = (x: number): number => Math.floor(x * (model.rev + 2))

        for (const { op, dt } of steps) {
          now += dt
          const header = { ID: ++id, now }
          let req: InternalRequest | undefined
          switch (op.kind) {
            case "put":
              req = { header, put: op.req }
              break
            case "delete":
              req = { header, delete_range: op.req }
              break
            case "txn":
              req = { header, txn: op.req(pick) }
              break
            case "compact":
              req = { header, compaction: { revision: pick(op.at) } }
              break
            case "grant":
              req = { header, lease_grant: { ID: op.ID, TTL: op.TTL } }
              break
            case "revoke":
              req = { header, lease_revoke: { ID: op.ID } }
              break
            case "keepAlive":
              req = { header, lease_keep_alive: { ID: op.ID } }
              break
            case "expire": {
              const due = model.expired(Math.max(now, model.now))
              req = { header, lease_expire: { IDs: [...due, op.extra] } }
              break
            }
            case "promote":
              now = Math.max(0, now + op.shift)
              req = { header: { ...header, now }, lease_promote: {} }
              break
            case "watch": {
              // Up to three revisions in the future.
              const start = op.at < 0 ? 0 : Math.max(1, Math.floor(op.at * (model.rev + 4)))
              const stream = hub.openStream()
              hub.request(stream, { create_request: { ...op.req, start_revision: start } })
              live.push({ req: op.req, start, compactAtCreation: store.compactRev, stream })
              break
            }
          }
          if (req === undefined) continue
          const expected = model.apply(req)
          const actual = store.apply(req)
          expect(actual).toEqual(expected)
          // The same entry through the log encoding gives the same result.
          expect(replica.apply(decodeRequest(encodeRequest(req)))).toEqual(expected)
          hub.sync()
          expect(store.rev).toBe(model.rev)
        }

        // Every probe at every revision, including compacted and future ones.
        for (let rev = 0; rev <= model.rev + 1; rev++) {
          for (const probe of PROBES) {
            const r = { ...probe, revision: rev }
            expect(store.range(r)).toEqual(model.range(r))
          }
        }

        // Live watches got exactly the model's events, in order, after "created".
        for (const w of live) {
          const responses = received.get(w.stream) ?? []
          expect(responses[0]?.created).toBe(true)
          if (emptyRange(w.req)) {
            expect(responses).toEqual([
              expect.objectContaining({
                watch_id: -1,
                canceled: true,
                cancel_reason: ErrEmptyWatcherRange,
              }),
            ])
            continue
          }
          if (w.start > 0 && w.start < w.compactAtCreation) {
            expect(responses[1]?.canceled).toBe(true)
            expect(responses[1]?.compact_revision).toBe(w.compactAtCreation)
            continue
          }
          const start = w.start === 0 ? responses[0]!.header.revision + 1 : w.start
          const got = eventsOf(responses)
          expect(got).toEqual(model.watchEvents(w.req, start, w.compactAtCreation))
          const revs = got.map((e) => e.kv.mod_revision)
          expect(revs).toEqual([...revs].sort((x, y) => x - y))
        }

        // A watch from every start revision replays the model's events.
        for (let start = 1; start <= model.rev + 1; start++) {
          for (const w of [
            { key: b("\0"), range_end: b("\0"), prev_kv: true },
            { key: b("a"), range_end: b("c"), filters: ["NODELETE" as const] },
            { key: b("b") },
          ]) {
            const stream = hub.openStream()
            hub.request(stream, { create_request: { ...w, start_revision: start } })
            const responses = received.get(stream) ?? []
            if (start < model.compactRev) {
              expect(responses.map((r) => [r.canceled, r.compact_revision])).toEqual([
                [false, 0],
                [true, model.compactRev],
              ])
            } else {
              expect(eventsOf(responses)).toEqual(model.watchEvents(w, start))
            }
            hub.closeStream(stream)
          }
        }

        // Snapshots restore the same state, and re-encode to the same bytes.
        const snap = encodeSnapshot(store)
        const restored = decodeSnapshot(snap)
        expect(encodeSnapshot(restored)).toEqual(snap)
        expect(encodeSnapshot(replica)).toEqual(snap)
        for (let rev = 0; rev <= model.rev + 1; rev++) {
          expect(restored.hashKV(rev)).toEqual(store.hashKV(rev))
        }
        for (let rev = 0; rev <= model.rev + 1; rev++) {
          for (const probe of PROBES) {
            const r = { ...probe, revision: rev }
            expect(restored.range(r)).toEqual(model.range(r))
          }
        }
        for (const id of [1, 2, 3]) {
          expect(restored.leaseTimeToLive({ ID: id, keys: true }, now)).toEqual(
            store.leaseTimeToLive({ ID: id, keys: true }, now),
          )
        }
      }),
      { numRuns: 300 },
    )
  })
})
