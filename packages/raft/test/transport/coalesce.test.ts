import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { AppendEntries, Message } from "../../src/core/types.ts"
import { coalesceAppends, isEmptyAppend } from "../../src/transport/coalesce.ts"
import { messageArb } from "./arbitraries.ts"

const append = (
  prevLogIndex: number,
  leaderCommit: number,
  entries: number,
  term = 2,
  prevLogTerm = 2,
): AppendEntries => ({
  type: "AppendEntries",
  from: "n1",
  to: "n2",
  term,
  prevLogIndex,
  prevLogTerm,
  leaderCommit,
  entries: Array.from({ length: entries }, (_, i) => ({
    index: prevLogIndex + 1 + i,
    term,
    type: "Normal" as const,
    data: new Uint8Array(1),
  })),
})

/** `later` tells the follower everything `m` (an empty AppendEntries) does. */
const supersedes = (later: Message, m: AppendEntries): boolean =>
  later.type === "AppendEntries" &&
  later.term === m.term &&
  later.prevLogIndex === m.prevLogIndex &&
  later.prevLogTerm === m.prevLogTerm &&
  later.leaderCommit >= m.leaderCommit

// Small values so that AppendEntries often share term and prevLogIndex.
const smallAppendArb: fc.Arbitrary<Message> = fc
  .record({
    prev: fc.nat({ max: 3 }),
    commit: fc.nat({ max: 3 }),
    entries: fc.nat({ max: 2 }),
    term: fc.integer({ min: 1, max: 2 }),
  })
  .map(({ prev, commit, entries, term }) => append(prev, commit, entries, term, term))

describe("coalesceAppends", () => {
  it("drops a commitIndex-only AppendEntries that the next proposal's AppendEntries covers", () => {
    const bump = append(5, 5, 0)
    const next = append(5, 5, 1)
    const queue: Message[] = [bump, next]
    expect(coalesceAppends(queue)).toBe(1)
    expect(queue).toEqual([next])
  })

  it("keeps it when the later one differs in term, prevLogIndex or prevLogTerm, or commits less", () => {
    const bump = append(5, 5, 0)
    for (const later of [
      append(5, 5, 1, 3, 2),
      append(6, 5, 1),
      append(5, 5, 1, 2, 1),
      append(5, 4, 1),
    ]) {
      const queue: Message[] = [bump, later]
      expect(coalesceAppends(queue)).toBe(0)
      expect(queue).toEqual([bump, later])
    }
    // Nothing after it, or only other kinds of message.
    const alone: Message[] = [{ type: "TimeoutNow", from: "n1", to: "n2", term: 2 }, bump]
    expect(coalesceAppends(alone)).toBe(0)
    expect(alone).toHaveLength(2)
  })

  it("keeps order, drops only superseded empty AppendEntries, and all of them (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(smallAppendArb, smallAppendArb, messageArb), { maxLength: 30 }),
        (input) => {
          const queue = [...input]
          const dropped = coalesceAppends(queue)
          expect(queue.length).toBe(input.length - dropped)
          // An order-preserving subsequence: walk the input, matching by identity.
          let k = 0
          const keptAt: number[] = []
          input.forEach((m, i) => {
            if (queue[k] === m) {
              keptAt.push(i)
              k++
            }
          })
          expect(k).toBe(queue.length)
          input.forEach((m, i) => {
            const kept = keptAt.includes(i)
            const supersededByKept = keptAt.some(
              (j) => j > i && isEmptyAppend(m) && supersedes(input[j]!, m),
            )
            // Dropped exactly when empty and a later message that stays says more.
            expect(kept).toBe(!supersededByKept)
          })
        },
      ),
      { numRuns: 500 },
    )
  })
})
