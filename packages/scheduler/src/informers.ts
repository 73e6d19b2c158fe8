/**
 * The ClusterSource over a real API server: informers from `@flotilla/client`
 * for pods (all but finished ones, as kube-scheduler lists them), nodes, and
 * the Services and ReplicaSets SelectorSpread reads; bindings through the
 * `pods/binding` subresource; Events through the client's recorder (one per
 * profile, so `source.component` is the profile's scheduler name, with the
 * recorder's aggregation of repeats); and the PodScheduled condition through
 * a strategic merge patch of the pod's status.
 *
 * Events and condition updates are written by one background fiber in the
 * order the scheduler issued them, so the scheduling loop never waits on the
 * API server for them (Kubernetes' event broadcaster also queues); the queue
 * holds at most `maxPendingWrites` and drops beyond that, as Kubernetes drops
 * events it cannot keep up with.
 */
import type { Event, Node, Pod, PodCondition, ReplicaSet, Service } from "@flotilla/api"
import {
  type EventRecorder,
  type EventType,
  type Informer,
  isConflict,
  isNotFound,
  type KubeClientShape,
  makeEventRecorder,
  makeInformer,
  waitForCacheSync,
} from "@flotilla/client"
import { Effect, Layer, Queue, type Scope } from "effect"
import { DefaultSchedulerName } from "./core/compile.ts"
import type { PodRef } from "./core/scheduler.ts"
import { BindingError, ClusterSource, type SourceEvent } from "./source.ts"
import { makeSpreadSelectors } from "./spread.ts"

/** kube-scheduler's pod list: finished pods hold no resources and are never scheduled. */
export const unfinishedPodsSelector = "status.phase!=Succeeded,status.phase!=Failed"

export interface InformerSourceOptions {
  /** Events and condition updates waiting to be written before new ones are dropped (default 1000). */
  readonly maxPendingWrites?: number
  /** The field manager of bindings and status patches (default `default-scheduler`). */
  readonly fieldManager?: string
}

/** The informer-backed source, with its informers for inspection (tests, health checks). */
export type InformerClusterSource = ClusterSource["Service"] & {
  readonly informers: {
    readonly pods: Informer<Pod>
    readonly nodes: Informer<Node>
    readonly services: Informer<Service>
    readonly replicaSets: Informer<ReplicaSet>
  }
}

type Write =
  | { readonly kind: "event"; readonly event: Event }
  | { readonly kind: "condition"; readonly pod: PodRef; readonly condition: PodCondition }

const sameSelector = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/** Starts the informers in the current scope and returns the source over them. */
export const makeInformerSource = (
  client: KubeClientShape,
  options: InformerSourceOptions = {},
): Effect.Effect<InformerClusterSource, never, Scope.Scope> =>
  Effect.gen(function* () {
    const fieldManager = options.fieldManager ?? DefaultSchedulerName
    // The client's resource types are the API's object types with metadata required.
    const pods = (yield* makeInformer(client.pods, {
      fieldSelector: unfinishedPodsSelector,
    })) as unknown as Informer<Pod>
    const nodes = (yield* makeInformer(client.nodes)) as unknown as Informer<Node>
    const services = (yield* makeInformer(client.services)) as unknown as Informer<Service>
    const replicaSets = (yield* makeInformer(client.replicasets)) as unknown as Informer<ReplicaSet>

    const recorders = new Map<string, EventRecorder>()
    const recorderFor = (component: string): EventRecorder => {
      let r = recorders.get(component)
      if (r === undefined) {
        r = makeEventRecorder(client, { component })
        recorders.set(component, r)
      }
      return r
    }

    const writeEvent = (event: Event) =>
      recorderFor(event.source?.component ?? DefaultSchedulerName).event(
        event.involvedObject,
        (event.type ?? "Normal") as EventType,
        event.reason ?? "",
        event.message ?? "",
      )

    /**
     * Kubernetes' updatePod: patch the condition in only when it changes
     * something, keep `lastTransitionTime` while the status stays the same,
     * and leave pods alone that are gone, replaced (another uid) or bound. The
     * patch carries the resourceVersion it was decided on, so a pod bound
     * meanwhile (by another scheduler) is never marked unschedulable: on a
     * conflict the pod is read again and the decision made once more.
     */
    const patchCondition = (pod: Pod | undefined, ref: PodRef, condition: PodCondition) => {
      if (pod === undefined || (ref.uid !== "" && pod.metadata.uid !== ref.uid)) return undefined
      if ((pod.spec.nodeName ?? "") !== "") return undefined
      const current = pod.status?.conditions?.find((c) => c.type === condition.type)
      if (
        current !== undefined &&
        current.status === condition.status &&
        current.reason === condition.reason &&
        current.message === condition.message
      ) {
        return undefined
      }
      const lastTransitionTime =
        current !== undefined && current.status === condition.status
          ? current.lastTransitionTime
          : condition.lastTransitionTime
      return client.pods.patch(
        ref.namespace,
        ref.name,
        {
          metadata: { resourceVersion: pod.metadata.resourceVersion },
          status: { conditions: [{ ...condition, lastTransitionTime }] },
        },
        { type: "strategic", subresource: "status", fieldManager },
      )
    }

    const writeCondition = (ref: PodRef, condition: PodCondition) =>
      Effect.gen(function* () {
        const first = patchCondition(
          pods.indexer.get(`${ref.namespace}/${ref.name}`),
          ref,
          condition,
        )
        if (first === undefined) return
        const r = yield* Effect.result(first)
        if (r._tag === "Success") return
        if (!isConflict(r.failure)) return yield* Effect.fail(r.failure)
        const fresh = yield* client.pods.get(ref.namespace, ref.name)
        const again = patchCondition(fresh as Pod, ref, condition)
        if (again !== undefined) yield* again
      }).pipe(
        Effect.catch((e) =>
          isNotFound(e)
            ? Effect.void
            : Effect.logWarning(
                `scheduler: could not set ${condition.type}=${condition.status} on pod ${ref.namespace}/${ref.name}: ${e.message}`,
              ),
        ),
      )

    const writes = yield* Queue.dropping<Write>(options.maxPendingWrites ?? 1000)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.take(writes), (w) =>
          (w.kind === "event" ? writeEvent(w.event) : writeCondition(w.pod, w.condition)).pipe(
            // A bug in one write must not stop the writer (and every later write).
            Effect.catchCause((cause) =>
              Effect.logError("scheduler: a status write failed", cause),
            ),
          ),
        ),
      ),
    )

    const addEventHandler = (handler: (event: SourceEvent) => void) =>
      Effect.gen(function* () {
        // Everything that exists is delivered (nodes first, so assigned pods
        // land on known nodes) before the first change.
        yield* waitForCacheSync(nodes, pods, services, replicaSets)
        yield* nodes.addEventHandler({
          onAdd: (node) => handler({ type: "NodeAdded", node }),
          onUpdate: (old, node) => {
            if (old !== node) handler({ type: "NodeUpdated", node })
          },
          onDelete: (node) => handler({ type: "NodeDeleted", node }),
        })
        yield* pods.addEventHandler({
          onAdd: (pod) => handler({ type: "PodAdded", pod }),
          onUpdate: (old, pod) => {
            if (old !== pod) handler({ type: "PodUpdated", pod })
          },
          onDelete: (pod) => handler({ type: "PodDeleted", pod }),
        })
        // Spreading depends only on selectors: status churn (replica counts,
        // load balancer addresses) does not requeue pending pods.
        const changed = () => handler({ type: "ServiceChanged" })
        yield* services.addEventHandler({
          onAdd: (_, initial) => {
            if (!initial) changed()
          },
          onUpdate: (old, s) => {
            if (!sameSelector(old.spec?.selector, s.spec?.selector)) changed()
          },
          onDelete: changed,
        })
        yield* replicaSets.addEventHandler({
          onAdd: (_, initial) => {
            if (!initial) changed()
          },
          onUpdate: (old, rs) => {
            if (!sameSelector(old.spec?.selector, rs.spec?.selector)) changed()
          },
          onDelete: changed,
        })
      })

    return {
      informers: { pods, nodes, services, replicaSets },
      addEventHandler,
      bind: (ref, nodeName) =>
        client.pods
          .bind(ref.namespace, ref.name, nodeName, {
            fieldManager,
            ...(ref.uid === "" ? {} : { uid: ref.uid }),
          })
          .pipe(
            Effect.mapError(
              (e) =>
                new BindingError({
                  pod: `${ref.namespace}/${ref.name}`,
                  node: nodeName,
                  message: e.message,
                }),
            ),
          ),
      recordEvent: (event) =>
        Effect.sync(() => {
          Queue.offerUnsafe(writes, { kind: "event", event })
        }),
      updatePodCondition: (pod, condition) =>
        Effect.sync(() => {
          Queue.offerUnsafe(writes, { kind: "condition", pod, condition })
        }),
      spreadSelectors: makeSpreadSelectors(() => ({
        services: services.indexer.list(),
        replicaSets: replicaSets.indexer.list(),
      })),
    } satisfies InformerClusterSource
  })

/** The informer-backed ClusterSource as a layer (informers live as long as the layer). */
export const layerInformers = (
  client: KubeClientShape,
  options: InformerSourceOptions = {},
): Layer.Layer<ClusterSource> =>
  Layer.effect(ClusterSource, Effect.map(makeInformerSource(client, options), ClusterSource.of))
