/**
 * Informers (client-go's `SharedIndexInformer` with its `Reflector`): list
 * every object (paged, at one revision), then watch from that revision,
 * keeping an indexed cache and telling handlers what changed. A 410 (the
 * revision was compacted) or a failed list makes it list again, with
 * backoff; a watch that ends (its timeout) resumes from the last revision
 * seen (bookmarks keep it fresh). Every `resyncPeriod` the handlers get an
 * update for every cached object, so controllers re-check their world.
 *
 * Handlers run on the informer's fiber, in event order, and must only
 * enqueue work (a `WorkQueue.add`), never block.
 */
import { Deferred, Duration, Effect, Random, type Scope, Stream } from "effect"
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
  /** Re-deliver every cached object as an update this often (absent: never). */
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
}

const rvOf = (o: ObjectLike): string => o.metadata?.resourceVersion ?? ""

/** Starts an informer in the current scope. */
export const makeInformer = <T extends ObjectLike>(
  client: ResourceClient<T>,
  options: InformerOptions<T> = {},
): Effect.Effect<Informer<T>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const namespace = options.namespace ?? ""
    const indexer = new Indexer<T>({
      namespace: namespaceIndex as IndexFunc<T>,
      ...options.indexers,
    })
    const handlers = new Set<EventHandler<T>>()
    const synced = yield* Deferred.make<void>()
    let resourceVersion = ""
    let lists = 0

    const selectors = {
      ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }),
      ...(options.fieldSelector === undefined ? {} : { fieldSelector: options.fieldSelector }),
    }

    const added = (o: T, initial: boolean) => {
      for (const h of handlers) h.onAdd?.(o, initial)
    }
    const updated = (old: T, o: T) => {
      for (const h of handlers) h.onUpdate?.(old, o)
    }
    const deleted = (o: T) => {
      for (const h of handlers) h.onDelete?.(o)
    }

    const list = Effect.gen(function* () {
      const result = yield* client.listAll(namespace, {
        ...selectors,
        limit: options.pageSize ?? 500,
      })
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
    })

    /** Watches from the current revision until the stream ends; fails with 410 when it must relist. */
    const watchOnce = Effect.gen(function* () {
      const timeoutSeconds = yield* Random.nextIntBetween(300, 600)
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
              switch (event.type) {
                case "ADDED":
                case "MODIFIED": {
                  const old = indexer.upsert(event.object)
                  resourceVersion = rvOf(event.object)
                  if (old === undefined) added(event.object, false)
                  else updated(old, event.object)
                  return Effect.void
                }
                case "DELETED": {
                  const old = indexer.delete(keyOf(event.object))
                  resourceVersion = rvOf(event.object)
                  deleted(old ?? event.object)
                  return Effect.void
                }
                case "BOOKMARK":
                  if (event.resourceVersion !== "") resourceVersion = event.resourceVersion
                  return Effect.void
                case "ERROR":
                  return Effect.fail({
                    gone: (event.status.code ?? 0) === 410,
                    message: event.status.message ?? "",
                  })
              }
            }),
          ),
        )
    })

    type Failure = ClientError | { readonly gone: boolean; readonly message: string }
    const mustRelist = (e: Failure): boolean => ("_tag" in e ? isGone(e) : e.gone)

    // The reflector: list, then watch until the revision is gone; a failed
    // list backs off exponentially (0.8 s doubling to 30 s), a failed watch
    // resumes after a second from the last revision.
    const reflector = Effect.gen(function* () {
      let failures = 0
      for (;;) {
        const listed = yield* Effect.result(list)
        if (listed._tag === "Failure") {
          yield* Effect.sleep(Duration.millis(Math.min(30_000, 800 * 2 ** Math.min(failures, 10))))
          failures++
          continue
        }
        failures = 0
        for (;;) {
          const watched = yield* Effect.result(watchOnce as Effect.Effect<void, Failure>)
          if (watched._tag === "Failure" && mustRelist(watched.failure)) break
          if (watched._tag === "Failure") yield* Effect.sleep(Duration.seconds(1))
        }
      }
    })
    yield* Effect.forkScoped(reflector)

    if (options.resyncPeriod !== undefined) {
      const period = Duration.fromInputUnsafe(options.resyncPeriod)
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.andThen(
            Effect.sleep(period),
            Effect.sync(() => {
              for (const o of indexer.list()) updated(o, o)
            }),
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
            if (yield* Deferred.isDone(synced))
              for (const o of indexer.list()) handler.onAdd?.(o, true)
          }),
          () => Effect.sync(() => handlers.delete(handler)),
        ),
      hasSynced: Deferred.isDone(synced),
      waitForSync: Deferred.await(synced),
      resourceVersion: Effect.sync(() => resourceVersion),
      lists: Effect.sync(() => lists),
    }
  })

/** Waits until every informer has synced. */
export const waitForCacheSync = (
  ...informers: ReadonlyArray<{ readonly waitForSync: Effect.Effect<void> }>
): Effect.Effect<void> => Effect.asVoid(Effect.all(informers.map((i) => i.waitForSync)))
