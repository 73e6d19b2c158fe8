// Stored values and their JSON: one serialization gives the value stored
// (the object without resourceVersion), the object at a revision, and that
// object's JSON, exactly what reading the value back gives.
import { type KeyValue, KV } from "@flotilla/store"
import { Context, Effect, Layer } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { keyBytes } from "../src/core/keys.ts"
import { decodeStored, makeObjectStore, serializeStored } from "../src/storage.ts"

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
