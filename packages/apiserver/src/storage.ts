/**
 * Objects over the store's `KV` service, as Kubernetes' etcd3 storage keeps
 * them: the value is the object's JSON without `resourceVersion`, and the
 * resourceVersion read back is the key's `mod_revision`. Creates are
 * transactions that require the key to be absent; updates and deletes
 * require the key's `mod_revision` to be the one read (optimistic
 * concurrency), and `guaranteedUpdate` re-reads and retries when another
 * writer got there first. Lists read one revision; watches come from the
 * store's watch with the previous value of each change.
 */
import type {
  Compare,
  EtcdError,
  KeyValue,
  KVShape,
  RequestOp,
  Event as StoreEvent,
  TxnResponse,
} from "@flotilla/store"
import { Clock, Effect, Stream } from "effect"
import { deepFreeze, isObject, type Obj, presetJson, setKey } from "./core/json.ts"
import { keyBytes, keyString, prefixEnd } from "./core/keys.ts"
import { sharedFieldsV1 } from "./core/managed.ts"
import { RecentMap } from "./core/recent.ts"
import { type ApiError, expired, internalError, tooLargeResourceVersion } from "./core/status.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** An object read from the store, with its revision and key. */
export interface Stored {
  readonly key: string
  readonly object: Obj
  readonly modRevision: number
}

/** The gRPC code etcd answers a read of a compacted revision with. */
const OUT_OF_RANGE = 11

const mapError =
  (what: string, revision?: number) =>
  (e: EtcdError): ApiError => {
    if (e.code === OUT_OF_RANGE && /compacted/.test(e.message)) {
      return expired(
        revision === undefined ? `${what}: ${e.message}` : `too old resource version: ${revision}`,
      )
    }
    if (e.code === OUT_OF_RANGE && /future/.test(e.message)) {
      return tooLargeResourceVersion(revision ?? 0)
    }
    return internalError(`${what}: ${e.message}`)
  }

/**
 * The decoded object of the newest version of each recently used key. One
 * per key, not one per version: the store keeps every version until it is
 * compacted (minutes of writes), and a decoded object kept for each of them
 * made the heap, and every full garbage collection, grow with the writes
 * since the last compaction. Only the recently used keys (read, written or
 * met on the store's watch among the last `decodedCapacity` distinct keys;
 * up to twice as many are held): one kept for every key met made the live
 * heap grow with the objects stored (~5 KB and dozens of heap objects per
 * pod: ~80 % of the server's heap per pod, 5,524 B with every key's object
 * kept vs ~985 B with none, at 20,000 pods), and with it every full
 * collection's marking, which took the cores from the event loop (stalls of
 * 100-300 ms in the benchmark). Other versions and keys (a list continued at
 * an old revision, a watch replaying past changes the watch cache no longer
 * holds, a key not used for a while) are parsed again when asked for. A
 * version is the entry's when it is the very `KeyValue` (the embedded store
 * hands out one per version) or has the same revisions and bytes (a remote
 * store's copy; another store in the same process with the same key and
 * revision has other bytes).
 *
 * 8,192: the benchmark's ~4,900 pods stay decoded. A key read again after
 * it left costs its update ~30-40 us of main-thread CPU (measured with 2,048:
 * the object the server wrote shares frozen parts that let comparisons and
 * the managed-fields walk stop at identities; a re-parsed one does not).
 */
export const decodedCapacity = 8192
const decodedLatest = new RecentMap<string, { readonly kv: KeyValue; readonly object: Obj }>(
  decodedCapacity,
)

const decodedOf = (key: string, kv: KeyValue): Obj | undefined => {
  const entry = decodedLatest.get(key)
  if (entry === undefined) return undefined
  const held = entry.kv
  return held === kv ||
    (held.mod_revision === kv.mod_revision &&
      held.create_revision === kv.create_revision &&
      sameBytes(held.value, kv.value))
    ? entry.object
    : undefined
}

/** Keeps `object` as the decoded version of `key` unless a newer version is held. */
const keepDecoded = (key: string, kv: KeyValue, object: Obj): void => {
  const entry = decodedLatest.get(key)
  if (entry !== undefined && entry.kv.mod_revision > kv.mod_revision) return
  decodedLatest.set(key, { kv, object })
}

/** A deleted key's decoded versions are no longer read as current. */
const forgetDecoded = (key: string, revision: number): void => {
  const entry = decodedLatest.get(key)
  if (entry !== undefined && entry.kv.mod_revision < revision) decodedLatest.delete(key)
}

/**
 * The objects this server just wrote, with their JSON, by key and revision,
 * until a read or the store's watch meets their versions: a version's
 * object is then taken as it is (frozen), not parsed from the stored bytes,
 * and its JSON not computed again. Bounded: versions nobody reads back are
 * forgotten (and then parsed as any other). The map is shared by every
 * store in the process (tests and embedders run several, each counting
 * revisions from 1), so a version is taken only when its stored bytes are
 * the ones written: another store's write of the same key and revision is
 * another object.
 */
const writtenObjects = new Map<string, { readonly object: Obj; readonly value: Uint8Array }>()
const maxWrittenObjects = 10_000
const writtenKey = (key: string, revision: number) => `${revision}\u0000${key}`

/** Byte equality; the embedded store usually hands back the very array written. */
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Whether a value built on the write path is what parsing its JSON gives:
 * false when it holds something JSON would drop or change (undefined, a
 * function, a number that is not finite). Checked before anything is frozen,
 * so a value that is not taken is left as it was. A frozen object is not
 * walked: only stored objects (parsed, or written and checked here) and
 * constant empty ones are frozen, so most of an update (what it kept of the
 * stored object) is not walked again.
 */
const isExactJson = (value: unknown): boolean => {
  if (typeof value === "number") return Number.isFinite(value)
  if (typeof value !== "object" || value === null)
    return typeof value !== "undefined" && typeof value !== "function"
  if (Object.isFrozen(value)) return true
  if (Array.isArray(value)) {
    for (const v of value) if (!isExactJson(v)) return false
    return true
  }
  for (const k in value) if (!isExactJson((value as Obj)[k])) return false
  return true
}

/**
 * Parses a stored value (of `key`) and stamps its resourceVersion. The
 * result is frozen and shared: the newest version of each key is parsed once
 * (`decodedLatest`), older ones whenever asked for; a version this server
 * wrote is not parsed at all (its object and JSON come from the write).
 */
export const decodeStored = (kv: KeyValue, key: string = keyString(kv.key)): Obj => {
  const memo = decodedOf(key, kv)
  if (memo !== undefined) return memo
  if (writtenObjects.size > 0) {
    const wk = writtenKey(key, kv.mod_revision)
    const written = writtenObjects.get(wk)
    if (written !== undefined && sameBytes(written.value, kv.value)) {
      writtenObjects.delete(wk)
      // Only objects that are what parsing would give were kept (and frozen) by the write.
      keepDecoded(key, kv, written.object)
      return written.object
    }
  }
  const parsed: unknown = JSON.parse(decoder.decode(kv.value))
  const object = isObject(parsed) ? parsed : {}
  const metadata = isObject(object.metadata) ? object.metadata : {}
  object.metadata = { ...metadata, resourceVersion: String(kv.mod_revision) }
  const fresh = shareParsed(object)
  deepFreeze(object)
  offerShared(fresh, object)
  keepDecoded(key, kv, object)
  return object
}

/**
 * A parsed object's parts as the shared ones written or read recently with
 * the same JSON (`sharedValues`, and `sharedFieldsV1` for its managedFields),
 * in place, before it is frozen: a key read back from the store (not written
 * by this server since it started, or not used for a while) then holds no
 * more of its own than one this server wrote. Returns the fields and JSON of
 * the top-level values to share once the object is frozen.
 */
const shareParsed = (object: Obj): Array<string> | undefined => {
  let fresh: Array<string> | undefined
  for (const k in object) {
    if (k === "metadata" || !Object.hasOwn(object, k)) continue
    const value = object[k]
    if (typeof value !== "object" || value === null) continue
    const text = JSON.stringify(value)
    if (text.length > maxSharedLength) continue
    const same = sharedValues.get(text)
    if (same === undefined) (fresh ??= []).push(k, text)
    else setKey(object, k, same)
  }
  const managed = (object.metadata as Obj).managedFields
  if (Array.isArray(managed))
    for (const entry of managed)
      if (isObject(entry) && entry.fieldsV1 !== undefined)
        entry.fieldsV1 = sharedFieldsV1(entry.fieldsV1)
  return fresh
}

/** An object as stored (its metadata without resourceVersion), serialized once. */
export interface SerializedObject {
  /** The value stored: the object's JSON without resourceVersion. */
  readonly value: Uint8Array
  /** The object at a revision: resourceVersion last in its metadata, as `decodeStored` reads it back. */
  readonly objectAt: (revision: number) => Obj
  /** `JSON.stringify(objectAt(revision))`, from the same serialization. */
  readonly jsonAt: (revision: number) => string
  /** Offers the top-level values of `objectAt`'s object, once kept and frozen, to later writes (`sharedValues`). */
  readonly share: (kept: Obj) => void
}

/**
 * The top-level values (spec, status, data, ...) of objects written
 * recently, frozen, by their JSON: a write whose value has the same JSON
 * keeps that one instead of its own (`objectAt`). Objects made alike (a
 * workload's pods, a controller's writes) then share their specs instead of
 * each keeping a dozen heap objects of them for as long as it stays decoded,
 * which every full collection's marking visits. Free to look up: a write
 * serializes each top-level value on its own anyway. Bounded in count
 * (`RecentMap`) and in size (values with longer JSON are not shared).
 */
const sharedValues = new RecentMap<string, unknown>(1024)
const maxSharedLength = 4096

/** Offers `kept`'s (frozen) values of the fields in `fresh` (field, JSON, field, JSON, ...) to later objects. */
const offerShared = (fresh: ReadonlyArray<string> | undefined, kept: Obj): void => {
  if (fresh === undefined) return
  for (let i = 0; i < fresh.length; i += 2)
    sharedValues.set(fresh[i + 1] as string, kept[fresh[i] as string])
}

/**
 * Serializes an object for the store. The JSON is assembled from the
 * metadata's and the other fields' JSON, so the JSON at a revision (the
 * stored JSON with the resourceVersion appended to the metadata) costs no
 * second serialization; it is what `JSON.stringify` gives for `objectAt`.
 */
export const serializeStored = (object: Obj): SerializedObject => {
  const source = isObject(object.metadata) ? object.metadata : {}
  // Copied key by key: deleting resourceVersion from a copy would leave a
  // slow dictionary-mode object for JSON.stringify and every later copy.
  const metadata: Obj = {}
  for (const k in source)
    if (k !== "resourceVersion" && Object.hasOwn(source, k)) setKey(metadata, k, source[k])
  const metadataJson = JSON.stringify(metadata)
  /** Fields whose value equals a value written recently: that (frozen) one is kept instead. */
  let shared: Obj | undefined
  /** Fields and their JSON to share once the object is kept (frozen). */
  let fresh: Array<string> | undefined
  let before = "{"
  let after = ""
  let seen = false
  let first = true
  for (const k in object) {
    if (!Object.hasOwn(object, k)) continue
    if (k === "metadata") {
      before += first ? '"metadata":' : ',"metadata":'
      first = false
      seen = true
      continue
    }
    const value = object[k]
    const text = JSON.stringify(value)
    // JSON.stringify leaves out keys whose values have no JSON (undefined, functions).
    if (text === undefined) continue
    if (typeof value === "object" && value !== null && text.length <= maxSharedLength) {
      const same = sharedValues.get(text)
      if (same === undefined) (fresh ??= []).push(k, text)
      // Only a value that is what parsing its JSON gives: one that is not
      // leaves the object unkept (`written`), as it was.
      else if (same !== value && isExactJson(value)) setKey((shared ??= {}), k, same)
    }
    const part = `${first ? "" : ","}${JSON.stringify(k)}:${text}`
    first = false
    if (seen) after += part
    else before += part
  }
  // An object without metadata gets it last, as a spread adding the key would place it.
  if (!seen) before += first ? '"metadata":' : ',"metadata":'
  after += "}"
  const value = encoder.encode(before + metadataJson + after)
  const metadataAt = (revision: number) =>
    `${metadataJson.length === 2 ? "{" : `${metadataJson.slice(0, -1)},`}"resourceVersion":${JSON.stringify(String(revision))}}`
  return {
    value,
    objectAt: (revision) => ({
      ...object,
      ...shared,
      metadata: { ...metadata, resourceVersion: String(revision) },
    }),
    jsonAt: (revision) => before + metadataAt(revision) + after,
    share: (kept) => offerShared(fresh, kept),
  }
}

/** The value stored for an object: its JSON without resourceVersion. */
export const encodeStored = (object: Obj): Uint8Array => serializeStored(object).value

const stored = (kv: KeyValue): Stored => {
  const key = keyString(kv.key)
  return { key, object: decodeStored(kv, key), modRevision: kv.mod_revision }
}

export interface ListPage {
  readonly items: ReadonlyArray<Stored>
  /** The revision the page was read at. */
  readonly revision: number
  /** More keys follow the last one read. */
  readonly more: boolean
  /** The last key read (where the next page continues), when `more`. */
  readonly lastKey: string | undefined
  /** Keys in the range after this page (for `remainingItemCount`). */
  readonly remaining: number
}

/** One change of a watched prefix: the new object (or the deleted one) and the previous. */
export interface Change {
  readonly type: "PUT" | "DELETE"
  readonly key: string
  readonly revision: number
  /** For a PUT the new object; for a DELETE the last version (stamped with the deletion revision). */
  readonly object: Obj
  readonly previous: Obj | undefined
  /** Whether the key was created by this change. */
  readonly created: boolean
}

/** What a watch stream carries: changes, progress (every change up to `revision` delivered), or the end. */
export type WatchItem =
  | { readonly _tag: "Changes"; readonly changes: ReadonlyArray<Change>; readonly revision: number }
  | { readonly _tag: "Progress"; readonly revision: number }
  | { readonly _tag: "Compacted"; readonly compactRevision: number }

/** A decision of an update function: what to write for the current state. */
export type UpdateDecision =
  | {
      readonly _tag: "Put"
      readonly object: Obj
      /** More conditions and operations of the same transaction (allocations). */
      readonly compare?: ReadonlyArray<Compare>
      readonly extra?: ReadonlyArray<RequestOp>
      /** Keys that must not exist, with the error to answer when one does (explicitly requested allocations). */
      readonly absent?: ReadonlyArray<{ readonly key: string; readonly error: ApiError }>
    }
  | {
      readonly _tag: "Delete"
      readonly compare?: ReadonlyArray<Compare>
      readonly extra?: ReadonlyArray<RequestOp>
    }
  | { readonly _tag: "Noop"; readonly object: Obj }

export type UpdateOutcome =
  | { readonly _tag: "Put"; readonly stored: Stored; readonly created: boolean }
  | { readonly _tag: "Deleted"; readonly stored: Stored }
  | { readonly _tag: "Noop"; readonly object: Obj }

/** Attempts before a contended update gives up (each loses only to a newer write). */
const maxUpdateAttempts = 64

export interface ObjectStore {
  /**
   * Reads a key: linearizably by default; `serializable` reads this member's
   * applied state, which may lag the leader (no consensus round).
   */
  readonly get: (
    key: string,
    options?: { readonly serializable?: boolean },
  ) => Effect.Effect<Stored | undefined, ApiError>
  /** The current revision of the store. */
  readonly revision: Effect.Effect<number, ApiError>
  readonly list: (
    prefix: string,
    options: { readonly revision?: number; readonly start?: string; readonly limit?: number },
  ) => Effect.Effect<ListPage, ApiError>
  /** Creates `key`; resolves with undefined when it already exists. Extra ops join the transaction. */
  readonly create: (
    key: string,
    object: Obj,
    extra?: ReadonlyArray<RequestOp>,
  ) => Effect.Effect<Stored | undefined, ApiError>
  /**
   * Reads `key` and applies `update` to what is there (undefined when absent),
   * writing the decision if nothing changed meanwhile, else retrying.
   */
  readonly guaranteedUpdate: <E>(
    key: string,
    update: (current: Stored | undefined, attempt: number) => Effect.Effect<UpdateDecision, E>,
  ) => Effect.Effect<UpdateOutcome, E | ApiError>
  /** Changes under `prefix` after `fromRevision` (exclusive), with progress notifications when asked. */
  readonly watch: (
    prefix: string,
    fromRevision: number,
    progressEveryMs?: number,
  ) => Stream.Stream<WatchItem, ApiError>
}

/** A store event as a change of an object. */
const toChange = (e: StoreEvent): Change => {
  const key = keyString(e.kv.key)
  // The previous version first: it is the newest decoded one until this change's is.
  const previous = e.prev_kv === undefined ? undefined : decodeStored(e.prev_kv, key)
  if (e.type === "PUT") {
    return {
      type: "PUT",
      key,
      revision: e.kv.mod_revision,
      object: decodeStored(e.kv, key),
      previous,
      created: e.kv.create_revision === e.kv.mod_revision,
    }
  }
  forgetDecoded(key, e.kv.mod_revision)
  const last = previous ?? {}
  return {
    type: "DELETE",
    key,
    revision: e.kv.mod_revision,
    object: {
      ...last,
      metadata: {
        ...(isObject(last.metadata) ? last.metadata : {}),
        resourceVersion: String(e.kv.mod_revision),
      },
    },
    previous,
    created: false,
  }
}

export interface ObjectStoreOptions {
  /**
   * Seconds a key lives after its last write, or undefined to live until
   * deleted. Kubernetes keeps events for an hour (`--event-ttl`): they are
   * written with a store lease and vanish on their own.
   */
  readonly ttlSeconds?: (key: string) => number | undefined
}

/** Events live an hour after their last write, as with Kubernetes' default `--event-ttl`. */
export const eventTtl = (key: string): number | undefined =>
  key.startsWith("/registry/events/") ? 3600 : undefined

/** Writes within this long share one lease (Kubernetes' lease reuse keeps the lease count low). */
const leaseReuseMs = 60_000

/** The object store over a KV service. */
export const makeObjectStore = (kv: KVShape, options: ObjectStoreOptions = {}): ObjectStore => {
  const ttlOf = options.ttlSeconds ?? eventTtl
  const leases = new Map<number, { readonly id: number; readonly grantedMs: number }>()
  /** A lease for a key that expires, shared by the writes of the last minute. */
  const leaseFor = (key: string): Effect.Effect<number, ApiError> => {
    const ttl = ttlOf(key)
    if (ttl === undefined) return Effect.succeed(0)
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const current = leases.get(ttl)
      if (current !== undefined && now - current.grantedMs < leaseReuseMs)
        return Effect.succeed(current.id)
      // The lease outlives its reuse window so the last key written under it still gets its full TTL.
      return kv.leaseGrant({ TTL: ttl + leaseReuseMs / 1000 }).pipe(
        Effect.map((r) => {
          leases.set(ttl, { id: r.ID, grantedMs: now })
          return r.ID
        }),
        Effect.mapError(mapError(`granting a lease for ${key}`)),
      )
    })
  }
  const serializableRead = { serializable: true } as const
  const get = (key: string, options?: { readonly serializable?: boolean }) =>
    kv
      .range({
        key: keyBytes(key),
        ...(options?.serializable === true ? { serializable: true } : {}),
      })
      .pipe(
        Effect.map((r) => (r.kvs[0] === undefined ? undefined : stored(r.kvs[0]))),
        Effect.mapError(mapError(`reading ${key}`)),
      )

  const revision = kv.range({ key: keyBytes("/registry/"), count_only: true, limit: 1 }).pipe(
    Effect.map((r) => r.header.revision),
    Effect.mapError(mapError("reading the revision")),
  )

  const list: ObjectStore["list"] = (prefix, options) => {
    const prefixBytes = keyBytes(prefix)
    const start = options.start === undefined ? prefixBytes : keyBytes(options.start)
    return kv
      .range({
        key: start,
        range_end: prefixEnd(prefixBytes),
        ...(options.revision === undefined ? {} : { revision: options.revision }),
        ...(options.limit === undefined ? {} : { limit: options.limit }),
      })
      .pipe(
        Effect.map((r): ListPage => {
          const items = r.kvs.map(stored)
          const last = items[items.length - 1]
          return {
            items,
            revision: options.revision ?? r.header.revision,
            more: r.more,
            lastKey: r.more && last !== undefined ? last.key : undefined,
            remaining: Math.max(0, r.count - items.length),
          }
        }),
        Effect.mapError(mapError(`listing ${prefix}`, options.revision)),
      )
  }

  const txnPut = (
    key: string,
    object: Obj,
    compare: "absent" | number,
    extra: ReadonlyArray<RequestOp>,
    extraCompare: ReadonlyArray<Compare> = [],
  ): Effect.Effect<
    { readonly response: TxnResponse; readonly serialized: SerializedObject },
    ApiError
  > => {
    const serialized = serializeStored(object)
    // Eager: a key without a TTL has its lease (none) at once, with no step for it.
    return Effect.flatMapEager(leaseFor(key), (lease) =>
      kv
        .txn({
          compare: [
            compare === "absent"
              ? { key: keyBytes(key), target: "CREATE", result: "EQUAL", create_revision: 0 }
              : { key: keyBytes(key), target: "MOD", result: "EQUAL", mod_revision: compare },
            ...extraCompare,
          ],
          success: [
            {
              request_put: {
                key: keyBytes(key),
                value: serialized.value,
                ...(lease === 0 ? {} : { lease }),
              },
            },
            ...extra,
          ],
          failure: [],
        })
        .pipe(
          Effect.map((response) => ({ response, serialized })),
          Effect.mapError(mapError(`writing ${key}`)),
        ),
    )
  }

  /**
   * The object a write stored at `revision`, as reads will see it, with its
   * JSON from the write's serialization: the answer to the write uses it, and
   * so do reads and watchers once they meet the version. When it is what
   * parsing its JSON gives (no undefined members) it is frozen here, as every
   * stored object is, and kept for them; else it is left as it was, and
   * reads parse the stored bytes. Frozen at the write, not at the first read:
   * what the write validated is then known unchanged at once (a pod created
   * from the same template as the last one is not validated again).
   */
  const written = (key: string, serialized: SerializedObject, revision: number): Obj => {
    const object = serialized.objectAt(revision)
    presetJson(object, serialized.jsonAt(revision))
    if (!isExactJson(object)) return object
    deepFreeze(object)
    serialized.share(object)
    if (writtenObjects.size >= maxWrittenObjects) writtenObjects.clear()
    writtenObjects.set(writtenKey(key, revision), { object, value: serialized.value })
    return object
  }

  const withRevision = (object: Obj, rev: number): Obj => ({
    ...object,
    metadata: {
      ...(isObject(object.metadata) ? object.metadata : {}),
      resourceVersion: String(rev),
    },
  })

  const create: ObjectStore["create"] = (key, object, extra = []) =>
    Effect.map(txnPut(key, object, "absent", extra), ({ response, serialized }) =>
      response.succeeded
        ? {
            key,
            object: written(key, serialized, response.header.revision),
            modRevision: response.header.revision,
          }
        : undefined,
    )

  const guaranteedUpdate: ObjectStore["guaranteedUpdate"] = <E>(
    key: string,
    update: (current: Stored | undefined, attempt: number) => Effect.Effect<UpdateDecision, E>,
  ) => {
    /** The outcome of a transaction the decision was written in (or the next attempt when it lost). */
    const settle = (
      n: number,
      current: Stored | undefined,
      response: TxnResponse,
      serialized: SerializedObject | undefined,
    ): Effect.Effect<UpdateOutcome, E | ApiError> => {
      if (!response.succeeded) {
        if (n + 1 >= maxUpdateAttempts) {
          return Effect.fail(internalError(`too many concurrent writes to ${key}`))
        }
        return attempt(n + 1)
      }
      const rev = response.header.revision
      if (serialized !== undefined) {
        return Effect.succeed({
          _tag: "Put",
          stored: { key, object: written(key, serialized, rev), modRevision: rev },
          created: current === undefined,
        } as const)
      }
      return Effect.succeed({
        _tag: "Deleted",
        stored: { key, object: withRevision((current as Stored).object, rev), modRevision: rev },
      } as const)
    }
    /** Keys the decision needs absent (requested allocations), checked in order. */
    const checkAbsent = (
      absent: ReadonlyArray<{ readonly key: string; readonly error: ApiError }>,
      i: number,
    ): Effect.Effect<void, ApiError> => {
      const a = absent[i]
      if (a === undefined) return Effect.void
      return Effect.flatMap(
        kv
          .range({ key: keyBytes(a.key), count_only: true })
          .pipe(Effect.mapError(mapError(`reading ${a.key}`))),
        (taken) => (taken.count > 0 ? Effect.fail(a.error) : checkAbsent(absent, i + 1)),
      )
    }
    // Plain continuations rather than a generator: an update is the hottest
    // write, and each generator step is an Effect step.
    const attempt = (n: number): Effect.Effect<UpdateOutcome, E | ApiError> => {
      // The first attempt reads this member's state, which may be stale: a
      // write is caught by the transaction's compare, and anything that would
      // answer without writing (a Noop, or a refusal such as a conflict on
      // the client's resourceVersion) is decided again on a linearizable read.
      const serializable = n === 0
      return Effect.flatMap(get(key, serializable ? serializableRead : undefined), (current) =>
        Effect.flatMapEager(Effect.result(update(current, n)), (result) => {
          if (serializable && (result._tag === "Failure" || result.success._tag === "Noop")) {
            return attempt(n + 1)
          }
          if (result._tag === "Failure") return Effect.fail(result.failure)
          const decision = result.success
          if (decision._tag === "Noop")
            return Effect.succeed({ _tag: "Noop", object: decision.object } as const)
          if (decision._tag === "Put") {
            const put = () =>
              Effect.flatMap(
                txnPut(
                  key,
                  decision.object,
                  current === undefined ? "absent" : current.modRevision,
                  decision.extra ?? [],
                  decision.compare ?? [],
                ),
                (done) => settle(n, current, done.response, done.serialized),
              )
            const absent = decision.absent ?? []
            return absent.length === 0 ? put() : Effect.flatMap(checkAbsent(absent, 0), put)
          }
          if (current === undefined) return Effect.fail(internalError(`deleting ${key}: not found`))
          return Effect.flatMap(
            kv
              .txn({
                compare: [
                  {
                    key: keyBytes(key),
                    target: "MOD",
                    result: "EQUAL",
                    mod_revision: current.modRevision,
                  },
                  ...(decision.compare ?? []),
                ],
                success: [
                  { request_delete_range: { key: keyBytes(key) } },
                  ...(decision.extra ?? []),
                ],
                failure: [],
              })
              .pipe(Effect.mapError(mapError(`deleting ${key}`))),
            (response) => settle(n, current, response, undefined),
          )
        }),
      )
    }
    return attempt(0)
  }

  const watch: ObjectStore["watch"] = (prefix, fromRevision, progressEveryMs) => {
    const prefixBytes = keyBytes(prefix)
    const request = {
      key: prefixBytes,
      range_end: prefixEnd(prefixBytes),
      start_revision: fromRevision + 1,
      prev_kv: true,
    }
    return Stream.unwrap(
      Effect.gen(function* () {
        const session = yield* kv.watchSession
        yield* session.send({ create_request: request })
        if (progressEveryMs !== undefined) {
          yield* Effect.forkScoped(
            Effect.forever(
              Effect.andThen(Effect.sleep(progressEveryMs), session.send({ progress_request: {} })),
            ),
          )
        }
        return session.responses.pipe(
          Stream.takeUntil((r) => r.canceled),
          Stream.map((r): WatchItem | undefined => {
            if (r.canceled) {
              return r.compact_revision > 0
                ? { _tag: "Compacted", compactRevision: r.compact_revision }
                : undefined
            }
            if (r.created) return undefined
            if (r.events.length === 0) return { _tag: "Progress", revision: r.header.revision }
            return { _tag: "Changes", changes: r.events.map(toChange), revision: r.header.revision }
          }),
          Stream.filter((item): item is WatchItem => item !== undefined),
          Stream.mapError(mapError(`watching ${prefix}`)),
        )
      }),
    )
  }

  return { get, revision, list, create, guaranteedUpdate, watch }
}
