import { Result } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { isObject, type Obj } from "../../src/core/json.ts"
import {
  jsonMergePatch,
  jsonPatch,
  maxJsonPatchOperations,
  strategicMergePatch,
} from "../../src/core/patch.ts"
import { typeOf } from "../../src/core/typemeta.ts"

const ok = <A>(r: Result.Result<A, unknown>): A => {
  if (Result.isFailure(r)) throw new Error(`expected success, got ${String(r.failure)}`)
  return r.success
}

/** JSON values without nulls (a merge patch cannot produce a null). */
const jsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ maxLength: 4 }),
    fc.integer(),
    fc.boolean(),
    fc.array(tie("value"), { maxLength: 3 }),
    tie("object"),
  ),
  object: fc.dictionary(fc.constantFrom("a", "b", "c", "d"), tie("value"), { maxKeys: 4 }),
})).value

const jsonObject = fc.dictionary(fc.constantFrom("a", "b", "c", "d"), jsonValue, { maxKeys: 4 })

/** The RFC 7386 patch that turns `a` into `b`. */
const diff = (a: unknown, b: unknown): unknown => {
  if (!isObject(a) || !isObject(b)) return b
  const out: Obj = {}
  for (const k of Object.keys(a)) if (!(k in b)) out[k] = null
  for (const k of Object.keys(b)) {
    if (!(k in a)) out[k] = b[k]
    else if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out[k] = diff(a[k], b[k])
  }
  return out
}

describe("JSON merge patch (RFC 7386)", () => {
  it("follows the RFC's examples", () => {
    expect(ok(jsonMergePatch({ a: "b" }, { a: "c" }))).toEqual({ a: "c" })
    expect(ok(jsonMergePatch({ a: "b" }, { b: "c" }))).toEqual({ a: "b", b: "c" })
    expect(ok(jsonMergePatch({ a: "b" }, { a: null }))).toEqual({})
    expect(ok(jsonMergePatch({ a: [{ b: "c" }] }, { a: [1] }))).toEqual({ a: [1] })
    expect(ok(jsonMergePatch({ e: null }, { a: 1 }))).toEqual({ e: null, a: 1 })
    expect(ok(jsonMergePatch({}, { a: { bb: { ccc: null } } }))).toEqual({ a: { bb: {} } })
  })

  it("applying the diff of a and b to a gives b, without touching a (property)", () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, (a, b) => {
        const before = JSON.stringify(a)
        expect(ok(jsonMergePatch(a, diff(a, b)))).toEqual(b)
        expect(JSON.stringify(a)).toBe(before)
      }),
    )
  })
})

describe("JSON patch (RFC 6902)", () => {
  it("adds, removes, replaces, moves, copies and tests", () => {
    const doc = { foo: ["bar", "baz"], o: { a: 1 } }
    expect(ok(jsonPatch(doc, [{ op: "add", path: "/foo/1", value: "qux" }]))).toEqual({
      foo: ["bar", "qux", "baz"],
      o: { a: 1 },
    })
    expect(ok(jsonPatch(doc, [{ op: "add", path: "/foo/-", value: "end" }]))).toMatchObject({
      foo: ["bar", "baz", "end"],
    })
    expect(ok(jsonPatch(doc, [{ op: "remove", path: "/foo/0" }]))).toMatchObject({ foo: ["baz"] })
    expect(ok(jsonPatch(doc, [{ op: "replace", path: "/o/a", value: 2 }]))).toMatchObject({
      o: { a: 2 },
    })
    expect(ok(jsonPatch(doc, [{ op: "move", from: "/o/a", path: "/o/b" }]))).toMatchObject({
      o: { b: 1 },
    })
    expect(ok(jsonPatch(doc, [{ op: "copy", from: "/o", path: "/p" }]))).toMatchObject({
      o: { a: 1 },
      p: { a: 1 },
    })
    expect(
      ok(jsonPatch({ "a/b": { "m~n": 1 } }, [{ op: "test", path: "/a~1b/m~0n", value: 1 }])),
    ).toEqual({ "a/b": { "m~n": 1 } })
    expect(doc).toEqual({ foo: ["bar", "baz"], o: { a: 1 } })
  })

  it("fails on a failed test, a missing path or a bad operation, and says which", () => {
    const failed = jsonPatch({ a: 1 }, [{ op: "test", path: "/a", value: 2 }])
    expect(Result.isFailure(failed) && failed.failure.invalid).toBe(true)
    expect(Result.isFailure(failed) ? failed.failure.message : "").toBe(
      "testing value /a failed: test failed",
    )
    expect(Result.isFailure(jsonPatch({}, [{ op: "remove", path: "/nope" }]))).toBe(true)
    expect(Result.isFailure(jsonPatch({}, [{ op: "replace", path: "/nope", value: 1 }]))).toBe(true)
    expect(Result.isFailure(jsonPatch({ a: [] }, [{ op: "add", path: "/a/5", value: 1 }]))).toBe(
      true,
    )
    const bad = jsonPatch({}, [{ op: "frobnicate", path: "/a" }])
    expect(Result.isFailure(bad) && !bad.failure.invalid).toBe(true)
    expect(Result.isFailure(jsonPatch({}, { op: "add" }))).toBe(true)
  })

  it("bounds its work: at most 10,000 operations (413), copies adding at most 3 MiB (422)", () => {
    const many = Array.from({ length: maxJsonPatchOperations + 1 }, () => ({
      op: "test",
      path: "/a",
      value: 1,
    }))
    const tooMany = jsonPatch({ a: 1 }, many)
    expect(Result.isFailure(tooMany) && tooMany.failure.tooLarge).toBe(true)
    expect(Result.isFailure(tooMany) && tooMany.failure.message).toBe(
      "The allowed maximum operations in a JSON patch is 10000, got 10001",
    )
    expect(Result.isSuccess(jsonPatch({ a: 1 }, many.slice(1)))).toBe(true)
    // Each copy doubles the list: 2^40 items unbounded; refused once the copies pass 3 MiB.
    const doubling = [
      { op: "add", path: "/x", value: ["x".repeat(1000)] },
      ...Array.from({ length: 40 }, () => ({ op: "copy", from: "/x", path: "/x/-" })),
    ]
    const doubled = jsonPatch({}, doubling)
    expect(Result.isFailure(doubled) && doubled.failure.invalid).toBe(true)
    expect(Result.isFailure(doubled) && doubled.failure.message).toMatch(
      /^Unable to complete the copy, the accumulated size increase of copy is \d+, exceeding the limit 3145728$/,
    )
    // A few small copies are fine.
    expect(Result.isSuccess(jsonPatch({}, doubling.slice(0, 6)))).toBe(true)
  })

  it("an add followed by removing the same new key restores the document (property)", () => {
    fc.assert(
      fc.property(jsonObject, jsonValue, (doc, value) => {
        const path = "/zz-new"
        expect(
          ok(
            jsonPatch(doc, [
              { op: "add", path, value },
              { op: "remove", path },
            ]),
          ),
        ).toEqual(doc)
      }),
    )
  })
})

describe("strategic merge patch", () => {
  const deployment = typeOf("deployments")
  const podTemplate = (containers: Array<Obj>) => ({ spec: { template: { spec: { containers } } } })

  it("merges containers by name and their ports by containerPort", () => {
    const live = podTemplate([
      {
        name: "a",
        image: "a:1",
        ports: [{ containerPort: 80, name: "http" }, { containerPort: 443 }],
      },
      { name: "b", image: "b:1" },
    ])
    const patched = ok(
      strategicMergePatch(
        live,
        podTemplate([
          { name: "a", ports: [{ containerPort: 80, name: "web" }] },
          { name: "c", image: "c:1" },
        ]),
        deployment,
      ),
    )
    expect(patched).toEqual(
      podTemplate([
        {
          name: "a",
          image: "a:1",
          ports: [{ containerPort: 80, name: "web" }, { containerPort: 443 }],
        },
        { name: "b", image: "b:1" },
        { name: "c", image: "c:1" },
      ]),
    )
  })

  it("understands $patch replace and delete, null deletes and $setElementOrder", () => {
    const live = {
      metadata: { labels: { a: "1", b: "2" } },
      ...podTemplate([{ name: "a" }, { name: "b" }, { name: "c" }]),
    }
    expect(
      ok(
        strategicMergePatch(
          live,
          { metadata: { labels: { $patch: "replace", z: "9" } } },
          deployment,
        ),
      ),
    ).toMatchObject({
      metadata: { labels: { z: "9" } },
    })
    expect(
      ok(strategicMergePatch(live, { metadata: { labels: { a: null } } }, deployment)),
    ).toMatchObject({
      metadata: { labels: { b: "2" } },
    })
    const reordered = ok(
      strategicMergePatch(
        live,
        {
          spec: {
            template: {
              spec: {
                "$setElementOrder/containers": [{ name: "c" }, { name: "a" }],
                containers: [{ name: "b", $patch: "delete" }],
              },
            },
          },
        },
        deployment,
      ),
    ) as Obj
    expect(JSON.stringify(reordered)).toContain('"containers":[{"name":"c"},{"name":"a"}]')
    const replaced = ok(
      strategicMergePatch(live, podTemplate([{ $patch: "replace" }, { name: "only" }]), deployment),
    )
    expect(replaced).toMatchObject(podTemplate([{ name: "only" }]))
  })

  it("unions finalizers and deletes from them by directive", () => {
    const live = { metadata: { finalizers: ["a", "b"] } }
    expect(
      ok(strategicMergePatch(live, { metadata: { finalizers: ["b", "c"] } }, deployment)),
    ).toEqual({
      metadata: { finalizers: ["a", "b", "c"] },
    })
    expect(
      ok(
        strategicMergePatch(
          live,
          { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } },
          deployment,
        ),
      ),
    ).toEqual({
      metadata: { finalizers: ["b"] },
    })
  })

  it("clears keys not retained in a retainKeys struct", () => {
    const live = { spec: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } } }
    const patched = ok(
      strategicMergePatch(
        live,
        { spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } } },
        deployment,
      ),
    )
    expect(patched).toEqual({ spec: { strategy: { type: "Recreate" } } })
  })

  it("refuses a retainKeys list that leaves out a field the patch sets (it would drop it)", () => {
    const live = {
      spec: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } },
    }
    for (const retainKeys of [[5], [], ["rollingUpdate"]]) {
      const r = strategicMergePatch(
        live,
        { spec: { strategy: { $retainKeys: retainKeys, type: "Recreate" } } },
        deployment,
      )
      expect(Result.isFailure(r) && r.failure.message).toBe(
        'invalid patch format of retainKeys: "type" is set but not in $retainKeys',
      )
    }
    // Nulls and directives need not be listed.
    const kept = strategicMergePatch(
      live,
      { spec: { strategy: { $retainKeys: ["type"], type: "Recreate", rollingUpdate: null } } },
      deployment,
    )
    expect(Result.isSuccess(kept) && kept.success).toEqual({
      spec: { strategy: { type: "Recreate" } },
    })
  })

  it("replaces lists without a merge key (tolerations)", () => {
    const live = { spec: { tolerations: [{ key: "a" }] } }
    expect(
      ok(strategicMergePatch(live, { spec: { tolerations: [{ key: "b" }] } }, typeOf("pods"))),
    ).toEqual({
      spec: { tolerations: [{ key: "b" }] },
    })
  })

  it("refuses merge-keyed items without their key", () => {
    const r = strategicMergePatch(
      podTemplate([{ name: "a" }]),
      podTemplate([{ image: "x" }]),
      deployment,
    )
    expect(Result.isFailure(r) ? r.failure.message : "").toContain(
      "does not contain declared merge key: name",
    )
  })

  it("merges keyed lists item by item as a scan does, repeated keys and deletes included (property)", () => {
    // The reference: for each patch item, the first live item of its key is merged (or all
    // of its key dropped, for $patch: delete); an item of a new key is appended.
    const reference = (
      live: ReadonlyArray<{ name: string; image?: string }>,
      patch: ReadonlyArray<{ name: string; image?: string; $patch?: string }>,
    ) => {
      let out: Array<{ name: string; image?: string }> = [...live]
      for (const p of patch) {
        if (p.$patch === "delete") {
          out = out.filter((o) => o.name !== p.name)
          continue
        }
        const at = out.findIndex((o) => o.name === p.name)
        if (at < 0) out.push({ ...p })
        else out[at] = { ...out[at], ...p } as { name: string; image?: string }
      }
      return out
    }
    const name = fc.constantFrom("a", "b", "c", "1")
    const item = fc.record({ name, image: fc.constantFrom("x", "y") })
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 6 }),
        fc.array(fc.oneof(item, fc.record({ name, $patch: fc.constant("delete") })), {
          maxLength: 6,
        }),
        (live, patch) => {
          const merged = ok(
            strategicMergePatch(
              { spec: { containers: live } },
              { spec: { containers: patch } },
              typeOf("pods"),
            ),
          ) as { spec: { containers: unknown } }
          expect(merged.spec.containers).toEqual(reference(live, patch))
        },
      ),
      { numRuns: 500 },
    )
  })

  it("acts as a merge patch on objects without lists (property)", () => {
    const noLists: fc.Arbitrary<Obj> = fc.letrec((tie) => ({
      object: fc.dictionary(
        fc.constantFrom("a", "b", "c"),
        fc.oneof({ depthSize: "small" }, fc.string({ maxLength: 3 }), fc.integer(), tie("object")),
        { maxKeys: 3 },
      ),
    })).object as fc.Arbitrary<Obj>
    fc.assert(
      fc.property(noLists, noLists, (a, b) => {
        expect(ok(strategicMergePatch(a, diff(a, b), {}))).toEqual(
          ok(jsonMergePatch(a, diff(a, b))),
        )
      }),
    )
  })
})
