/**
 * The work queue as an Effect service for controllers: `get` waits for the
 * next item (or `undefined` once the queue is shut down), `done` releases
 * it, `addAfter` and `addRateLimited` hold items back on Effect's clock (so
 * tests drive time with `TestClock`). The queueing rules are the pure
 * `WorkQueueState` of `core/workqueue.ts`.
 */
import { Clock, Duration, Effect, type Scope } from "effect"
import { ControllerRateLimiter, WorkQueueState } from "./core/workqueue.ts"

export interface RateLimiter {
  readonly when: (key: string, nowMs: number) => number
  readonly numRequeues: (key: string) => number
  readonly forget: (key: string) => void
}

export interface WorkQueue<T> {
  readonly add: (item: T) => Effect.Effect<void>
  /** `add` as a plain call, for informer handlers (which run synchronously and only enqueue). */
  readonly addUnsafe: (item: T) => void
  readonly addAfter: (item: T, delay: Duration.Input) => Effect.Effect<void>
  /** Adds after the rate limiter's delay for this item (its backoff grows with each call). */
  readonly addRateLimited: (item: T) => Effect.Effect<void>
  /** Resets the item's backoff (call after it was processed successfully). */
  readonly forget: (item: T) => Effect.Effect<void>
  readonly numRequeues: (item: T) => Effect.Effect<number>
  /** The next item to process, waiting for one; `undefined` once shut down and drained. */
  readonly get: Effect.Effect<T | undefined>
  /**
   * Marks an item processed (it is queued again if it was added meanwhile).
   * Once per `get`: a second `done` is ignored while no worker holds the item.
   */
  readonly done: (item: T) => Effect.Effect<void>
  readonly length: Effect.Effect<number>
  readonly shutDown: Effect.Effect<void>
}

export interface WorkQueueOptions<T> {
  /** How items are compared (default: `String(item)`). */
  readonly keyOf?: (item: T) => string
  readonly rateLimiter?: RateLimiter
}

/** A work queue whose delay timer lives in the current scope. */
export const makeWorkQueue = <T>(
  options: WorkQueueOptions<T> = {},
): Effect.Effect<WorkQueue<T>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const keyOf = options.keyOf ?? ((item: T) => String(item))
    const state = new WorkQueueState<T>(keyOf)
    const limiter = options.rateLimiter ?? new ControllerRateLimiter()
    const getters = new Set<() => boolean>()
    /**
     * Wakes getters that can now take an item (each takes at most one). A
     * resumed worker may run at once, inside this loop, and call `done` (whose
     * own wake-up runs then): a getter leaves the set before it resumes, so
     * that no wake-up finds it still waiting and hands it a second item.
     */
    const wake = () => {
      for (const g of [...getters]) if (getters.has(g)) g()
    }
    let timerGeneration = 0
    const timerWaiters = new Set<() => void>()
    const wakeTimer = () => {
      timerGeneration++
      for (const w of [...timerWaiters]) w()
      timerWaiters.clear()
    }
    /** Resolves when the delayed set changes after `generation`. */
    const timerChanged = (generation: number) =>
      Effect.callback<void>((resume) => {
        if (timerGeneration !== generation) {
          resume(Effect.void)
          return
        }
        const w = () => resume(Effect.void)
        timerWaiters.add(w)
        return Effect.sync(() => {
          timerWaiters.delete(w)
        })
      })

    // Releases delayed items when their time comes.
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          const generation = timerGeneration
          const now = yield* Clock.currentTimeMillis
          state.advance(now)
          wake()
          const next = state.nextReadyAt()
          if (next === undefined) yield* timerChanged(generation)
          else
            yield* Effect.raceFirst(
              Effect.sleep(Duration.millis(Math.max(0, next - now))),
              timerChanged(generation),
            )
        }),
      ),
    )
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        state.shutDown()
        wake()
      }),
    )

    const addAt = (item: T, delayMs: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const before = state.nextReadyAt()
          state.addAt(item, now + delayMs, now)
          if (delayMs <= 0) wake()
          else if (before === undefined || now + delayMs < before) wakeTimer()
        }),
      )

    const addUnsafe = (item: T) => {
      state.add(item)
      wake()
    }
    return {
      add: (item) => Effect.sync(() => addUnsafe(item)),
      addUnsafe,
      addAfter: (item, delay) => addAt(item, Duration.toMillis(Duration.fromInputUnsafe(delay))),
      addRateLimited: (item) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          addAt(item, limiter.when(keyOf(item), now)),
        ),
      forget: (item) => Effect.sync(() => limiter.forget(keyOf(item))),
      numRequeues: (item) => Effect.sync(() => limiter.numRequeues(keyOf(item))),
      get: Effect.callback<T | undefined>((resume) => {
        const take = (): boolean => {
          const item = state.get()
          if (item !== undefined) {
            getters.delete(take)
            resume(Effect.succeed(item))
            return true
          }
          if (state.shuttingDown) {
            getters.delete(take)
            resume(Effect.succeed(undefined))
            return true
          }
          return false
        }
        if (take()) return
        getters.add(take)
        return Effect.sync(() => {
          getters.delete(take)
        })
      }),
      done: (item) =>
        Effect.sync(() => {
          state.done(item)
          wake()
        }),
      length: Effect.sync(() => state.length),
      shutDown: Effect.sync(() => {
        state.shutDown()
        wake()
      }),
    }
  })
