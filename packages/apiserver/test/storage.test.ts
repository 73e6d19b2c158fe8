// Stored values and their JSON: one serialization gives the value stored
// (the object without resourceVersion), the object at a revision, and that
// object's JSON, exactly what reading the value back gives.
import { type KeyValue, KV } from "@flotilla/store"
import { Context, Effect, Layer, Stream } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { metadataOf, type Obj } from "../src/core/json.ts"
import { keyBytes } from "../src/core/keys.ts"
import { readManagedFields, toFieldsV1 } from "../src/core/managed.ts"
import { decodedCapacity, decodeStored, makeObjectStore, serializeStored } from "../src/storage.ts"

const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
)
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom("__proto__", "1", "10", "metadata"),
)
const object = fc.record(
  {
    top: fc.dictionary(key, value, { maxKeys: 4 }),
    metadata: fc.option(
      fc.record(
        {
          fields: fc.dictionary(key, value, { maxKeys: 4 }),
          resourceVersion: fc.option(fc.constant("7"), { nil: undefined }),
        },
        { requiredKeys: ["fields"] },
      ),
      { nil: undefined },
    ),
    metadataFirst: fc.boolean(),
  },
  { requiredKeys: ["top", "metadataFirst"] },
)

const build = (o: {
  top: Record<string, unknown>
  metadata?: { fields: Record<string, unknown>; resourceVersion?: string | undefined } | undefined
  metadataFirst: boolean
}): Record<string, unknown> => {
  const metadata =
    o.metadata === undefined
      ? undefined
      : {
          ...o.metadata.fields,
          ...(o.metadata.resourceVersion === undefined
            ? {}
            : { resourceVersion: o.metadata.resourceVersion }),
        }
  const out: Record<string, unknown> = {}
  const put = (k: string, v: unknown) =>
    Object.defineProperty(out, k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  if (metadata !== undefined && o.metadataFirst) put("metadata", metadata)
  for (const k of Object.keys(o.top)) if (k !== "metadata") put(k, o.top[k])
  if (metadata !== undefined && !o.metadataFirst) put("metadata", metadata)
  return out
}

const kvOf = (value: Uint8Array, revision: number): KeyValue =>
  ({
    key: keyBytes("/registry/pods/default/p"),
    value,
    create_revision: revision,
    mod_revision: revision,
    version: 1,
    lease: 0,
  }) as KeyValue

describe("serializeStored", () => {
  it("stores the object without resourceVersion, and its JSON at a revision is what reading it back gives (property)", () => {
    fc.assert(
      fc.property(object, fc.integer({ min: 1, max: 1_000_000 }), (o, revision) => {
        const obj = build(o)
        const s = serializeStored(obj)
        const metadata =
          typeof obj.metadata === "object" && obj.metadata !== null
            ? { ...(obj.metadata as Record<string, unknown>) }
            : {}
        delete metadata.resourceVersion
        const text = new TextDecoder().decode(s.value)
        expect(text).toBe(JSON.stringify({ ...obj, metadata }))
        expect(s.jsonAt(revision)).toBe(JSON.stringify(s.objectAt(revision)))
        expect(JSON.stringify(decodeStored(kvOf(s.value, revision)))).toBe(s.jsonAt(revision))
      }),
    )
  })
})

describe("versions this server wrote", () => {
  const read = (object: Record<string, unknown>) =>
    Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(KV.layerMemory())
          const store = makeObjectStore(Context.get(context, KV))
          const created = yield* store.create("/registry/pods/default/p", object)
          const got = yield* store.get("/registry/pods/default/p")
          return { created, got }
        }),
      ),
    )

  it("are read back as parsing their stored value gives them, frozen", async () => {
    const { created, got } = await read({ metadata: { name: "p" }, spec: { a: [1, { b: "c" }] } })
    expect(got).toBeDefined()
    expect(got?.object).toStrictEqual({
      metadata: { name: "p", resourceVersion: String(created?.modRevision) },
      spec: { a: [1, { b: "c" }] },
    })
    const spec = got?.object.spec as { a: Array<unknown> }
    expect(Object.isFrozen(spec.a[1])).toBe(true)
    // Not parsed again: the write's own object.
    expect(got?.object).toBe(created?.object)
  })

  it("are parsed again when the written object holds what JSON drops", async () => {
    const { got } = await read({ metadata: { name: "p" }, spec: { a: undefined, b: [undefined] } })
    // As parsed from the stored JSON: no `a`, and null in the array.
    expect(got?.object.spec).toStrictEqual({ b: [null] })
    expect(Object.hasOwn(got?.object.spec as object, "a")).toBe(false)
  })

  it("leave a written object unfrozen when it is not taken", async () => {
    const { created } = await read({ metadata: { name: "p" }, spec: { a: { b: 1 }, c: undefined } })
    expect(Object.isFrozen(created?.object)).toBe(false)
    expect(Object.isFrozen(created?.object.spec)).toBe(false)
  })

  it("are taken with the stored object's frozen parts they keep, and not when a new part holds what JSON drops", async () => {
    const key = "/registry/pods/default/p"
    const [kept, dropped] = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = makeObjectStore(Context.get(yield* Layer.build(KV.layerMemory()), KV))
          yield* store.create(key, { metadata: { name: "p" }, spec: { a: [1, { b: "c" }] } })
          const results = []
          for (const extra of [{ x: 1 }, { x: undefined }]) {
            const outcome = yield* store.guaranteedUpdate(key, (current) =>
              Effect.succeed({
                _tag: "Put" as const,
                // The stored spec itself (frozen), beside a new part.
                object: { ...(current?.object ?? {}), extra },
              }),
            )
            const written = outcome._tag === "Put" ? outcome.stored.object : undefined
            const got = (yield* store.get(key))?.object
            results.push({ written, got })
          }
          return results
        }),
      ),
    )
    expect(Object.isFrozen(kept?.written?.spec)).toBe(true)
    expect(kept?.got).toBe(kept?.written)
    expect(dropped?.got).not.toBe(dropped?.written)
    expect(dropped?.got?.extra).toStrictEqual({})
    expect(dropped?.got?.spec).toStrictEqual({ a: [1, { b: "c" }] })
  })

  it("share a top-level value with an object written before with the same JSON (frozen); a changed value is their own", async () => {
    const key = (name: string) => `/registry/pods/default/${name}`
    const pod = (name: string, image: string, phase: string) => ({
      metadata: { name },
      spec: { containers: [{ name: "main", image }], tolerations: [{ key: "t" }] },
      status: { phase },
    })
    const got = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = makeObjectStore(Context.get(yield* Layer.build(KV.layerMemory()), KV))
          const a = (yield* store.create(key("a"), pod("a", "x:1", "Pending")))?.object
          const b = (yield* store.create(key("b"), pod("b", "x:1", "Running")))?.object
          const outcome = yield* store.guaranteedUpdate(key("b"), (current) =>
            Effect.succeed({
              _tag: "Put" as const,
              object: { ...current?.object, ...pod("b", "x:2", "Running") },
            }),
          )
          const changed = outcome._tag === "Put" ? outcome.stored.object : undefined
          const aRead = (yield* store.get(key("a")))?.object
          // The same JSON, with a member JSON drops: not taken, not shared.
          const withUndefined = pod("c", "x:1", "Pending")
          const c = (yield* store.create(key("c"), {
            ...withUndefined,
            spec: { ...withUndefined.spec, dropped: undefined },
          }))?.object
          return { a, b, changed, aRead, c }
        }),
      ),
    )
    expect(got.a).toBeDefined()
    expect(got.b?.spec).toBe(got.a?.spec)
    expect(Object.isFrozen(got.a?.spec)).toBe(true)
    expect(got.b?.status).toStrictEqual({ phase: "Running" })
    expect(got.changed?.spec).not.toBe(got.a?.spec)
    expect(got.changed?.spec).toStrictEqual(pod("b", "x:2", "Running").spec)
    expect(got.aRead?.spec).toStrictEqual(pod("a", "x:1", "Pending").spec)
    expect(got.c?.spec).not.toBe(got.a?.spec)
    expect(Object.isFrozen(got.c)).toBe(false)
    // The later write's equal status is the earlier one's.
    expect(got.changed?.status).toBe(got.b?.status)
  })

  it("are another store's only when its bytes are the ones this store holds", async () => {
    const key = "/registry/pods/default/p"
    const [a, b] = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const stores = []
          for (const from of ["a", "b"]) {
            const store = makeObjectStore(Context.get(yield* Layer.build(KV.layerMemory()), KV))
            // The same key at the same revision in two stores of one process.
            yield* store.create(key, { metadata: { name: "p" }, spec: { from } })
            stores.push(store)
          }
          const got = []
          for (const store of stores) got.push((yield* store.get(key))?.object.spec)
          return got
        }),
      ),
    )
    expect(a).toStrictEqual({ from: "a" })
    expect(b).toStrictEqual({ from: "b" })
  })
})

describe("decoded versions", () => {
  const encoder = new TextEncoder()
  const version = (key: string, revision: number, spec: unknown, created = 1): KeyValue =>
    ({
      key: keyBytes(key),
      value: encoder.encode(JSON.stringify({ metadata: { name: "d" }, spec })),
      create_revision: created,
      mod_revision: revision,
      version: revision - created + 1,
      lease: 0,
    }) as KeyValue

  it("share their values and managedFields' fieldsV1 with equal ones read before, which read back as parsing gives them", () => {
    const stored = (name: string, revision: number, image: string) =>
      ({
        key: keyBytes(`/registry/pods/default/${name}`),
        value: encoder.encode(
          JSON.stringify({
            metadata: {
              name,
              managedFields: [
                {
                  manager: "m",
                  operation: "Update",
                  fieldsType: "FieldsV1",
                  fieldsV1: { "f:spec": { "f:image": {}, "f:shared-read-back": {} } },
                },
              ],
            },
            spec: { image, "shared-read-back": [{ n: 1 }] },
          }),
        ),
        create_revision: revision,
        mod_revision: revision,
        version: 1,
        lease: 0,
      }) as KeyValue
    const a = decodeStored(stored("shared-a", 20, "x"))
    const b = decodeStored(stored("shared-b", 21, "x"))
    const c = decodeStored(stored("shared-c", 22, "y"))
    const fieldsV1 = (o: Obj) => ((metadataOf(o).managedFields as Array<Obj>)[0] as Obj).fieldsV1
    expect(b.spec).toBe(a.spec)
    expect(c.spec).not.toBe(a.spec)
    expect(c.spec).toStrictEqual({ image: "y", "shared-read-back": [{ n: 1 }] })
    expect(fieldsV1(b)).toBe(fieldsV1(a))
    expect(fieldsV1(c)).toBe(fieldsV1(a))
    expect(Object.isFrozen(fieldsV1(a))).toBe(true)
    // The shared set reads back as parsing the JSON gives it.
    const read = (o: Obj) => readManagedFields(o).map((e) => toFieldsV1(e.fields))
    expect(read(c)).toStrictEqual(read(JSON.parse(JSON.stringify(c)) as Obj))
    expect(read(c)).toStrictEqual([{ "f:spec": { "f:image": {}, "f:shared-read-back": {} } }])
  })

  it("keep the newest version of a key decoded once; older ones are parsed again", () => {
    const key = "/registry/pods/default/decoded-1"
    const v10 = version(key, 10, { a: 1 })
    const first = decodeStored(v10)
    expect(decodeStored(v10)).toBe(first)
    expect(Object.isFrozen(first)).toBe(true)
    // A remote store's copy of the same version is the same version.
    expect(decodeStored({ ...v10, value: v10.value.slice() })).toBe(first)
    const v11 = version(key, 11, { a: 2 })
    const second = decodeStored(v11)
    expect(second).toStrictEqual({ metadata: { name: "d", resourceVersion: "11" }, spec: { a: 2 } })
    expect(decodeStored(v11)).toBe(second)
    // The older version: parsed again, as it was, and it does not displace the newer.
    const again = decodeStored(v10)
    expect(again).not.toBe(first)
    expect(again).toStrictEqual(first)
    expect(decodeStored(v11)).toBe(second)
  })

  it("keep only recently used keys decoded: a key unused for more than twice the capacity is parsed again, a recent one is not", () => {
    const cold = version("/registry/pods/default/cold", 20, { a: "cold" })
    const hot = version("/registry/pods/default/hot", 21, { a: "hot" })
    const coldFirst = decodeStored(cold)
    const hotFirst = decodeStored(hot)
    for (let i = 0; i <= 2 * decodedCapacity; i++) {
      decodeStored(version(`/registry/pods/default/filler-${i}`, 30 + i, { i }))
      // Used all along: stays decoded.
      if (i % 100 === 0) expect(decodeStored(hot)).toBe(hotFirst)
    }
    expect(decodeStored(hot)).toBe(hotFirst)
    const coldAgain = decodeStored(cold)
    expect(coldAgain).not.toBe(coldFirst)
    expect(coldAgain).toStrictEqual(coldFirst)
    expect(Object.isFrozen(coldAgain)).toBe(true)
    // And decoded once more from then on.
    expect(decodeStored(cold)).toBe(coldAgain)
  })

  it("are not another store's version with the same key and revisions but other bytes", () => {
    const key = "/registry/pods/default/decoded-2"
    const ours = decodeStored(version(key, 5, { a: "ours" }))
    const theirs = decodeStored(version(key, 5, { a: "theirs" }))
    expect(ours.spec).toStrictEqual({ a: "ours" })
    expect(theirs.spec).toStrictEqual({ a: "theirs" })
  })

  it("are read from each change a watch brings, the previous version first, and dropped on delete", async () => {
    const key = "/registry/pods/default/decoded-3"
    const seen = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(KV.layerMemory())
          const store = makeObjectStore(Context.get(context, KV))
          const created = yield* store.create(key, { metadata: { name: "d" }, spec: { n: 1 } })
          const from = created?.modRevision ?? 0
          yield* store.guaranteedUpdate(key, (current) =>
            Effect.succeed({
              _tag: "Put" as const,
              object: { ...(current?.object ?? {}), spec: { n: 2 } },
            }),
          )
          yield* store.guaranteedUpdate(key, () => Effect.succeed({ _tag: "Delete" as const }))
          return yield* store.watch("/registry/pods/", from - 1).pipe(
            Stream.filter((item) => item._tag === "Changes"),
            Stream.flatMap((item) => Stream.fromIterable(item.changes)),
            Stream.take(3),
            Stream.runCollect,
          )
        }),
      ),
    )
    const changes = [...seen]
    expect(changes.map((c) => c.type)).toEqual(["PUT", "PUT", "DELETE"])
    // Each change's previous object is the change before's object.
    expect(changes[1]?.previous).toStrictEqual(changes[0]?.object)
    expect(changes[2]?.previous).toStrictEqual(changes[1]?.object)
    expect(changes[2]?.object.spec).toStrictEqual({ n: 2 })
  })
})
