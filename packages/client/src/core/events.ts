/**
 * Event correlation, as client-go's `EventCorrelator` does it before an
 * event is written:
 *
 * - aggregation: events that differ only in their message, about the same
 *   object, from the same source, with the same type and reason, are
 *   combined once 10 distinct messages arrive within 10 minutes; the
 *   combined event's message starts with `(combined from similar events): `;
 * - de-duplication: an event equal to one already written (same object,
 *   field path, source, type, reason and message) is not written again: the
 *   existing one gets `count + 1` and a new `lastTimestamp` (a patch),
 *   keeping its name and `firstTimestamp`;
 * - spam filtering (`EventSourceObjectSpamFilter`): each source and object
 *   may write 25 events at once, then one per 5 minutes; the rest are
 *   skipped, so a controller stuck in a hot loop cannot flood the server.
 *
 * Pure: time is an input; the caches are bounded (least recently used go).
 */
import type { ObjectReference } from "@flotilla/api"
import { TokenBucket } from "./workqueue.ts"

export interface EventSource {
  readonly component?: string
  readonly host?: string
}

/** The fields of a core/v1 Event the correlator reads and writes. */
export interface EventDraft {
  readonly involvedObject: ObjectReference
  readonly type: string
  readonly reason: string
  readonly message: string
  readonly source: EventSource
  readonly reportingComponent?: string
  readonly reportingInstance?: string
}

export interface CorrelatedEvent extends EventDraft {
  readonly name: string
  readonly namespace: string
  readonly count: number
  readonly firstTimestamp: string
  readonly lastTimestamp: string
}

/** What to do with an event: create it, bump the existing one, or drop it (spam). */
export type Correlation = {
  readonly action: "create" | "patch" | "skip"
  readonly event: CorrelatedEvent
  readonly key: string
}

export const maxSimilarEvents = 10
export const aggregationIntervalMs = 10 * 60 * 1000
/** client-go's `defaultSpamBurst` and `defaultSpamQPS` (one per 5 minutes). */
export const spamBurst = 25
export const spamQps = 1 / 300
const maxCacheEntries = 4096

const rfc3339 = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`

const join = (...parts: ReadonlyArray<string | undefined>) =>
  parts.map((p) => p ?? "").join("\u0000")

/** A small LRU map. */
class Lru<V> {
  readonly #map = new Map<string, V>()
  get(key: string): V | undefined {
    const v = this.#map.get(key)
    if (v !== undefined) {
      this.#map.delete(key)
      this.#map.set(key, v)
    }
    return v
  }
  set(key: string, value: V): void {
    this.#map.delete(key)
    this.#map.set(key, value)
    if (this.#map.size > maxCacheEntries) {
      const oldest = this.#map.keys().next().value as string
      this.#map.delete(oldest)
    }
  }
  delete(key: string): void {
    this.#map.delete(key)
  }
}

interface Aggregate {
  readonly messages: Set<string>
  lastMs: number
}

interface Logged {
  readonly name: string
  readonly namespace: string
  readonly firstTimestamp: string
  count: number
}

export class EventCorrelator {
  readonly #aggregates = new Lru<Aggregate>()
  readonly #logged = new Lru<Logged>()
  readonly #spam = new Lru<TokenBucket>()

  /**
   * Decides how to write `draft` at `nowMs`. `nameSuffix` makes the name of a
   * new event unique (Kubernetes uses the time in hex nanoseconds).
   */
  correlate(draft: EventDraft, nowMs: number, nameSuffix: string): Correlation {
    const o = draft.involvedObject
    // The spam key is the source and object; the aggregate key adds type, reason and reporter.
    const spamKey = join(
      draft.source.component,
      draft.source.host,
      o.kind,
      o.namespace,
      o.name,
      o.uid,
      o.apiVersion,
    )
    const aggregateKey = join(
      spamKey,
      draft.type,
      draft.reason,
      draft.reportingComponent,
      draft.reportingInstance,
    )
    let aggregate = this.#aggregates.get(aggregateKey)
    if (aggregate === undefined || nowMs - aggregate.lastMs > aggregationIntervalMs) {
      aggregate = { messages: new Set(), lastMs: nowMs }
    }
    aggregate.messages.add(draft.message)
    aggregate.lastMs = nowMs
    this.#aggregates.set(aggregateKey, aggregate)
    const combined = aggregate.messages.size >= maxSimilarEvents
    const event: EventDraft = combined
      ? { ...draft, message: `(combined from similar events): ${draft.message}` }
      : draft
    // Combined events share one key, so they fold into one another.
    const key = combined ? aggregateKey : join(aggregateKey, o.fieldPath, draft.message)
    // As client-go, the filter runs after the event is counted (a skipped repeat still counts).
    let bucket = this.#spam.get(spamKey)
    if (bucket === undefined) {
      bucket = new TokenBucket(spamQps, spamBurst)
      this.#spam.set(spamKey, bucket)
    }
    const accepted = bucket.tryAccept(nowMs)
    const now = rfc3339(nowMs)
    const logged = this.#logged.get(key)
    if (logged !== undefined) {
      logged.count++
      return {
        action: accepted ? "patch" : "skip",
        key,
        event: {
          ...event,
          name: logged.name,
          namespace: logged.namespace,
          count: logged.count,
          firstTimestamp: logged.firstTimestamp,
          lastTimestamp: now,
        },
      }
    }
    const namespace = o.namespace === undefined || o.namespace === "" ? "default" : o.namespace
    const name = `${o.name ?? "event"}.${nameSuffix}`
    this.#logged.set(key, { name, namespace, firstTimestamp: now, count: 1 })
    return {
      action: accepted ? "create" : "skip",
      key,
      event: { ...event, name, namespace, count: 1, firstTimestamp: now, lastTimestamp: now },
    }
  }

  /** Forgets a written event (its patch found it gone: the next one is created afresh). */
  forget(key: string): void {
    this.#logged.delete(key)
  }
}

/** Kubernetes' event name suffix: the time in nanoseconds, in hex. */
export const eventNameSuffix = (nowMs: number, sequence = 0): string =>
  (BigInt(Math.trunc(nowMs)) * 1_000_000n + BigInt(sequence)).toString(16)
