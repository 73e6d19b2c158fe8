/**
 * Plain JSON values and the helpers the API server's cores share. Objects
 * travel through the server in Kubernetes' JSON shape (what the store holds and
 * the wire carries); typed views come from `@flotilla/api` where needed.
 */

import { jsonEqual } from "@flotilla/api"

export type Json = null | boolean | number | string | ReadonlyArray<Json> | JsonObject
export interface JsonObject {
  readonly [key: string]: Json
}

/** A mutable JSON object, as patches and preparation build them. */
export type Obj = Record<string, unknown>

export const isObject = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** `obj[key]` as an object, or an empty one. */
export const objectAt = (obj: Obj, key: string): Obj => {
  const v = obj[key]
  return isObject(v) ? v : {}
}

export const stringAt = (obj: Obj | undefined, key: string): string => {
  const v = obj?.[key]
  return typeof v === "string" ? v : ""
}

export const numberAt = (obj: Obj | undefined, key: string): number | undefined => {
  const v = obj?.[key]
  return typeof v === "number" ? v : undefined
}

/** The metadata of an object (an empty object when it has none). */
export const metadataOf = (obj: Obj): Obj => objectAt(obj, "metadata")

/** Structural equality of JSON values; object key order does not matter (`@flotilla/api`'s). */
export const deepEqual: (a: unknown, b: unknown) => boolean = jsonEqual

/**
 * A deep copy of a JSON value (objects and arrays copied, everything else
 * shared), with `__proto__` keys kept as plain keys. Plain recursion: several
 * times faster than `structuredClone` on the small objects of the write path.
 */
export const clone = <A>(value: A): A => cloneValue(value) as A

const cloneValue = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) out[i] = cloneValue(value[i])
    return out
  }
  const out: Obj = {}
  for (const k in value) {
    if (Object.hasOwn(value, k)) setKey(out, k, cloneValue((value as Obj)[k]))
  }
  return out
}

/** Sets an own property safely, even for the key `__proto__` (which assignment would not create). */
export const setKey = (obj: Obj, key: string, value: unknown): void => {
  if (key === "__proto__")
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  else obj[key] = value
}

/** RFC 3339 with seconds, as Kubernetes' `metav1.Time` prints: `2026-11-28T16:14:50Z`. */
export const rfc3339 = (ms: number): string => {
  // Every write stamps the time (managedFields): the text of the last second
  // is kept, since writes come many to a second. A Date holds `trunc(ms)`,
  // and its text up to the seconds depends on that second alone.
  const second = Math.floor(Math.trunc(ms) / 1000)
  if (second !== lastSecond || !Number.isFinite(ms)) {
    lastSecondText = `${new Date(ms).toISOString().slice(0, 19)}Z`
    lastSecond = second
  }
  return lastSecondText
}
let lastSecond = Number.NaN
let lastSecondText = ""

/** RFC 3339 with microseconds (`metav1.MicroTime`). */
export const rfc3339Micro = (ms: number): string => `${new Date(ms).toISOString().slice(0, 23)}000Z`

/** Milliseconds since the epoch of an RFC 3339 time, or undefined when it is not one. */
export const parseTime = (s: unknown): number | undefined => {
  if (typeof s !== "string" || s === "") return undefined
  const ms = Date.parse(s)
  return Number.isNaN(ms) ? undefined : ms
}

/** Freezes a JSON value and everything in it (objects read from the store are shared, never changed). */
export const deepFreeze = <A>(value: A): A => {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    // No array of the values (this walks every object a write stores).
    if (Array.isArray(value)) for (let i = 0; i < value.length; i++) deepFreeze(value[i])
    else for (const k in value) if (Object.hasOwn(value, k)) deepFreeze((value as Obj)[k])
  }
  return value
}

const jsonMemo = new WeakMap<object, string>()

/**
 * The JSON `presetJson` recorded, as a non-enumerable symbol-keyed property
 * (invisible to JSON, copies and comparisons): every write presets its
 * object's JSON, and a WeakMap entry per write costs the collector more.
 */
const jsonText: unique symbol = Symbol("json")
const presetOf = (value: object): string | undefined => (value as { [jsonText]?: string })[jsonText]

/**
 * `JSON.stringify` of an object, computed once per frozen object (or given
 * by `presetJson`): objects read from the store are shared by lists, gets and
 * watches, so each version is serialized once however many clients read it.
 */
export const memoJson = (value: object): string => {
  let text = presetOf(value) ?? jsonMemo.get(value)
  if (text !== undefined) return text
  text = JSON.stringify(value)
  if (Object.isFrozen(value)) jsonMemo.set(value, text)
  return text
}

const bytesMemo = new WeakMap<object, Uint8Array>()
const utf8 = new TextEncoder()

/** `memoJson` as UTF-8 bytes, encoded once per object whose JSON is memoized. */
export const memoJsonBytes = (value: object): Uint8Array => {
  let bytes = bytesMemo.get(value)
  if (bytes !== undefined) return bytes
  bytes = utf8.encode(memoJson(value))
  if (presetOf(value) !== undefined || jsonMemo.has(value)) bytesMemo.set(value, bytes)
  return bytes
}

/**
 * Records the JSON of an object (which must be `JSON.stringify(value)`) for
 * `memoJson`, computed elsewhere: the object must not change afterwards.
 */
export const presetJson = (value: object, json: string): void => {
  if (Object.isFrozen(value) || Object.hasOwn(value, jsonText)) jsonMemo.set(value, json)
  else Object.defineProperty(value, jsonText, { value: json })
}
