/**
 * The event recorder of controllers (client-go's `record.EventRecorder`):
 * `event(object, type, reason, message)` writes a core/v1 Event about the
 * object, through the correlator, so repeats become one event with a growing
 * `count` and a new `lastTimestamp` (a merge patch) instead of new objects,
 * and floods of similar events are combined. Recording is best effort, as in
 * Kubernetes: a failure is logged, never returned to the controller.
 *
 * `event` never waits for the server (client-go's broadcaster): it queues
 * the event, stamped with the time it was recorded, and one background fiber
 * writes the queue in order, each write bounded by `writeTimeoutMs`. At most
 * `maxQueuedEvents` wait; past that new events are dropped and counted, so
 * a recorder facing a down or stalled server neither blocks its controller
 * nor grows without bound.
 */
import type { Event, KubeObject, ObjectReference } from "@flotilla/api"
import { Clock, Deferred, Duration, Effect } from "effect"
import { type ClientError, isNotFound, type KubeClientShape } from "./client.ts"
import { type Correlation, EventCorrelator, eventNameSuffix } from "./core/events.ts"

export type EventType = "Normal" | "Warning"

/** client-go's `maxQueuedEvents`: events waiting to be written beyond this are dropped. */
export const maxQueuedEvents = 1000
/** How long one event write may take before it is given up (and logged). */
export const writeTimeoutMs = 10_000

export interface EventRecorder {
  /** Queues the event and returns at once; see the module comment. */
  readonly event: (
    object: KubeObject | ObjectReference,
    type: EventType,
    reason: string,
    message: string,
  ) => Effect.Effect<void>
  /** Waits until every event queued so far has been written (or given up). */
  readonly flush: Effect.Effect<void>
  /** Events waiting to be written, and events dropped because too many waited. */
  readonly stats: Effect.Effect<{ readonly queued: number; readonly dropped: number }>
  /**
   * As `event`, but written before it returns and failures are returned (for
   * tests and callers that care); an event the spam filter drops comes back
   * unwritten.
   */
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

/**
 * Shared by every recorder in the process: two recorders (a scheduler keeps
 * one per profile) naming an event about one object in the same millisecond
 * must not pick the same name (the second create would be refused as
 * AlreadyExists and the event lost). It starts at a random point so that
 * two processes recording in the same millisecond are unlikely to meet
 * (client-go uses the nanosecond clock for the same purpose).
 */
let sequence = Math.floor(Math.random() * 1_000_000)
const nextSequence = () => {
  sequence = (sequence + 1) % 1_000_000
  return sequence
}

export const makeEventRecorder = (
  client: KubeClientShape,
  options: RecorderOptions,
): EventRecorder => {
  const correlator = new EventCorrelator()
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

  const write = (
    object: KubeObject | ObjectReference,
    type: EventType,
    reason: string,
    message: string,
    now: number,
  ): Effect.Effect<Event, ClientError> =>
    Effect.gen(function* () {
      const draft = {
        involvedObject: referenceOf(object),
        type,
        reason,
        message,
        source,
        reportingComponent: options.component,
      }
      const correlation = correlator.correlate(draft, now, eventNameSuffix(now, nextSequence()))
      const event = toEvent(correlation)
      const ns = correlation.event.namespace
      // Spam (client-go's EventSourceObjectSpamFilter): not written.
      if (correlation.action === "skip") return event
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
      const again = correlator.correlate(draft, now, eventNameSuffix(now, nextSequence()))
      if (again.action === "skip") return toEvent(again)
      return yield* client.events.create(ns, toEvent(again))
    })

  interface Queued {
    readonly object: KubeObject | ObjectReference
    readonly type: EventType
    readonly reason: string
    readonly message: string
    readonly now: number
  }
  const queue: Array<Queued> = []
  let head = 0
  let dropped = 0
  let writing = false
  /** Resolved when the queue next runs empty. */
  let drained: Deferred.Deferred<void> | undefined

  const writeOne = (q: Queued) =>
    write(q.object, q.type, q.reason, q.message, q.now).pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(writeTimeoutMs),
        orElse: () =>
          Effect.fail({ message: `the server did not answer within ${writeTimeoutMs} ms` }),
      }),
      Effect.catch((e) => Effect.logWarning(`could not record event ${q.reason}: ${e.message}`)),
      // A defect (an object that is not one, say) must not kill the one writer:
      // every later event would wait for ever.
      Effect.catchDefect((d) =>
        Effect.logWarning(
          `could not record event ${q.reason}: ${d instanceof Error ? d.message : String(d)}`,
        ),
      ),
    )

  /** The one writer: takes events in order until none is left. */
  const writer: Effect.Effect<void> = Effect.gen(function* () {
    while (head < queue.length) {
      const q = queue[head] as Queued
      queue[head] = undefined as unknown as Queued
      head++
      yield* writeOne(q)
    }
    queue.length = 0
    head = 0
    writing = false
    // Taken before completing it: a flush after this point waits for a later writer.
    const waiting = drained
    drained = undefined
    if (waiting !== undefined) yield* Deferred.succeed(waiting, undefined)
  })

  return {
    eventOrFail: (object, type, reason, message) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => write(object, type, reason, message, now)),
    event: (object, type, reason, message) =>
      Effect.gen(function* () {
        if (queue.length - head >= maxQueuedEvents) {
          dropped++
          // Logged once per 100 (a down server would otherwise flood the log too).
          if (dropped % 100 === 1)
            yield* Effect.logWarning(
              `event recorder ${options.component}: ${maxQueuedEvents} events wait to be written; dropped ${dropped} so far`,
            )
          return
        }
        const now = yield* Clock.currentTimeMillis
        queue.push({ object, type, reason, message, now })
        if (!writing) {
          writing = true
          // Detached: the caller goes on at once; the writer ends when the queue is empty.
          yield* Effect.forkDetach(writer)
        }
      }),
    flush: Effect.suspend(() => {
      if (!writing) return Effect.void
      if (drained === undefined) drained = Deferred.makeUnsafe<void>()
      return Deferred.await(drained)
    }),
    stats: Effect.sync(() => ({ queued: queue.length - head, dropped })),
  }
}
