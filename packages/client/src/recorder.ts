/**
 * The event recorder of controllers (client-go's `record.EventRecorder`):
 * `event(object, type, reason, message)` writes a core/v1 Event about the
 * object, through the correlator, so repeats become one event with a growing
 * `count` and a new `lastTimestamp` (a merge patch) instead of new objects,
 * and floods of similar events are combined. Recording is best effort, as in
 * Kubernetes: a failure is logged, never returned to the controller.
 */
import type { Event, KubeObject, ObjectReference } from "@flotilla/api"
import { Clock, Effect } from "effect"
import { type ClientError, isNotFound, type KubeClientShape } from "./client.ts"
import { type Correlation, EventCorrelator, eventNameSuffix } from "./core/events.ts"

export type EventType = "Normal" | "Warning"

export interface EventRecorder {
  readonly event: (
    object: KubeObject | ObjectReference,
    type: EventType,
    reason: string,
    message: string,
  ) => Effect.Effect<void>
  /** As `event`, but failures are returned (for tests and callers that care). */
  readonly eventOrFail: (
    object: KubeObject | ObjectReference,
    type: EventType,
    reason: string,
    message: string,
  ) => Effect.Effect<Event, ClientError>
}

export interface RecorderOptions {
  /** `source.component` and `reportingComponent`: `default-scheduler`, `deployment-controller`. */
  readonly component: string
  /** `source.host` (kubelets set their node name). */
  readonly host?: string
}

/** The reference an event makes to its object. */
export const referenceOf = (object: KubeObject | ObjectReference): ObjectReference => {
  if ("metadata" in object && object.metadata !== undefined) {
    const m = object.metadata
    return {
      kind: (object as KubeObject).kind,
      apiVersion: (object as KubeObject).apiVersion,
      ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
      ...(m.name === undefined ? {} : { name: m.name }),
      ...(m.uid === undefined ? {} : { uid: m.uid }),
      ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
    }
  }
  return object as ObjectReference
}

export const makeEventRecorder = (
  client: KubeClientShape,
  options: RecorderOptions,
): EventRecorder => {
  const correlator = new EventCorrelator()
  let sequence = 0
  const source = {
    component: options.component,
    ...(options.host === undefined ? {} : { host: options.host }),
  }

  const toEvent = (c: Correlation): Event =>
    ({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: c.event.name, namespace: c.event.namespace },
      involvedObject: c.event.involvedObject,
      reason: c.event.reason,
      message: c.event.message,
      source: c.event.source,
      firstTimestamp: c.event.firstTimestamp,
      lastTimestamp: c.event.lastTimestamp,
      count: c.event.count,
      type: c.event.type,
      reportingComponent: options.component,
      reportingInstance: options.host ?? "",
    }) as unknown as Event

  const eventOrFail: EventRecorder["eventOrFail"] = (object, type, reason, message) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const draft = {
        involvedObject: referenceOf(object),
        type,
        reason,
        message,
        source,
        reportingComponent: options.component,
      }
      const correlation = correlator.correlate(draft, now, eventNameSuffix(now, sequence++))
      const event = toEvent(correlation)
      const ns = correlation.event.namespace
      if (correlation.action === "create") return yield* client.events.create(ns, event)
      const patched = yield* client.events
        .patch(ns, correlation.event.name, {
          count: correlation.event.count,
          lastTimestamp: correlation.event.lastTimestamp,
          message: correlation.event.message,
        })
        .pipe(Effect.result)
      if (patched._tag === "Success") return patched.success
      if (!isNotFound(patched.failure)) return yield* Effect.fail(patched.failure)
      // The event was deleted meanwhile (events expire): write it afresh.
      correlator.forget(correlation.key)
      const again = correlator.correlate(draft, now, eventNameSuffix(now, sequence++))
      return yield* client.events.create(ns, toEvent(again))
    })

  return {
    eventOrFail,
    event: (object, type, reason, message) =>
      eventOrFail(object, type, reason, message).pipe(
        Effect.catch((e) =>
          Effect.logWarning(
            `could not record event ${reason} for ${referenceOf(object).name}: ${e.message}`,
          ),
        ),
        Effect.asVoid,
      ),
  }
}
