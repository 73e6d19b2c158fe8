import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { deepEqual, isObject, type Obj } from "../../src/core/json.ts"
import { sameObject } from "../../src/core/objects.ts"

describe("sameObject", () => {
  // The definition: equal once resourceVersion and every managedFields time are left out.
  const strip = (o: Obj): Obj => {
    const m = { ...(isObject(o.metadata) ? o.metadata : {}) }
    delete m.resourceVersion
    if (Array.isArray(m.managedFields)) {
      m.managedFields = m.managedFields.map((e: unknown) => {
        if (!isObject(e)) return e
        const { time: _, ...rest } = e
        return rest
      })
    }
    return { ...o, metadata: m }
  }
  const small = fc.constantFrom<unknown>("a", "b", 1, null, [1], { x: 1 })
  const entry = fc.oneof(
    fc.record(
      { manager: fc.constantFrom("m", "n"), time: fc.constantFrom("t1", "t2"), fieldsV1: small },
      { requiredKeys: [] },
    ),
    small,
  )
  const metadata = fc.oneof(
    fc.record(
      {
        name: fc.constantFrom("p", "q"),
        resourceVersion: fc.constantFrom("1", "2"),
        labels: small,
        managedFields: fc.oneof(fc.array(entry, { maxLength: 2 }), small),
      },
      { requiredKeys: [] },
    ),
    small,
  )
  const object = fc.record(
    { kind: fc.constantFrom("Pod", "Node"), metadata, spec: small, status: small },
    { requiredKeys: [] },
  )

  it("is equality but for resourceVersion and managedFields times (property)", () => {
    fc.assert(
      fc.property(object, object, (a, b) => {
        expect(sameObject(a, b)).toBe(deepEqual(strip(a), strip(b)))
        // Often equal: b made from a by changing only what is ignored.
        const m = isObject(a.metadata) ? a.metadata : undefined
        if (m !== undefined) {
          const fields = Array.isArray(m.managedFields)
            ? m.managedFields.map((e: unknown) => (isObject(e) ? { ...e, time: "t3" } : e))
            : m.managedFields
          const c = { ...a, metadata: { ...m, resourceVersion: "9", managedFields: fields } }
          if (m.managedFields === undefined) delete (c.metadata as Obj).managedFields
          expect(sameObject(a, c)).toBe(deepEqual(strip(a), strip(c)))
        }
      }),
    )
  })
})
