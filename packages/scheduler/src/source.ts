import type { Event, Node, Pod, PodCondition } from "@flotilla/api"
import { Context, type Effect, Schema, type Scope } from "effect"
import type { SpreadSelectorSource } from "./core/framework.ts"
import type { PodRef } from "./core/scheduler.ts"

/** A change the scheduler reacts to (Kubernetes' informer event handlers). */
export type SourceEvent =
  | { readonly type: "PodAdded" | "PodUpdated" | "PodDeleted"; readonly pod: Pod }
  | { readonly type: "NodeAdded" | "NodeUpdated" | "NodeDeleted"; readonly node: Node }
  /** A Service or ReplicaSet changed (spreading may now differ). */
  | { readonly type: "ServiceChanged" }

export class BindingError extends Schema.TaggedError<BindingError>()("BindingError", {
  pod: Schema.String,
  node: Schema.String,
  message: Schema.String,
}) {}

/**
 * Where the scheduler's pods and nodes come from and where its decisions go:
 * the in-memory cluster here, informers and the API server's `pods/binding`
 * subresource once `@flotilla/client` provides them.
 */
export class ClusterSource extends Context.Service<
  ClusterSource,
  {
    /**
     * Registers a handler called synchronously for every change, after the
     * objects that already exist are delivered as added; removed when the
     * scope closes.
     */
    readonly addEventHandler: (
      handler: (event: SourceEvent) => void,
    ) => Effect.Effect<void, never, Scope.Scope>
    /** Binds the pod to the node (`POST pods/<name>/binding`). */
    readonly bind: (pod: PodRef, nodeName: string) => Effect.Effect<void, BindingError>
    /** Records a Scheduled or FailedScheduling Event. */
    readonly recordEvent: (event: Event) => Effect.Effect<void>
    /** Sets a condition in the pod's status (`PodScheduled=False` after a failed cycle). */
    readonly updatePodCondition: (pod: PodRef, condition: PodCondition) => Effect.Effect<void>
    /** Services and ReplicaSets selecting a pod, for SelectorSpread. */
    readonly spreadSelectors: SpreadSelectorSource
  }
>()("@flotilla/scheduler/ClusterSource") {}
