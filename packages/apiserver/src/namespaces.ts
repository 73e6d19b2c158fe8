/**
 * The namespace lifecycle (Kubernetes' namespace controller): when a
 * namespace is deleted it turns `Terminating`; this loop deletes everything
 * in it, resource by resource, and once nothing is left removes the
 * `kubernetes` finalizer through `/finalize`, which lets the namespace go.
 * Pods deleted gracefully keep it waiting until their kubelets finish them.
 * It works through the request handler, so every deletion has the API's
 * semantics (finalizers, grace periods, watch events).
 */
import { Duration, Effect, type Scope } from "effect"
import type { WatchCaches } from "./cacher.ts"
import { isObject, metadataOf, type Obj, objectAt } from "./core/json.ts"
import { servedResources } from "./core/resources.ts"
import type { ApiRequest, Handler } from "./handler.ts"

/** Where each namespaced resource's collections live, in its storage version. */
const namespacedRoots = (() => {
  const seen = new Set<string>()
  const out: Array<{ readonly resource: string; readonly root: string }> = []
  for (const r of servedResources) {
    if (!r.namespaced || r.apiVersion !== r.storageApiVersion || seen.has(r.resource.name)) continue
    seen.add(r.resource.name)
    out.push({
      resource: r.resource.name,
      root: r.group === "" ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`,
    })
  }
  return out
})()

const request = (method: string, path: string, body?: unknown): ApiRequest => ({
  method,
  path,
  query: new URLSearchParams({ fieldManager: "namespace-controller" }),
  headers: { "content-type": "application/json", "user-agent": "namespace-controller/v1.32" },
  body: body === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(body)),
})

const json = (handle: Handler, method: string, path: string, body?: unknown) =>
  Effect.map(handle(request(method, path, body)), (r): { status: number; body: unknown } => ({
    status: r.status,
    body: r._tag === "Body" ? (JSON.parse(r.body) as unknown) : undefined,
  }))

/** Deletes what is left in a terminating namespace; true once it is empty and finalized. */
export const finalizeNamespace = (handle: Handler, name: string): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    let remaining = 0
    for (const { resource, root } of namespacedRoots) {
      const path = `${root}/namespaces/${encodeURIComponent(name)}/${resource}`
      yield* json(handle, "DELETE", path, {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: "Background",
      })
      const left = yield* json(handle, "GET", path)
      const items = isObject(left.body) && Array.isArray(left.body.items) ? left.body.items : []
      remaining += items.length
    }
    if (remaining > 0) return false
    const ns = yield* json(handle, "GET", `/api/v1/namespaces/${encodeURIComponent(name)}`)
    if (ns.status === 404) return true
    if (!isObject(ns.body)) return false
    const spec = objectAt(ns.body as Obj, "spec")
    const finalizers = Array.isArray(spec.finalizers)
      ? spec.finalizers.filter((f) => f !== "kubernetes")
      : []
    const done = yield* json(
      handle,
      "PUT",
      `/api/v1/namespaces/${encodeURIComponent(name)}/finalize`,
      {
        ...(ns.body as Obj),
        spec: { ...spec, finalizers },
      },
    )
    return done.status === 200 || done.status === 404
  })

/** Runs the lifecycle for the scope's lifetime: on every namespace change, and every few seconds while one is terminating. */
export const runNamespaceLifecycle = (
  handle: Handler,
  caches: WatchCaches | undefined,
  retryEvery: Duration.Input = Duration.seconds(2),
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    let pending = true
    let wake: (() => void) | undefined
    const signal = () => {
      pending = true
      wake?.()
    }
    const subscription = caches
      ?.get("namespaces")
      ?.subscribe(caches.get("namespaces")?.revision ?? 0, {
        changes: (changes) => {
          if (changes.some((c) => metadataOf(c.object).deletionTimestamp !== undefined)) signal()
        },
        end: () => {},
      })
    yield* Effect.addFinalizer(() => Effect.sync(() => subscription?.unsubscribe()))
    const waitForChange = Effect.callback<void>((resume) => {
      if (pending) {
        resume(Effect.void)
        return
      }
      wake = () => resume(Effect.void)
      return Effect.sync(() => {
        wake = undefined
      })
    })
    const pass = Effect.gen(function* () {
      pending = false
      const list = yield* json(handle, "GET", "/api/v1/namespaces")
      const items =
        isObject(list.body) && Array.isArray(list.body.items)
          ? list.body.items.filter(isObject)
          : []
      let waiting = false
      for (const ns of items) {
        const meta = metadataOf(ns)
        if (meta.deletionTimestamp === undefined || typeof meta.name !== "string") continue
        if (!(yield* finalizeNamespace(handle, meta.name))) waiting = true
      }
      return waiting
    })
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          // A change wakes it at once; a slow poll covers changes it missed (a cache restart).
          yield* Effect.raceFirst(waitForChange, Effect.sleep(Duration.seconds(10)))
          const waiting = yield* pass
          if (waiting) yield* Effect.andThen(Effect.sleep(retryEvery), Effect.sync(signal))
        }),
      ),
    )
  })
