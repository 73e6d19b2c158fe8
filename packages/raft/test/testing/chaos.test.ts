// Safety under adversarial schedules (fast-check generates and shrinks them),
// and proof that the schedules find real bugs: mutants of the core fail.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Mutation } from "../../src/index.ts"
import { Chaos } from "../../src/testing/chaos.ts"

const action = fc.tuple(fc.nat({ max: 999 }), fc.nat({ max: 1 << 20 }))
const schedule = fc.array(action, { minLength: 1000, maxLength: 1500, size: "max" })
const knobs = fc.record({
  preVote: fc.boolean(),
  checkQuorum: fc.boolean(),
  diskFirst: fc.boolean(),
})

const run = (
  s: ReadonlyArray<readonly [number, number]>,
  k: { preVote: boolean; checkQuorum: boolean },
  o: { mutations?: Mutation[]; spares?: number } = {},
) =>
  new Chaos({
    voters: 3,
    spares: o.spares ?? 0,
    mutations: o.mutations ?? [],
    raft: {
      electionTick: 2,
      preVote: k.preVote,
      checkQuorum: k.checkQuorum,
      readOnly: "Safe",
    },
  }).run(s)

describe("chaos schedules", () => {
  it("the core keeps Election Safety, Log Matching, Leader Completeness, State Machine Safety and read linearizability", () => {
    fc.assert(
      fc.property(schedule, knobs, (s, k) => {
        const r = run(s, k)
        if (r.violation !== null) throw new Error(`${r.violation}\n${r.trace.join("\n")}`)
        expect(r.actions).toBe(s.length)
      }),
      { numRuns: 60 },
    )
  })

  it("the same holds while membership changes (single-server and joint) run concurrently", () => {
    fc.assert(
      fc.property(schedule, knobs, (s, k) => {
        const r = run(s, k, { spares: 2 })
        if (r.violation !== null) throw new Error(`${r.violation}\n${r.trace.join("\n")}`)
        expect(r.actions).toBe(s.length)
      }),
      { numRuns: 40 },
    )
  })

  it("runs make progress: leaders are elected and entries committed", () => {
    let committed = 0
    fc.assert(
      fc.property(schedule, knobs, (s, k) => {
        committed += run(s, k).maxCommitted
      }),
      { numRuns: 20, seed: 7 },
    )
    expect(committed / 20).toBeGreaterThan(3)
  })

  for (const mutation of [
    "VoteWithoutLogCheck",
    "AppendWithoutPrevCheck",
    "LeaderIgnoresHigherTerm",
  ] as const) {
    it(`finds a violation in the ${mutation} mutant`, () => {
      const result = fc.check(
        fc.property(
          schedule,
          knobs,
          (s, k) => run(s, k, { mutations: [mutation] }).violation === null,
        ),
        { numRuns: 400, endOnFailure: true, seed: 1 },
      )
      expect(result.failed).toBe(true)
    })
  }
})
