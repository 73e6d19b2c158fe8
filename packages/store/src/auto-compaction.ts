// The member's automatic compaction loop (etcd's --auto-compaction-*): it
// steps the pure compactor (core/compactor.ts) on the member's clock, reads
// the revision and the leader from the member's Cluster service, and
// compacts through its KV service (a log entry, as any Compact) when the
// compactor says so. A refusal because the revision was compacted already
// counts as done, as in etcd; another failure is tried again a step later.
import { Clock, Effect, type Scope } from "effect"
import { Cluster } from "./cluster.ts"
import {
  type CompactorStep,
  PeriodicCompactor,
  RevisionCompactor,
  stepIntervalMs,
} from "./core/compactor.ts"
import type { AutoCompaction } from "./core/config.ts"
import { ErrCompacted } from "./core/errors.ts"
import { KV } from "./kv.ts"

/** Runs the compactor for the life of the current scope. */
export const runAutoCompaction = (
  config: AutoCompaction,
): Effect.Effect<void, never, Cluster | KV | Scope.Scope> =>
  Effect.gen(function* () {
    const cluster = yield* Cluster
    const kv = yield* KV
    const start = yield* Clock.currentTimeMillis
    const periodic =
      config.mode === "periodic" ? new PeriodicCompactor(config.retentionMs, start) : undefined
    const byRevision =
      config.mode === "revision" ? new RevisionCompactor(config.retention) : undefined
    const step = Effect.gen(function* () {
      const stats = yield* cluster.stats
      const now = yield* Clock.currentTimeMillis
      const leading = stats.leader !== 0n && stats.leader === stats.memberId
      const asked: CompactorStep =
        periodic?.step(now, stats.revision, leading) ??
        byRevision?.step(stats.revision, leading) ??
        {}
      const to = asked.compactTo
      if (to === undefined) return
      const done = yield* kv.compact({ revision: to }).pipe(
        Effect.as(true),
        Effect.catch((e) => Effect.succeed(e.message === ErrCompacted.message)),
      )
      if (!done) return
      periodic?.succeeded(yield* Clock.currentTimeMillis)
      byRevision?.succeeded(to)
    })
    yield* Effect.forkScoped(
      Effect.forever(Effect.andThen(Effect.sleep(stepIntervalMs(config)), step)),
    )
  })
