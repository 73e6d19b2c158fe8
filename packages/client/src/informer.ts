/**
 * Informers (client-go's `SharedIndexInformer` with its `Reflector`): list
 * every object (paged, at one revision), then watch from that revision,
 * keeping an indexed cache and telling handlers what changed. A 410 (the
 * revision was compacted) or a failed list makes it list again, with
 * backoff; a watch that ends (its timeout) resumes from the last revision
 * seen (bookmarks keep it fresh). Every `resyncPeriod` the handlers get an
 * update for every cached object, so controllers re-check their world.
 *
 * Every retry backs off as client-go's reflector does (`reflectorBackoff`):
 * a failed list or watch, a relist after 410, and a "very short watch" (one
 * that ends within a second having delivered nothing) each wait 0.8 s
 * doubling to 30 s, or longer when the server says `Retry-After`; the delay
 * starts over once two minutes pass without a retry. So a server that
 * closes every watch at once, or answers every watch with 410, is asked
 * about once per backoff step, not thousands of times a second.
 *
 * Handlers run on the informer's fiber, in event order, and must only
 * enqueue work (a `WorkQueue.add`), never block. A handler that throws is
 * logged and skipped (client-go's `HandleError`); it does not stop the
 * informer.
 */
import { Clock, Deferred, Duration, Effect, Random, type Scope, Stream } from "effect"
import { type ClientError, isGone, type ResourceClient } from "./client.ts"
import { Indexer, type IndexFunc, keyOf, namespaceIndex, type ObjectLike } from "./core/indexer.ts"

export interface EventHandler<T> {
  /** An object appeared; `initial` when it came from the informer's first list (or a late handler's catch-up). */
  readonly onAdd?: (object: T, initial: boolean) => void
  /** An object changed (or a resync: `old === object`). */
  readonly onUpdate?: (old: T, object: T) => void
  /** An object went away; `object` is its last known state. */
  readonly onDelete?: (object: T) => void
}

export interface InformerOptions<T> {
  /** Only this namespace ("" or absent: all). */
  readonly namespace?: string
  readonly labelSelector?: string
  readonly fieldSelector?: string
  /**
   * Re-deliver every cached object as an update this often (absent or 0:
   * never; less than a second: a second, client-go's `minimumResyncPeriod`).
   */
  readonly resyncPeriod?: Duration.Input
  /** Indexes besides `namespace` (see `labelsIndex`, `nodeNameIndex`). */
  readonly indexers?: Readonly<Record<string, IndexFunc<T>>>
  /** Page size of lists (default 500). */
  readonly pageSize?: number
}

export interface Informer<T extends ObjectLike> {
  /** The cache: read it, never write it. */
  readonly indexer: Indexer<T>
  /** Registers a handler for the lifetime of the scope; objects already cached are delivered as adds. */
  readonly addEventHandler: (handler: EventHandler<T>) => Effect.Effect<void, never, Scope.Scope>
  /** Whether the first list has been delivered. */
  readonly hasSynced: Effect.Effect<boolean>
  /** Waits until the first list has been delivered. */
  readonly waitForSync: Effect.Effect<void>
  /** The revision the cache reflects. */
  readonly resourceVersion: Effect.Effect<string>
  /** How many times the informer has listed (1 + relists). */
  readonly lists: Effect.Effect<number>
  /**
   * Why the last list or watch failed (`list failed: connect ECONNREFUSED
   * ...`), while the informer is retrying; `undefined` once a list succeeds
   * or a watch moves the revision on. For controllers to say why they wait.
   */
  readonly lastError: Effect.Effect<string | undefined>
}

const rvOf = (o: ObjectLike): string => o.metadata?.resourceVersion ?? ""

/** client-go's reflector backoff (`NewExponentialBackoffManager(800ms, 30s, 2min, 2.0, ...)`), and its limits. */
export const reflectorBackoff = {
  initialMs: 800,
  maxMs: 30_000,
  /** The delay starts over after this long without a retry. */
  resetMs: 120_000,
  /** A watch that ends this soon with no event is a failure ("very short watch"). */
  shortWatchMs: 1_000,
  /** A server's `Retry-After` is honoured up to this. */
  maxRetryAfterMs: 600_000,
  /** A list (all its pages) that takes longer fails and is retried. */
  listTimeoutMs: 60_000,
} as const

/**
 * client-go's `isTooLargeResourceVersionError`: the server is behind the
 * revision asked for (a 504 with the `ResourceVersionTooLarge` cause, or an
 * older server's "Too large resource version" cause message). Retrying the
 * same revision cannot help (the store may have been reset): list again.
 */
export const isTooLargeResourceVersion = (status: unknown): boolean => {
  if (typeof status !== "object" || status === null) return false
  const s = status as { code?: unknown; details?: { causes?: unknown } }
  const causes = Array.isArray(s.details?.causes) ? (s.details.causes as Array<unknown>) : []
  return causes.some((c) => {
    if (typeof c !== "object" || c === null) return false
    const cause = c as { reason?: unknown; message?: unknown }
    return (
      cause.reason === "ResourceVersionTooLarge" ||
      (s.code === 504 && cause.message === "Too large resource version")
    )
  })
}

/** The delay before retry number `failures` (0-based), honouring a server's `Retry-After`. */
export const backoffDelayMs = (failures: number, retryAfterSeconds?: number): number =>
  Math.max(
    Math.min(reflectorBackoff.maxMs, reflectorBackoff.initialMs * 2 ** Math.min(failures, 16)),
    Math.min(reflectorBackoff.maxRetryAfterMs, (retryAfterSeconds ?? 0) * 1000),
  )

/** Starts an informer in the current scope. */
export const makeInformer = <T extends ObjectLike>(
  client: ResourceClient<T>,
  options: InformerOptions<T> = {},
): Effect.Effect<Informer<T>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const namespace = options.namespace ?? ""
    // For log lines only (test doubles may have no descriptor).
    const kind = (client.descriptor as { readonly kind?: string } | undefined)?.kind ?? "objects"
    const handlers = new Set<EventHandler<T>>()
    const synced = yield* Deferred.make<void>()
    let resourceVersion = ""
    let lists = 0
    let lastError: string | undefined

    const selectors = {
      ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }),
      ...(options.fieldSelector === undefined ? {} : { fieldSelector: options.fieldSelector }),
    }

    /** What handlers (and index functions) threw, logged after the event that caused it. */
    const thrown: Array<string> = []
    const indexer = new Indexer<T>(
      { namespace: namespaceIndex as IndexFunc<T>, ...options.indexers },
      (index, key, e) =>
        thrown.push(
          `index ${JSON.stringify(index)} threw for ${key} (not found under it): ${e instanceof Error ? e.message : String(e)}`,
        ),
    )
    const guard = (what: string, o: T, f: () => void) => {
      try {
        f()
      } catch (e) {
        thrown.push(
          `${what} handler for ${keyOf(o)} threw: ${e instanceof Error ? e.message : String(e)}`,
        )
      }
    }
    const logThrown = Effect.suspend(() =>
      thrown.length === 0
        ? Effect.void
        : Effect.logError(`informer for ${kind}: ${thrown.splice(0).join("; ")}`),
    )
    const added = (o: T, initial: boolean) => {
      for (const h of handlers) if (h.onAdd) guard("add", o, () => h.onAdd?.(o, initial))
    }
    const updated = (old: T, o: T) => {
      for (const h of handlers) if (h.onUpdate) guard("update", o, () => h.onUpdate?.(old, o))
    }
    const deleted = (o: T) => {
      for (const h of handlers) if (h.onDelete) guard("delete", o, () => h.onDelete?.(o))
    }

    const list = Effect.gen(function* () {
      const result = yield* client
        .listAll(namespace, { ...selectors, limit: options.pageSize ?? 500 })
        .pipe(
          Effect.timeoutOrElse({
            duration: Duration.millis(reflectorBackoff.listTimeoutMs),
            orElse: () =>
              Effect.fail({
                gone: false,
                message: `list took longer than ${reflectorBackoff.listTimeoutMs / 1000} s`,
              }),
          }),
        )
      const first = lists === 0
      lists++
      // The cache and revision change first: a handler may run its consumer at once.
      const change = indexer.replace(result.items)
      resourceVersion = result.resourceVersion
      yield* Deferred.succeed(synced, undefined)
      for (const o of change.added) added(o, first)
      for (const { old, object } of change.updated)
        if (rvOf(old) !== rvOf(object)) updated(old, object)
      for (const o of change.removed) deleted(o)
      yield* logThrown
    })

    /**
     * Moves the revision to resume from. An event without one leaves it: a
     * watch from "" would start at the server's present and silently skip
     * every change (deletes included) since the last revision seen.
     */
    const advance = (rv: string) => {
      if (rv === "") return
      if (rv !== resourceVersion) lastError = undefined
      resourceVersion = rv
    }

    /**
     * Watches from the current revision until the stream ends; fails with 410
     * when it must relist. Answers how many events (bookmarks included) came.
     */
    const watchOnce = Effect.gen(function* () {
      const timeoutSeconds = yield* Random.nextIntBetween(300, 600)
      let events = 0
      yield* client
        .watch(namespace, {
          ...selectors,
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
        })
        .pipe(
          Stream.runForEach((event) =>
            Effect.suspend(() => {
              events++
              switch (event.type) {
                case "ADDED":
                case "MODIFIED": {
                  const old = indexer.upsert(event.object)
                  advance(rvOf(event.object))
                  if (old === undefined) added(event.object, false)
                  else updated(old, event.object)
                  return logThrown
                }
                case "DELETED": {
                  const old = indexer.delete(keyOf(event.object))
                  advance(rvOf(event.object))
                  deleted(old ?? event.object)
                  return logThrown
                }
                case "BOOKMARK":
                  advance(event.resourceVersion)
                  return Effect.void
                case "ERROR":
                  return Effect.fail({
                    gone:
                      (event.status.code ?? 0) === 410 || isTooLargeResourceVersion(event.status),
                    message: event.status.message ?? "",
                  })
              }
            }),
          ),
        )
      return events
    })

    type Failure = ClientError | { readonly gone: boolean; readonly message: string }
    // Also after a malformed watch: watching again from the same revision would replay
    // the same bad event for ever; client-go relists after any such watch error.
    const mustRelist = (e: Failure): boolean =>
      "_tag" in e
        ? isGone(e) ||
          (e._tag === "ApiStatusError" && isTooLargeResourceVersion(e.status)) ||
          (e._tag === "TransportError" && e.malformed === true)
        : e.gone
    /** A defect (a bug, a throwing callback) becomes a failure that is logged and retried, never a dead informer. */
    const noDefect = <A>(effect: Effect.Effect<A, Failure>): Effect.Effect<A, Failure> =>
      Effect.catchDefect(effect, (d) =>
        Effect.fail({
          gone: false,
          message: `unexpected error: ${d instanceof Error ? d.message : String(d)}`,
        }),
      )
    const retryAfterOf = (e: Failure): number | undefined =>
      "_tag" in e && e._tag === "ApiStatusError" ? e.retryAfterSeconds : undefined

    // The reflector: list, then watch until the revision is gone (410), then
    // list again. Every retry waits its backoff step (see the module comment).
    const reflector = Effect.gen(function* () {
      let failures = 0
      let lastRetryEnd = Number.NEGATIVE_INFINITY
      const backOff = (why: string, retryAfterSeconds?: number) =>
        Effect.gen(function* () {
          lastError = why
          const now = yield* Clock.currentTimeMillis
          if (now - lastRetryEnd > reflectorBackoff.resetMs) failures = 0
          const delay = backoffDelayMs(failures, retryAfterSeconds)
          failures++
          yield* Effect.logWarning(`informer for ${kind}: ${why}; retrying in ${delay} ms`)
          yield* Effect.sleep(Duration.millis(delay))
          lastRetryEnd = yield* Clock.currentTimeMillis
        })
      for (;;) {
        const listed = yield* Effect.result(noDefect(list as Effect.Effect<void, Failure>))
        if (listed._tag === "Failure") {
          yield* backOff(`list failed: ${listed.failure.message}`, retryAfterOf(listed.failure))
          continue
        }
        lastError = undefined
        for (;;) {
          const start = yield* Clock.currentTimeMillis
          const from = resourceVersion
          const watched = yield* Effect.result(
            noDefect(watchOnce as Effect.Effect<number, Failure>),
          )
          if (watched._tag === "Failure") {
            const f = watched.failure
            if (mustRelist(f)) {
              yield* backOff(
                `watch from ${resourceVersion} cannot go on (${f.message}): listing again`,
              )
              break
            }
            yield* backOff(`watch failed: ${f.message}`, retryAfterOf(f))
            continue
          }
          const lasted = (yield* Clock.currentTimeMillis) - start
          // client-go backs off a short watch with no event; here also one whose events
          // (a bookmark at the same revision, say) left the revision where it was: a
          // server that answers every watch that way would otherwise be asked without pause.
          if (lasted < reflectorBackoff.shortWatchMs && resourceVersion === from)
            yield* backOff(
              `very short watch: it ended after ${lasted} ms with ${watched.success} event(s) and no progress from revision ${from} (unexpected watch close)`,
            )
        }
      }
    })
    yield* Effect.forkScoped(reflector)

    const resyncMs =
      options.resyncPeriod === undefined
        ? 0
        : Duration.toMillis(Duration.fromInputUnsafe(options.resyncPeriod))
    // 0 (or less, or NaN) is "never", as in client-go; a period of 0 used to resync without pause.
    if (resyncMs > 0) {
      const period = Duration.millis(Math.max(1000, resyncMs))
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.andThen(
            Effect.sleep(period),
            Effect.andThen(
              Effect.sync(() => {
                for (const o of indexer.list()) updated(o, o)
              }),
              logThrown,
            ),
          ),
        ),
      )
    }

    return {
      indexer,
      addEventHandler: (handler) =>
        Effect.acquireRelease(
          Effect.gen(function* () {
            handlers.add(handler)
            if ((yield* Deferred.isDone(synced)) && handler.onAdd !== undefined)
              for (const o of indexer.list()) guard("add", o, () => handler.onAdd?.(o, true))
            yield* logThrown
          }),
          () => Effect.sync(() => handlers.delete(handler)),
        ),
      hasSynced: Deferred.isDone(synced),
      waitForSync: Deferred.await(synced),
      resourceVersion: Effect.sync(() => resourceVersion),
      lists: Effect.sync(() => lists),
      lastError: Effect.sync(() => lastError),
    }
  })

/** Waits until every informer has synced. */
export const waitForCacheSync = (
  ...informers: ReadonlyArray<{ readonly waitForSync: Effect.Effect<void> }>
): Effect.Effect<void> => Effect.asVoid(Effect.all(informers.map((i) => i.waitForSync)))
