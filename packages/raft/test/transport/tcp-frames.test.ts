import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Message } from "../../src/core/types.ts"
import { RaftCodecError } from "../../src/transport/tcp-codec.ts"
import {
  decodeBatch,
  decodeHello,
  encodeBatches,
  encodeHello,
  FrameDecoder,
} from "../../src/transport/tcp-frames.ts"
import { messageArb } from "./arbitraries.ts"

/** Cuts `bytes` at the given points (sorted, deduplicated, in range). */
const cutAt = (bytes: Uint8Array, points: ReadonlyArray<number>): Uint8Array[] => {
  const cuts = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let prev = 0
  for (const c of [...cuts, bytes.length]) {
    out.push(bytes.slice(prev, c))
    prev = c
  }
  return out
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

describe("TCP framing", () => {
  it("reassembles batches cut at any points into the same messages, in order", () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { maxLength: 30 }),
        fc.integer({ min: 64, max: 2000 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (messages, softLimit, points) => {
          const frames = encodeBatches(messages, 0, messages.length, softLimit)
          const stream = concat([encodeHello("n1", "n2"), ...frames])
          const decoder = new FrameDecoder(1 << 20)
          const payloads = cutAt(stream, points).flatMap((c) => decoder.push(c))
          expect(decoder.buffered).toBe(0)
          expect(decodeHello(payloads[0]!)).toEqual({ from: "n1", to: "n2" })
          expect(payloads.slice(1).flatMap(decodeBatch)).toEqual(messages)
          // Frames respect the limit unless one message alone exceeds it.
          for (const f of frames) {
            const msgs = decodeBatch(f.subarray(4))
            if (msgs.length > 1) expect(f.length).toBeLessThanOrEqual(softLimit)
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  it("refuses a frame longer than the limit and a hello from something else", () => {
    const decoder = new FrameDecoder(1024)
    expect(() => decoder.push(Uint8Array.of(0x01, 0x04, 0, 0, 1))).toThrow(RaftCodecError)
    expect(() => decodeHello(Uint8Array.of(1, 0x48, 0x54, 0x54, 0x50))).toThrow(
      "cannot decode hello.magic",
    )
    const m: Message = { type: "TimeoutNow", from: "a", to: "b", term: 1 }
    const frame = encodeBatches([m], 0, 1, 1024)[0]!
    expect(() => decodeHello(frame.subarray(4))).toThrow("expected a hello frame, got kind 2")
  })
})
