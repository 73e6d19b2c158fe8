// Embedded clusters on Effect's TestClock: time moves only when a test says so.
import { RaftNode } from "@flotilla/raft"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import {
  type EmbeddedMember,
  type EmbeddedOptions,
  makeEmbeddedCluster,
} from "../../src/embedded.ts"

export const TICK = 10

export const embedded = (options: EmbeddedOptions = {}) =>
  makeEmbeddedCluster({ tickMs: TICK, requestTimeout: 2_000, ...options })

/**
 * Runs `effect` while the test clock advances one tick at a time; fails after
 * `maxTicks` (simulated time, a deadline rather than a sleep).
 */
export const drive = <A, E>(effect: Effect.Effect<A, E>, maxTicks = 3_000) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(effect)
    for (let i = 0; i < maxTicks; i++) {
      yield* Effect.yieldNow
      const exit = fiber.pollUnsafe()
      if (exit !== undefined) return yield* exit
      yield* TestClock.adjust(TICK)
    }
    yield* Fiber.interrupt(fiber)
    return yield* Effect.die(new Error(`still running after ${maxTicks} ticks`))
  })

/** Advances the test clock until `check` holds (fails after `maxTicks`). */
export const until = <E>(what: string, check: Effect.Effect<boolean, E>, maxTicks = 3_000) =>
  Effect.gen(function* () {
    for (let i = 0; i < maxTicks; i++) {
      if (yield* check) return
      yield* TestClock.adjust(TICK)
    }
    return yield* Effect.die(new Error(`timed out waiting for ${what}`))
  })

/** The running member that leads (once exactly one does). */
export const leaderOf = (members: ReadonlyArray<EmbeddedMember>) =>
  Effect.gen(function* () {
    let leader: EmbeddedMember | undefined
    yield* until(
      "one leader",
      Effect.gen(function* () {
        const leading: EmbeddedMember[] = []
        for (const m of members) {
          if (!m.running) continue
          if ((yield* m.get(RaftNode).status).role === "Leader") leading.push(m)
        }
        leader = leading.length === 1 ? leading[0] : undefined
        return leader !== undefined
      }),
    )
    return leader!
  })
