import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { applyPersist, freezeDurable, mutableDurable } from "../../src/core/durable.ts"
import { bootstrap, validateDurable } from "../../src/core/raft.ts"
import type { Config, Entry, HardState, Persist, Snapshot } from "../../src/core/types.ts"
import { WalInputError } from "../../src/wal/errors.ts"
import type { FileWal } from "../../src/wal/file-wal.ts"
import { openRaftStorage, persistToWal } from "../../src/wal/raft-storage.ts"
import { confChangeArb, configArb } from "../transport/arbitraries.ts"
import { withTempDir } from "./helpers.ts"

// Random storage writes of the kind the core issues, resolved against the
// current stored state so they respect Raft's invariants (terms never
// decrease, one vote per term, entries within the stored log, snapshots never
// go back).
type Op =
  | {
      readonly op: "append"
      readonly back: number
      readonly count: number
      readonly bump: number
      readonly conf: number
    }
  | {
      readonly op: "snapshot"
      readonly at: number
      readonly conflict: boolean
      readonly config: Config
    }
  | {
      readonly op: "hardState"
      readonly bump: number
      readonly vote: number
      readonly commit: number
    }
  | { readonly op: "crash" }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("append" as const),
      back: fc.nat({ max: 3 }),
      count: fc.integer({ min: 1, max: 4 }),
      bump: fc.nat({ max: 1 }),
      conf: fc.nat({ max: 9 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("snapshot" as const),
      at: fc.nat(),
      conflict: fc.boolean(),
      config: configArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("hardState" as const),
      bump: fc.nat({ max: 1 }),
      vote: fc.nat({ max: 3 }),
      commit: fc.nat({ max: 30 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "crash" as const }) },
)

type Stored = ReturnType<typeof mutableDurable>

const lastIndex = (d: Stored) => d.snapshot.index + d.entries.length
const termAt = (d: Stored, i: number) =>
  i === d.snapshot.index ? d.snapshot.term : d.entries[i - d.snapshot.index - 1]?.term

const withTerm = (hs: HardState, term: number): HardState =>
  term > hs.term ? { term, vote: null, commit: hs.commit } : hs

let serial = 0

const plan = (
  d: Stored,
  op: Exclude<Op, { op: "crash" }>,
  change: fc.Arbitrary<unknown>,
): Persist => {
  const base: Persist = {
    type: "Persist",
    hardState: null,
    snapshot: null,
    entries: [],
    after: [],
    ack: null,
  }
  switch (op.op) {
    case "append": {
      const from = Math.max(d.snapshot.index + 1, lastIndex(d) + 1 - op.back)
      const term = Math.max(1, termAt(d, from - 1) ?? 0, d.hardState.term) + op.bump
      const entries: Entry[] = []
      for (let i = 0; i < op.count; i++) {
        const index = from + i
        const n = serial++
        entries.push(
          op.conf === 0 && i === 0
            ? {
                type: "ConfChange",
                index,
                term,
                change: fc.sample(change, { numRuns: 1, seed: n })[0] as never,
              }
            : {
                type: "Normal",
                index,
                term,
                data: Uint8Array.of(n & 0xff, (n >> 8) & 0xff, index & 0xff),
              },
        )
      }
      return { ...base, entries, hardState: withTerm(d.hardState, term) }
    }
    case "snapshot": {
      const index = d.snapshot.index + (op.at % (d.entries.length + 3))
      if (index === 0) return base
      const held = termAt(d, index)
      const term = held !== undefined && !op.conflict ? held : Math.max(1, d.hardState.term) + 1
      const snapshot: Snapshot = {
        index,
        term,
        config: op.config,
        data: Uint8Array.of(index & 0xff),
      }
      return { ...base, snapshot, hardState: withTerm(d.hardState, term) }
    }
    case "hardState": {
      const term = d.hardState.term + op.bump
      const prev = d.hardState
      const vote =
        prev.term === term && prev.vote !== null ? prev.vote : op.vote === 0 ? null : `n${op.vote}`
      return { ...base, hardState: { term, vote, commit: op.commit } }
    }
  }
}

const initial: Config = {
  voters: ["n1", "n2", "n3"],
  outgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
}

describe("openRaftStorage / persistToWal", () => {
  it("store exactly what the core's reference semantics (applyPersist) say, across crashes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        await withTempDir(async (dir) => {
          const options = { dir, segmentBytes: 2048 }
          const ref = mutableDurable(bootstrap(initial))
          let opened = await openRaftStorage(options, initial)
          expect(opened.durable).toEqual(freezeDurable(ref))
          let wal: FileWal = opened.wal
          for (const op of ops) {
            if (op.op === "crash") {
              await wal.close()
              opened = await openRaftStorage(options)
              wal = opened.wal
              validateDurable(opened.durable)
              expect(opened.durable).toEqual(freezeDurable(ref))
              continue
            }
            const p = plan(ref, op, confChangeArb)
            // Issued without awaiting: writes must become durable in call order.
            void persistToWal(wal, p)
            applyPersist(ref, p)
          }
          await wal.close()
          const last = await openRaftStorage(options)
          validateDurable(last.durable)
          expect(last.durable).toEqual(freezeDurable(ref))
          await last.wal.close()
        })
      }),
      { numRuns: 40 },
    )
  })

  it("needs the initial configuration for a new member", async () => {
    await withTempDir(async (dir) => {
      const e = await openRaftStorage({ dir }).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(WalInputError)
      expect((e as WalInputError).field).toBe("bootstrap")
      // It did not leave a half-initialised directory behind.
      const ok = await openRaftStorage({ dir }, initial)
      expect(ok.durable.snapshot.config).toEqual(initial)
      await ok.wal.close()
    })
  })
})
