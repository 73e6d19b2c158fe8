/**
 * The watch cache (Kubernetes' `Cacher`): one store watch per resource,
 * shared by every HTTP watch of it. Each change is decoded once and kept in a
 * bounded history; a new watcher replays the history after its revision and
 * then receives live changes, both in the same synchronous step, so it sees
 * each change after its revision exactly once and in order. Encoded event
 * lines are memoized per change, so a hundred plain watchers cost one
 * `JSON.stringify` per change, not a hundred.
 *
 * A watcher asking for a revision older than the history (or any watch when
 * the cache is not running) is served by a direct store watch instead, which
 * answers 410 when the revision was compacted.
 */
import { Duration, Effect, Scheduler, type Scope, Stream } from "effect"
import type { Change, ObjectStore } from "./storage.ts"

/** Changes a watcher receives in one step (never empty), with the revision they bring it to. */
export type Sink = (changes: ReadonlyArray<Change>, revision: number) => void

export interface Subscription {
  readonly unsubscribe: () => void
}

/** What the cache tells its watchers besides changes. */
export interface WatcherCallbacks {
  readonly changes: Sink
  /** Every change up to `revision` has been delivered (for bookmarks). */
  readonly progress?: (revision: number) => void
  /** The cache stopped (its store watch failed): the watch must end. */
  readonly end: (reason: string) => void
}

interface Watcher {
  readonly from: number
  readonly callbacks: WatcherCallbacks
}

/** Changes kept per resource for watchers that start in the recent past. */
export const defaultHistorySize = 1000

export class ResourceCache {
  readonly prefix: string
  readonly #capacity: number
  /**
   * The history is `#history` from `#head` on. Changes dropped from its
   * front are cut off the array once they are a quarter of the capacity:
   * slicing the whole history on every change copied (and allocated) the
   * capacity's worth of slots per write.
   */
  #history: Array<Change> = []
  #head = 0
  /** The history holds every change after this revision. */
  #complete = Number.POSITIVE_INFINITY
  /** Every change up to this revision has been received. */
  #revision = 0
  #running = false
  readonly #watchers = new Set<Watcher>()

  constructor(prefix: string, capacity = defaultHistorySize) {
    this.prefix = prefix
    this.#capacity = capacity
  }

  get running(): boolean {
    return this.#running
  }

  get revision(): number {
    return this.#revision
  }

  /** Starts receiving changes after `revision`. */
  start(revision: number): void {
    this.#history = []
    this.#head = 0
    this.#complete = revision
    this.#revision = revision
    this.#running = true
  }

  /** Stops: every watcher ends with `reason`. */
  stop(reason: string): void {
    this.#running = false
    this.#complete = Number.POSITIVE_INFINITY
    const watchers = [...this.#watchers]
    this.#watchers.clear()
    for (const w of watchers) w.callbacks.end(reason)
  }

  /** Receives a batch of changes from the store (in revision order). */
  receive(changes: ReadonlyArray<Change>, revision: number): void {
    for (const c of changes) this.#history.push(c)
    if (this.#history.length - this.#head > this.#capacity) {
      this.#head = this.#history.length - this.#capacity
      this.#complete = (this.#history[this.#head - 1] as Change).revision
      if (this.#head >= Math.max(1, this.#capacity >> 2)) {
        this.#history = this.#history.slice(this.#head)
        this.#head = 0
      }
    }
    this.#revision = Math.max(this.#revision, revision, changes[changes.length - 1]?.revision ?? 0)
    for (const w of this.#watchers) {
      const wanted =
        changes[0] !== undefined && changes[0].revision > w.from
          ? changes
          : changes.filter((c) => c.revision > w.from)
      if (wanted.length > 0) w.callbacks.changes(wanted, this.#revision)
    }
  }

  /** Every change up to `revision` has been received. */
  progress(revision: number): void {
    this.#revision = Math.max(this.#revision, revision)
    for (const w of this.#watchers) w.callbacks.progress?.(this.#revision)
  }

  /** Whether a watcher from `from` can be served from this cache. */
  canServe(from: number): boolean {
    return this.#running && from >= this.#complete
  }

  /**
   * Subscribes a watcher to changes after `from`: the history's first, then
   * live ones. Undefined when the cache cannot serve that revision.
   */
  subscribe(from: number, callbacks: WatcherCallbacks): Subscription | undefined {
    if (!this.#running || from < this.#complete) return undefined
    const w: Watcher = { from, callbacks }
    // Binary search for the first change after `from`.
    let lo = this.#head
    let hi = this.#history.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#history[mid] as Change).revision <= from) lo = mid + 1
      else hi = mid
    }
    const replay = this.#history.slice(lo)
    if (replay.length > 0) callbacks.changes(replay, this.#revision)
    this.#watchers.add(w)
    return { unsubscribe: () => this.#watchers.delete(w) }
  }

  get watcherCount(): number {
    return this.#watchers.size
  }
}

export interface WatchCaches {
  /** The cache of a resource's changes (all namespaces), if the resource is cached. */
  readonly get: (resource: string) => ResourceCache | undefined
}

/**
 * Starts a cache per resource, each on its own store watch, for the scope's
 * lifetime. A cache whose watch fails ends its watchers and starts again from
 * the store's current revision.
 */
export const makeWatchCaches = (
  store: ObjectStore,
  resources: ReadonlyArray<string>,
  options: {
    readonly historySize?: number
    readonly progressEveryMs?: number
    /** Longest a change waits for others to share its batch (default 10 ms). */
    readonly batchMs?: number
    /** A batch this large goes out at once (default 16). */
    readonly batchChanges?: number
  } = {},
): Effect.Effect<WatchCaches, never, Scope.Scope> =>
  Effect.gen(function* () {
    const batchMs = options.batchMs ?? 10
    const batchChanges = options.batchChanges ?? 16
    const caches = new Map<string, ResourceCache>()
    // Every cache starts at once from the current revision, so watches can use them
    // as soon as this returns; a restart starts again from the revision of its time.
    const initial = yield* Effect.orElseSucceed(store.revision, () => 0)
    for (const resource of resources) {
      const cache = new ResourceCache(`/registry/${resource}/`, options.historySize)
      caches.set(resource, cache)
      cache.start(initial)
      // Changes reach the cache in batches: a store event per write would
      // reach every watcher per write, and a socket write costs about the
      // same (~5 µs of CPU) for one event as for twenty; batched, each
      // watcher gets one chunk for all of them (and plain watchers share its
      // bytes). A batch goes out once its first change has waited `batchMs`:
      // on a timer, or as soon as a later change finds it due (a busy turn of
      // the event loop delays timers); or at once when it holds `batchChanges`
      // changes, which already share their writes well. The last matters for a
      // Raft store: it applies a whole round of proposals in one step, so the
      // changes come in bursts and no later change would find the batch due
      // before the timer, which waits behind the rest of the busy turn
      // (measured: watch delivery p50 20-28 ms, p99 46-114; at once: 6-12 ms,
      // p99 24-32 outside the create phase).
      let pending: Array<Change> = []
      let pendingRevision = 0
      let oldest = 0
      let timer: ReturnType<typeof setTimeout> | undefined
      const flush = () => {
        if (timer !== undefined) clearTimeout(timer)
        timer = undefined
        if (pending.length === 0) return
        const batch = pending
        pending = []
        cache.receive(batch, pendingRevision)
      }
      const stop = (reason: string) => {
        flush()
        cache.stop(reason)
      }
      let first = true
      const run = Effect.gen(function* () {
        const revision = first ? initial : yield* store.revision
        first = false
        if (!cache.running) cache.start(revision)
        yield* Stream.runForEach(
          store.watch(cache.prefix, revision, options.progressEveryMs ?? 1000),
          (item) =>
            Effect.sync(() => {
              switch (item._tag) {
                case "Changes": {
                  const now = performance.now()
                  if (pending.length === 0) oldest = now
                  for (const c of item.changes) pending.push(c)
                  if (item.revision > pendingRevision) pendingRevision = item.revision
                  if (now - oldest >= batchMs || pending.length >= batchChanges) flush()
                  else timer ??= setTimeout(flush, batchMs - (now - oldest))
                  return
                }
                case "Progress":
                  flush()
                  cache.progress(item.revision)
                  return
                case "Compacted":
                  stop(`too old resource version: ${cache.revision} (${item.compactRevision})`)
                  return
              }
            }),
        )
      })
      // The store's events wake this fiber in a microtask of the write that
      // made them, not in a later turn of the event loop behind every request
      // that arrived meanwhile (Effect's default scheduler): watch delivery
      // waits for at most `batchMs`, not for a whole busy turn.
      yield* Effect.forkScoped(
        Effect.forever(
          run.pipe(
            Effect.catch((e) => Effect.sync(() => stop(e.status.message ?? "watch failed"))),
            Effect.andThen(Effect.sync(() => stop("the watch cache restarts"))),
            Effect.andThen(Effect.sleep(Duration.millis(100))),
          ),
        ).pipe(Effect.provideService(Scheduler.Scheduler, new Scheduler.MixedScheduler("sync"))),
      )
      yield* Effect.addFinalizer(() => Effect.sync(() => stop("the server is stopping")))
    }
    return { get: (resource) => caches.get(resource) }
  })
