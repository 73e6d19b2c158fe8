// @flotilla/client: a typed Kubernetes client (an Effect service over
// fetch), informers (list, watch, cache with indexers, relist on 410,
// resync), a de-duplicating, delaying, rate-limited work queue, and an event
// recorder that aggregates repeats as Kubernetes does. The queue, the cache
// and event correlation are pure cores in core/.
export * from "./client.ts"
export * from "./core/events.ts"
export * from "./core/indexer.ts"
export * from "./core/workqueue.ts"
export * from "./informer.ts"
export * from "./recorder.ts"
export * from "./resources.ts"
export * from "./workqueue.ts"
