// The identity record beside a member's log: its encoding, which ID a member
// runs under, and when the record is (re)written.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  clusterMismatch,
  decodeIdentity,
  encodeIdentity,
  IDENTITY_BYTES,
  identityToPersist,
  type MemberIdentity,
  resolveIdentity,
  type StoredIdentity,
} from "../../src/core/identity.ts"

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
const identity = fc.record({
  memberId: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
  clusterId: u64,
})

describe("identity record", () => {
  it("round-trips every member and cluster ID", () => {
    fc.assert(
      fc.property(identity, (id) => {
        const bytes = encodeIdentity(id)
        expect(bytes.length).toBe(IDENTITY_BYTES)
        expect(decodeIdentity(bytes)).toEqual({ _tag: "Identity", ...id })
      }),
    )
  })

  it("refuses any single damaged byte, and any cut or extended record", () => {
    fc.assert(
      fc.property(
        identity,
        fc.nat(IDENTITY_BYTES - 1),
        fc.integer({ min: 1, max: 255 }),
        (id, at, flip) => {
          const bytes = encodeIdentity(id)
          bytes[at]! ^= flip
          // CRC-32 detects every error confined to one byte.
          expect(decodeIdentity(bytes)._tag).toBe("Invalid")
        },
      ),
    )
    fc.assert(
      fc.property(identity, fc.nat(IDENTITY_BYTES - 1), (id, n) => {
        expect(decodeIdentity(encodeIdentity(id).subarray(0, n))).toEqual({
          _tag: "Invalid",
          reason: `length: ${n} bytes, expected ${IDENTITY_BYTES}`,
        })
      }),
    )
    const longer = new Uint8Array(IDENTITY_BYTES + 1)
    longer.set(encodeIdentity({ memberId: 1n, clusterId: 2n }))
    expect(decodeIdentity(longer)._tag).toBe("Invalid")
  })

  it("names the part that is wrong", () => {
    const good = encodeIdentity({ memberId: 0x1234n, clusterId: 0x99n })
    const magic = good.slice()
    magic[0] = 0
    expect(decodeIdentity(magic)).toEqual({
      _tag: "Invalid",
      reason: "magic: not an identity record",
    })
    const version = good.slice()
    version[4] = 2
    expect(decodeIdentity(version)).toEqual({ _tag: "Invalid", reason: "version: 2, expected 1" })
    const sum = good.slice()
    sum[10]! ^= 1
    expect(decodeIdentity(sum)).toMatchObject({ _tag: "Invalid", reason: /^checksum: / })
    expect(decodeIdentity(encodeIdentity({ memberId: 0n, clusterId: 5n }))).toEqual({
      _tag: "Invalid",
      reason: "member ID: 0 (never a member's ID)",
    })
  })
})

describe("resolveIdentity", () => {
  const storedArb: fc.Arbitrary<StoredIdentity> = fc.oneof(
    fc.constant({ _tag: "Missing" as const }),
    identity.map((i) => ({ _tag: "Identity" as const, ...i })),
    fc.string().map((reason) => ({ _tag: "Invalid" as const, reason })),
    fc.string().map((reason) => ({ _tag: "Unreadable" as const, reason })),
  )

  it("runs a log under its recorded ID, derives for a fresh start or an old data directory, refuses a damaged record", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        storedArb,
        fc.bigInt({ min: 1n, max: 1n << 63n }),
        (holds, stored, derived) => {
          const r = resolveIdentity({ walHoldsState: holds, stored, derived })
          if (!holds) expect(r).toEqual({ _tag: "Derived", memberId: derived, fresh: true })
          else if (stored._tag === "Missing")
            expect(r).toEqual({ _tag: "Derived", memberId: derived, fresh: false })
          else if (stored._tag === "Identity")
            expect(r).toEqual({
              _tag: "Stored",
              memberId: stored.memberId,
              clusterId: stored.clusterId,
            })
          else expect(r).toEqual({ _tag: "Refuse", reason: stored.reason })
        },
      ),
    )
  })
})

describe("identityToPersist", () => {
  it("writes once the membership lists the member, then only to fill in the cluster ID", () => {
    const id = 7n
    expect(identityToPersist(undefined, id, { clusterId: 9n, lists: false })).toBeUndefined()
    expect(identityToPersist(undefined, id, { clusterId: 0n, lists: true })).toEqual({
      memberId: id,
      clusterId: 0n,
    })
    expect(identityToPersist(undefined, id, { clusterId: 9n, lists: true })).toEqual({
      memberId: id,
      clusterId: 9n,
    })
    const unknownCluster: MemberIdentity = { memberId: id, clusterId: 0n }
    expect(identityToPersist(unknownCluster, id, { clusterId: 0n, lists: true })).toBeUndefined()
    expect(identityToPersist(unknownCluster, id, { clusterId: 9n, lists: true })).toEqual({
      memberId: id,
      clusterId: 9n,
    })
    const known: MemberIdentity = { memberId: id, clusterId: 9n }
    expect(identityToPersist(known, id, { clusterId: 9n, lists: true })).toBeUndefined()
    // Never replaces a recorded cluster ID (startMember refuses the mismatch).
    expect(identityToPersist(known, id, { clusterId: 8n, lists: true })).toBeUndefined()
    // A removed member (no longer listed) keeps its record.
    expect(identityToPersist(known, id, { clusterId: 9n, lists: false })).toBeUndefined()
  })

  it("reaches a fixed point: writing what it asks for asks for nothing more", () => {
    fc.assert(
      fc.property(
        fc.option(identity, { nil: undefined }),
        u64,
        fc.boolean(),
        (recorded, clusterId, lists) => {
          const id = recorded?.memberId ?? 1n
          const want = identityToPersist(recorded, id, { clusterId, lists })
          if (want === undefined) return
          expect(want.memberId).toBe(id)
          expect(identityToPersist(want, id, { clusterId, lists })).toBeUndefined()
        },
      ),
    )
  })

  it("calls a recorded cluster ID contradicted by the log a mismatch, unknown ones never", () => {
    expect(clusterMismatch(5n, 6n)).toBe(true)
    expect(clusterMismatch(5n, 5n)).toBe(false)
    expect(clusterMismatch(0n, 6n)).toBe(false)
    expect(clusterMismatch(5n, 0n)).toBe(false)
  })
})
