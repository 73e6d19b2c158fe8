import { describe, expect, it } from "vitest"
import {
  CodecError,
  decodeRequest,
  decodeSnapshot,
  encodeRequest,
  encodeSnapshot,
} from "../../src/core/codec.ts"
import { decodeMemberConfig } from "../../src/core/config.ts"
import { ErrNoSpace } from "../../src/core/errors.ts"
import { MvccStore, quotaCost } from "../../src/core/mvcc.ts"
import type { InternalRequest } from "../../src/core/types.ts"

const enc = (s: string) => new TextEncoder().encode(s)
const header = { ID: 1, now: 1000 }
const big = 0xfedcba9876543210n

describe("alarms in the store (etcd's alarm bucket and capped applier)", () => {
  it("NOSPACE refuses what grows the store, and nothing else, until it is cleared", () => {
    const s = new MvccStore()
    s.apply({ header, put: { key: enc("a"), value: enc("1") } })
    expect(
      s.apply({ header, alarm: { action: "ACTIVATE", memberID: big, alarm: "NOSPACE" } }),
    ).toEqual({ header: { revision: 2 }, alarms: [{ memberID: big, alarm: "NOSPACE" }] })
    expect(s.alarms).toEqual([{ memberID: big, alarm: "NOSPACE" }])
    const refused: Array<InternalRequest> = [
      { header, put: { key: enc("b"), value: enc("2") } },
      { header, lease_grant: { TTL: 60, ID: 7 } },
      {
        header,
        txn: {
          compare: [],
          success: [],
          failure: [{ request_put: { key: enc("c"), value: enc("") } }],
        },
      },
    ]
    for (const r of refused) expect(s.apply(r)).toBe(ErrNoSpace)
    expect(s.rev).toBe(2)
    // Reads, deletes, compaction and txns without puts go on.
    expect(
      s.apply({
        header,
        txn: { compare: [], success: [{ request_range: { key: enc("a") } }], failure: [] },
      }),
    ).not.toBe(ErrNoSpace)
    expect(s.apply({ header, delete_range: { key: enc("a") } })).toMatchObject({ deleted: 1 })
    expect(s.apply({ header, compaction: { revision: 3 } })).not.toBe(ErrNoSpace)
    // Raised twice, cleared when absent: nothing changes, nothing is answered.
    expect(
      s.apply({ header, alarm: { action: "ACTIVATE", memberID: big, alarm: "NOSPACE" } }),
    ).toMatchObject({ alarms: [] })
    expect(
      s.apply({ header, alarm: { action: "DEACTIVATE", memberID: 5n, alarm: "NOSPACE" } }),
    ).toMatchObject({ alarms: [] })
    expect(
      s.apply({ header, alarm: { action: "DEACTIVATE", memberID: big, alarm: "NOSPACE" } }),
    ).toMatchObject({ alarms: [{ memberID: big, alarm: "NOSPACE" }] })
    expect(s.alarms).toEqual([])
    expect(s.apply({ header, put: { key: enc("b"), value: enc("2") } })).toMatchObject({
      header: { revision: 4 },
    })
  })

  it("travel in the log and in snapshots (a snapshot without alarms reads as before)", () => {
    const req: InternalRequest = {
      header,
      alarm: { action: "DEACTIVATE", memberID: big, alarm: "CORRUPT" },
    }
    expect(decodeRequest(encodeRequest(req))).toEqual(req)
    const s = new MvccStore()
    s.apply({ header, put: { key: enc("a"), value: enc("1") } })
    const without = encodeSnapshot(s)
    expect(decodeSnapshot(without).alarms).toEqual([])
    s.apply({ header, alarm: { action: "ACTIVATE", memberID: big, alarm: "NOSPACE" } })
    s.apply({ header, alarm: { action: "ACTIVATE", memberID: 3n, alarm: "CORRUPT" } })
    const withAlarms = encodeSnapshot(s)
    expect(withAlarms.length).toBeGreaterThan(without.length)
    const restored = decodeSnapshot(withAlarms)
    expect(restored.alarms).toEqual(s.alarms)
    expect(restored.apply({ header, put: { key: enc("b"), value: enc("2") } })).toBe(ErrNoSpace)
    expect(() => decodeRequest(Uint8Array.from([1, 0, 11, 5, 0, 0, 1]))).toThrow(CodecError)
    expect(() => decodeRequest(Uint8Array.from([1, 0, 11, 0, 0, 0, 9]))).toThrow(
      /alarm type: unknown value 9/,
    )
  })

  it("costs writes as etcd's quota does", () => {
    expect(quotaCost({ put: { key: enc("ab"), value: enc("xyz") } })).toBe(256 + 5)
    expect(quotaCost({ lease_grant: { TTL: 10 } })).toBe(64)
    expect(
      quotaCost({
        txn: {
          compare: [],
          success: [{ request_put: { key: enc("a"), value: enc("1") } }],
          failure: [
            { request_put: { key: enc("b"), value: enc("1") } },
            { request_put: { key: enc("c"), value: enc("1") } },
          ],
        },
      }),
    ).toBe(2 * 258)
    expect(quotaCost({ txn: { compare: [], success: [], failure: [] } })).toBe(0)
  })
})

describe("--quota-backend-bytes (as etcd reads it)", () => {
  it("is 2 GiB by default and for 0, off when negative, and refused when not an integer", () => {
    const quota = (v?: string) =>
      decodeMemberConfig(v === undefined ? {} : { "quota-backend-bytes": v }).quotaBackendBytes
    expect([quota(), quota("0"), quota("-1"), quota("40000")]).toEqual([
      2 * 1024 ** 3,
      2 * 1024 ** 3,
      0,
      40000,
    ])
    expect(() => quota("2GB")).toThrow('--quota-backend-bytes: expected an integer, got "2GB"')
  })
})
