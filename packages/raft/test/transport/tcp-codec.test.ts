import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { AppendEntries, Message } from "../../src/core/types.ts"
import {
  decodeConfig,
  decodeWireMessage,
  encodeConfig,
  encodeWireMessage,
  entryFromWal,
  entryToWal,
  RaftCodecError,
} from "../../src/transport/tcp-codec.ts"
import { configArb, entriesArb, messageArb } from "./arbitraries.ts"

const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

describe("Raft message codec", () => {
  it("decodes every encoded message to an equal message", () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        expect(decodeWireMessage(encodeWireMessage(m))).toEqual(m)
      }),
      { numRuns: 1000 },
    )
  })

  it("refuses every truncation of an encoding with a RaftCodecError", () => {
    fc.assert(
      fc.property(messageArb, fc.nat(), (m, cut) => {
        const bytes = encodeWireMessage(m)
        const e = thrown(() => decodeWireMessage(bytes.subarray(0, cut % bytes.length)))
        expect(e).toBeInstanceOf(RaftCodecError)
      }),
    )
  })

  it("never fails on arbitrary bytes with anything but a RaftCodecError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const e = thrown(() => decodeWireMessage(bytes))
        if (e !== undefined) expect(e).toBeInstanceOf(RaftCodecError)
      }),
      { numRuns: 2000 },
    )
  })

  it("is compact: a heartbeat between short ids fits in a dozen bytes", () => {
    const m: Message = {
      type: "Heartbeat",
      from: "n1",
      to: "n2",
      term: 7,
      leaderCommit: 1000,
      readContext: 0,
    }
    expect(encodeWireMessage(m).length).toBeLessThanOrEqual(12)
    // 256 entries of 256 bytes: under 1% overhead beyond the data.
    const entries = Array.from({ length: 256 }, (_, i) => ({
      type: "Normal" as const,
      index: 1000 + i,
      term: 3,
      data: new Uint8Array(256),
    }))
    const ae: AppendEntries = {
      type: "AppendEntries",
      from: "n1",
      to: "n2",
      term: 3,
      prevLogIndex: 999,
      prevLogTerm: 3,
      entries,
      leaderCommit: 990,
    }
    expect(encodeWireMessage(ae).length).toBeLessThan(256 * 256 * 1.02)
  })

  it("names the field of a value it cannot encode", () => {
    const cases: Array<[Message, string]> = [
      [{ type: "TimeoutNow", from: "a", to: "b", term: -1 }, "term"],
      [
        { type: "ReadIndexRequest", from: "a", to: "b", term: 1, context: 2 ** 52 },
        "ReadIndexRequest.context",
      ],
      [
        { type: "Heartbeat", from: "a", to: "b", term: 1, leaderCommit: 1.5, readContext: 0 },
        "Heartbeat.leaderCommit",
      ],
      [
        {
          type: "AppendEntries",
          from: "a",
          to: "b",
          term: 1,
          prevLogIndex: 0,
          prevLogTerm: 0,
          leaderCommit: 0,
          entries: [
            { type: "Normal", index: 1, term: 1, data: new Uint8Array() },
            { type: "Normal", index: 3, term: 1, data: new Uint8Array() },
          ],
        },
        "AppendEntries.entries[1].index",
      ],
    ]
    for (const [m, field] of cases) {
      const e = thrown(() => encodeWireMessage(m))
      expect(e).toBeInstanceOf(RaftCodecError)
      expect((e as RaftCodecError).field).toBe(field)
      expect((e as RaftCodecError).message).toContain(field)
    }
  })

  it("names the field and offset of bad input", () => {
    const e = thrown(() => decodeWireMessage(Uint8Array.of(99)))
    expect(e).toMatchObject({ field: "type", reason: "unknown message tag 99", offset: 1 })
    const long = thrown(() =>
      decodeWireMessage(
        Uint8Array.of(9, 1, 0x61, 1, 0x62, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
      ),
    )
    expect(long).toMatchObject({ field: "term", reason: "varint longer than 8 bytes" })
  })

  it("round-trips log entries through the WAL form, and configurations", () => {
    fc.assert(
      fc.property(entriesArb, configArb, (entries, config) => {
        for (const e of entries) expect(entryFromWal(entryToWal(e))).toEqual(e)
        expect(decodeConfig(encodeConfig(config))).toEqual(config)
      }),
    )
  })
})
