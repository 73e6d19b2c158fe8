import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  memberJson,
  readBackendDb,
  revisionKey,
  SnapshotFileError,
  writeBackendDb,
  writeBackendDbSteps,
} from "../../src/core/backend-db.ts"
import { readBolt } from "../../src/core/bolt.ts"
import { MvccStore } from "../../src/core/mvcc.ts"

const enc = (s: string) => new TextEncoder().encode(s)
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const member = {
  ID: 0xfedcba9876543210n,
  name: "m1",
  peerURLs: ["http://127.0.0.1:2380"],
  clientURLs: ["http://127.0.0.1:2379"],
  isLearner: false,
}

/** The buckets of the backend database holding `store` (no members), as read back. */
const bucketsOfStore = (store: MvccStore) =>
  readBolt(
    writeBackendDb({
      state: store.exportState(),
      members: [],
      removed: [],
      clusterVersion: "3.4.0",
    }),
  )

const bucketsOf = (store: MvccStore) =>
  new Map(
    readBolt(
      writeBackendDb({
        state: store.exportState(),
        members: [member, { ...member, ID: 7n, name: "", clientURLs: [], isLearner: true }],
        removed: [0x10n],
        clusterVersion: "3.4.0",
      }),
    ).map((b) => [Buffer.from(b.name).toString(), b.entries.map(([k, v]) => [hex(k), hex(v)])]),
  )

describe("etcd's backend layout", () => {
  it("writes revisions as etcd does: main, '_', sub, and 't' for a tombstone", () => {
    expect(hex(revisionKey(2, 0, false))).toBe("00000000000000025f0000000000000000")
    expect(hex(revisionKey(2 ** 40 + 1, 3, true))).toBe("00000100000000015f000000000000000374")
  })

  it("writes a member as etcd 3.4's JSON, the 64-bit ID exact", () => {
    expect(memberJson(member)).toBe(
      '{"id":18364758544493064720,"peerURLs":["http://127.0.0.1:2380"],"name":"m1","clientURLs":["http://127.0.0.1:2379"]}',
    )
    expect(memberJson({ ...member, name: "", clientURLs: [], isLearner: true })).toBe(
      '{"id":18364758544493064720,"peerURLs":["http://127.0.0.1:2380"],"isLearner":true}',
    )
  })

  it("keeps versions, tombstones, a transaction's sub revisions, leases and the compaction", () => {
    const store = new MvccStore()
    store.leaseGrant({ ID: 0x1234, TTL: 60 })
    store.put({ key: enc("a"), value: enc("1"), lease: 0x1234 }) // rev 2
    store.put({ key: enc("a"), value: enc("2") }) // rev 3
    store.deleteRange({ key: enc("a") }) // rev 4
    store.txn({
      compare: [],
      success: [
        { request_put: { key: enc("x"), value: enc("X") } },
        { request_put: { key: enc("y"), value: enc("Y") } },
      ],
      failure: [],
    }) // rev 5, subs 0 and 1
    store.compact({ revision: 3 })
    store.appliedIndex = 42
    const buckets = bucketsOf(store)
    expect(buckets.get("key")?.map(([k]) => k)).toEqual([
      hex(revisionKey(3, 0, false)),
      hex(revisionKey(4, 0, true)),
      hex(revisionKey(5, 0, false)),
      hex(revisionKey(5, 1, false)),
    ])
    // A tombstone's value is the key alone (mvccpb.KeyValue field 1).
    expect(buckets.get("key")?.[1]?.[1]).toBe("0a0161")
    expect(buckets.get("meta")).toEqual([
      [hex(enc("consistent_index")), "000000000000002a"],
      [hex(enc("finishedCompactRev")), hex(revisionKey(3, 0, false))],
      [hex(enc("scheduledCompactRev")), hex(revisionKey(3, 0, false))],
    ])
    // leasepb.Lease {ID: 0x1234, TTL: 60}.
    expect(buckets.get("lease")).toEqual([["0000000000001234", "08b424103c"]])
    expect(
      buckets.get("members")?.map(([k]) => Buffer.from(k as string, "hex").toString()),
    ).toEqual(["7", "fedcba9876543210"])
    expect(buckets.get("members_removed")).toEqual([[hex(enc("10")), hex(enc("removed"))]])
    expect(buckets.get("cluster")).toEqual([[hex(enc("clusterVersion")), hex(enc("3.4.0"))]])
  })
})

describe("restoring etcd's backend layout", () => {
  const all = { key: new Uint8Array([0]), range_end: new Uint8Array([0]) }
  const op = fc.oneof(
    fc.record({ put: fc.constantFrom("a", "b", "c", "d"), value: fc.string({ maxLength: 3 }) }),
    fc.record({ del: fc.constantFrom("a", "b", "c", "d") }),
    fc.record({ pair: fc.constantFrom("a", "b", "c"), value: fc.string({ maxLength: 3 }) }),
    fc.record({ compact: fc.nat(20) }),
  )

  it("reads back what it wrote: every revision from the compaction on, and the leases", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.boolean(), (ops, leased) => {
        const store = new MvccStore()
        if (leased) store.leaseGrant({ ID: 77, TTL: 30 })
        for (const o of ops) {
          if ("put" in o)
            store.put({ key: enc(o.put), value: enc(o.value), lease: leased ? 77 : 0 })
          else if ("del" in o) store.deleteRange({ key: enc(o.del) })
          else if ("pair" in o)
            store.txn({
              compare: [],
              success: [
                { request_put: { key: enc(o.pair), value: enc(o.value) } },
                { request_delete_range: { key: enc("d") } },
              ],
              failure: [],
            })
          else if (o.compact <= store.rev) store.compact({ revision: o.compact })
        }
        const restored = MvccStore.importState(readBackendDb(bucketsOfStore(store)).state)
        expect(restored.rev).toBe(store.rev)
        expect(restored.compactRev).toBe(store.compactRev)
        for (let rev = Math.max(1, store.compactRev); rev <= store.rev; rev++)
          expect(restored.range({ ...all, revision: rev })).toEqual(
            store.range({ ...all, revision: rev }),
          )
        expect(restored.leaseLeases()).toEqual(store.leaseLeases())
        expect(restored.hashKV()).toEqual(store.hashKV())
      }),
      { numRuns: 200 },
    )
  })

  it("is built in steps, a bounded amount of work each", () => {
    const store = new MvccStore()
    for (let i = 0; i < 20_000; i++) store.put({ key: enc(`k${i}`), value: new Uint8Array(100) })
    const contents = {
      state: store.exportState(),
      members: [],
      removed: [],
      clusterVersion: "3.4.0",
    }
    const steps = writeBackendDbSteps(contents)
    let count = 0
    let r = steps.next()
    while (r.done !== true) {
      count++
      r = steps.next()
    }
    // At least one step per 4,096 versions encoded and per 64 pages written.
    expect(count).toBeGreaterThan(20_000 / 4096 + (20_000 * 120) / 4096 / 64)
    expect(r.value).toEqual(writeBackendDb(contents))
  })

  it("names the entry at fault in a damaged key bucket", () => {
    const store = new MvccStore()
    store.put({ key: enc("a"), value: enc("1") })
    const buckets = bucketsOfStore(store)
    const keyBucket = buckets.find((b) => Buffer.from(b.name).toString() === "key")
    const [revision, value] = keyBucket?.entries[0] ?? []
    const withValue = (v: Uint8Array) =>
      buckets.map((b) =>
        b === keyBucket ? { name: b.name, entries: [[revision as Uint8Array, v] as const] } : b,
      )
    expect(() => readBackendDb(withValue((value as Uint8Array).subarray(0, 2)))).toThrow(
      /key bucket, revision 00000000000000025f0000000000000000: field 1: \d+ bytes past the end/,
    )
    expect(() => readBackendDb(withValue(Uint8Array.from([0x0a, 0x01, 0x61, 0x18, 0x05])))).toThrow(
      /mod_revision 5, create_revision 0, version 0 do not fit its revision/,
    )
    expect(() => readBackendDb(buckets.filter((b) => b !== keyBucket))).toThrow(SnapshotFileError)
  })
})

describe("damaged backend databases", () => {
  it("are restored or refused with SnapshotFileError, never another exception (fuzzed entries)", () => {
    const store = new MvccStore()
    store.leaseGrant({ ID: 5, TTL: 60 })
    for (let i = 0; i < 20; i++)
      store.put({ key: enc(`k${i % 7}`), value: enc(`v${i}`), lease: i % 3 === 0 ? 5 : 0 })
    store.deleteRange({ key: enc("k1") })
    store.compact({ revision: 10 })
    const buckets = bucketsOfStore(store)
    fc.assert(
      fc.property(
        fc.constantFrom("key", "meta", "lease"),
        fc.nat(),
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(40), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.option(fc.nat(30), { nil: undefined }),
        (bucketName, which, inKey, edits, cut) => {
          const damaged = buckets.map((b) => {
            if (Buffer.from(b.name).toString() !== bucketName || b.entries.length === 0) return b
            const i = which % b.entries.length
            const entries = b.entries.map(([k, v], j) => {
              if (j !== i) return [k, v] as const
              const target = (inKey ? k : v).slice(0, cut ?? undefined)
              for (const [at, value] of edits) if (at < target.length) target[at] = value
              return (inKey ? [target, v] : [k, target]) as readonly [Uint8Array, Uint8Array]
            })
            return { name: b.name, entries }
          })
          try {
            MvccStore.importState(readBackendDb(damaged).state)
          } catch (e) {
            expect(e).toBeInstanceOf(SnapshotFileError)
          }
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe("alarms in etcd's backend layout", () => {
  it("are written as etcd's alarm bucket keys (read from a real etcd's snapshot) and read back", () => {
    const store = new MvccStore()
    const memberID = 4089598808042306297n
    store.apply({
      header: { ID: 1, now: 0 },
      alarm: { action: "ACTIVATE", memberID, alarm: "NOSPACE" },
    })
    const buckets = bucketsOfStore(store)
    const alarm = buckets.find((b) => Buffer.from(b.name).toString() === "alarm")
    // etcd 3.4.23's key for this alarm, from its snapshot: AlarmMember{MemberID, Alarm: NOSPACE}, empty value.
    expect(alarm?.entries.map(([k, v]) => [hex(k), v.length])).toEqual([
      ["08f9f5e399ac8ecbe0381001", 0],
    ])
    expect(readBackendDb(buckets).state.alarms).toEqual([{ memberID, alarm: "NOSPACE" }])
  })
})
