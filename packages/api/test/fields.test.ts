import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  compileFieldSelector,
  convertFieldSelector,
  defaultSelectableFields,
  type EventLike,
  escapeValue,
  eventSelectableFields,
  FieldSelector,
  fieldSelectorFromSet,
  namespaceSelectableFields,
  nodeSelectableFields,
  type PodLike,
  parseFieldSelector,
  podSelectableFields,
  serviceSelectableFields,
  unescapeValue,
} from "../src/fields.ts"

const parse = (s: string): FieldSelector => {
  const r = parseFieldSelector(s)
  if (Result.isFailure(r)) throw new Error(`${s}: ${r.failure.message}`)
  return r.success
}
const parseError = (s: string): string => {
  const r = parseFieldSelector(s)
  if (Result.isSuccess(r)) throw new Error(`${s} parsed as ${r.success.toString()}`)
  expect(r.failure._tag).toBe("FieldSelectorError")
  return r.failure.message
}

describe("parseFieldSelector", () => {
  // [input, printed]
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["", ""],
    [",", ""],
    ["metadata.name=x", "metadata.name=x"],
    ["metadata.name==x", "metadata.name=x"],
    ["status.phase!=Running,metadata.name=x", "metadata.name=x,status.phase!=Running"],
    ["spec.nodeName=", "spec.nodeName="],
    ["a=b,,c=d", "a=b,c=d"],
    ["x=a\\,b", "x=a\\,b"],
    ["x=a\\=b\\\\c", "x=a\\=b\\\\c"],
    ["x=\\\\", "x=\\\\"],
    ["=v", "=v"],
    ["x=ü", "x=ü"],
    // Terms are sorted as written, so `==` sorts before `=<letter>`, as in Kubernetes.
    ["a=w,a==x", "a=x,a=w"],
  ]
  for (const [input, printed] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(printed)}`, () => {
      expect(parse(input).toString()).toBe(printed)
    })
  }
  it("unescapes values", () => {
    expect(parse("x=a\\,b").requirements).toEqual([{ field: "x", operator: "=", value: "a,b" }])
    expect(parse("x!=a\\=b\\\\").requirements).toEqual([
      { field: "x", operator: "!=", value: "a=b\\" },
    ])
  })

  const errors: ReadonlyArray<readonly [string, string]> = [
    ["x", "invalid selector: 'x'; can't understand 'x'"],
    ["a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"],
    ["a=b=c", "invalid field selector: unescaped character in value: 61"],
    ["a=b!=c", "invalid field selector: unescaped character in value: 61"],
    ["a=\\x", "invalid field selector: invalid escape sequence: \\x"],
    ["a=b\\", "invalid field selector: invalid escape sequence: \\"],
  ]
  for (const [input, message] of errors) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      expect(parseError(input)).toBe(message)
    })
  }
  it("escape helpers", () => {
    expect(escapeValue("a,b=c\\d")).toBe("a\\,b\\=c\\\\d")
    expect(escapeValue("plain")).toBe("plain")
    expect(unescapeValue("a\\,b")).toEqual(Result.succeed("a,b"))
    const bare = unescapeValue("a,b")
    expect(Result.isFailure(bare) && bare.failure.message).toBe(
      "invalid field selector: unescaped character in value: 44",
    )
  })
})

describe("matching", () => {
  it("equality, inequality and missing fields (read as empty)", () => {
    const sel = parse("metadata.name=x,status.phase!=Running")
    expect(sel.matchesSet({ "metadata.name": "x", "status.phase": "Pending" })).toBe(true)
    expect(sel.matchesSet({ "metadata.name": "x" })).toBe(true)
    expect(sel.matchesSet({ "metadata.name": "x", "status.phase": "Running" })).toBe(false)
    expect(sel.matchesSet({ "metadata.name": "y" })).toBe(false)
    expect(parse("spec.nodeName=").matchesSet({})).toBe(true)
    expect(parse("spec.nodeName!=").matchesSet({})).toBe(false)
    expect(parse("constructor=").matchesSet({})).toBe(true)
    expect(FieldSelector.everything().matchesSet({ a: "b" })).toBe(true)
    expect(FieldSelector.everything().empty()).toBe(true)
  })
  it("requiresExactMatch and fieldSelectorFromSet", () => {
    const sel = parse("spec.nodeName!=a,spec.nodeName=b,metadata.name==c")
    expect(sel.requiresExactMatch("spec.nodeName")).toBe("b")
    expect(sel.requiresExactMatch("metadata.name")).toBe("c")
    expect(sel.requiresExactMatch("status.phase")).toBeUndefined()
    const fromSet = fieldSelectorFromSet({ "spec.nodeName": "n1", "metadata.name": "a,b" })
    expect(fromSet.toString()).toBe("metadata.name=a\\,b,spec.nodeName=n1")
    expect(fieldSelectorFromSet({}).empty()).toBe(true)
    expect(JSON.stringify({ f: fromSet })).toBe('{"f":"metadata.name=a\\\\,b,spec.nodeName=n1"}')
  })
})

describe("selectable fields per kind", () => {
  const pod: PodLike = {
    metadata: { name: "web-1", namespace: "default" },
    spec: { nodeName: "node-a", restartPolicy: "Always", schedulerName: "default-scheduler" },
    status: { phase: "Running", podIP: "10.0.0.5", podIPs: [{ ip: "10.0.0.5" }] },
  }
  const podMatch = (s: string, p: PodLike = pod) => {
    const m = compileFieldSelector(parse(s), podSelectableFields)
    if (Result.isFailure(m)) return m.failure.message
    return m.success(p)
  }
  it("pods", () => {
    expect(podMatch("spec.nodeName=node-a")).toBe(true)
    expect(podMatch("spec.nodeName=node-b")).toBe(false)
    expect(podMatch("spec.host=node-a")).toBe(true)
    expect(podMatch("metadata.namespace=default,status.phase!=Succeeded")).toBe(true)
    expect(podMatch("status.podIP=10.0.0.5")).toBe(true)
    expect(podMatch("spec.hostNetwork=false")).toBe(true)
    expect(podMatch("spec.hostNetwork=true", { spec: { hostNetwork: true } })).toBe(true)
    expect(podMatch("spec.nodeName=", {})).toBe(true)
    expect(podMatch("status.nominatedNodeName=")).toBe(true)
    expect(podMatch("")).toBe(true)
    expect(podMatch("spec.containers=x")).toBe("field label not supported: spec.containers")
    expect(podMatch("=x")).toBe("field label not supported: ")
    const converted = convertFieldSelector(parse("spec.host=n"), podSelectableFields)
    expect(Result.isSuccess(converted) && converted.success.toString()).toBe("spec.nodeName=n")
  })
  it("events", () => {
    const event: EventLike = {
      metadata: { name: "web-1.17", namespace: "default" },
      involvedObject: { kind: "Pod", name: "web-1", namespace: "default", uid: "u1" },
      reason: "Scheduled",
      type: "Normal",
      reportingComponent: "default-scheduler",
    }
    const m = compileFieldSelector(
      parse("involvedObject.kind=Pod,involvedObject.name=web-1,involvedObject.uid=u1,type=Normal"),
      eventSelectableFields,
    )
    expect(Result.isSuccess(m) && m.success(event)).toBe(true)
    const bySource = compileFieldSelector(parse("source=default-scheduler"), eventSelectableFields)
    expect(Result.isSuccess(bySource) && bySource.success(event)).toBe(true)
    expect(
      Result.isSuccess(bySource) &&
        bySource.success({ ...event, source: { component: "kubelet" } }),
    ).toBe(false)
    const bad = compileFieldSelector(parse("involvedObject.foo=x"), eventSelectableFields)
    expect(Result.isFailure(bad) && bad.failure.message).toBe(
      "field label not supported: involvedObject.foo",
    )
  })
  it("nodes, namespaces, services and the default", () => {
    const node = compileFieldSelector(parse("spec.unschedulable=false"), nodeSelectableFields)
    expect(Result.isSuccess(node) && node.success({ metadata: { name: "n" } })).toBe(true)
    expect(Result.isSuccess(node) && node.success({ spec: { unschedulable: true } })).toBe(false)
    const nodeNs = compileFieldSelector(parse("metadata.namespace=x"), nodeSelectableFields)
    expect(Result.isFailure(nodeNs) && nodeNs.failure.message).toBe(
      "field label not supported: metadata.namespace",
    )
    const ns = compileFieldSelector(parse("status.phase=Active"), namespaceSelectableFields)
    expect(Result.isSuccess(ns) && ns.success({ status: { phase: "Active" } })).toBe(true)
    const svc = compileFieldSelector(
      parse("spec.clusterIP!=None,spec.type=ClusterIP"),
      serviceSelectableFields,
    )
    expect(
      Result.isSuccess(svc) && svc.success({ spec: { clusterIP: "10.96.0.1", type: "ClusterIP" } }),
    ).toBe(true)
    expect(
      Result.isSuccess(svc) && svc.success({ spec: { clusterIP: "None", type: "ClusterIP" } }),
    ).toBe(false)
    const deployment = defaultSelectableFields("Deployment")
    const byName = compileFieldSelector(parse("metadata.name=web"), deployment)
    expect(Result.isSuccess(byName) && byName.success({ metadata: { name: "web" } })).toBe(true)
    const bad = compileFieldSelector(parse("status.replicas=1"), deployment)
    expect(Result.isFailure(bad) && bad.failure.message).toBe(
      '"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
    )
  })
})

describe("properties", () => {
  const fieldName = fc.constantFrom("metadata.name", "spec.nodeName", "status.phase", "a")
  const value = fc.string({ unit: fc.constantFrom(..."ab,=\\!x ü"), maxLength: 6 })
  const requirement = fc.record({
    field: fieldName,
    operator: fc.constantFrom("=" as const, "!=" as const),
    value,
  })

  it("printing then parsing keeps the requirements; printing is stable after one round", () => {
    fc.assert(
      fc.property(fc.array(requirement, { maxLength: 5 }), (reqs) => {
        const sel = new FieldSelector(reqs)
        const once = parse(sel.toString())
        // Same requirements, possibly reordered by Kubernetes' sort of the written terms.
        const key = (r: { field: string; operator: string; value: string }) =>
          JSON.stringify([r.field, r.operator, r.value])
        expect(once.requirements.map(key).sort()).toEqual(reqs.map(key).sort())
        const twice = parse(once.toString())
        expect(parse(twice.toString()).toString()).toBe(twice.toString())
      }),
      { numRuns: 1000 },
    )
  })

  it("matching agrees with a direct reading of the requirements", () => {
    fc.assert(
      fc.property(
        fc.array(requirement, { maxLength: 4 }),
        fc.dictionary(fieldName, value, { maxKeys: 4 }),
        (reqs, fields) => {
          const expected = reqs.every((r) =>
            r.operator === "="
              ? (fields[r.field] ?? "") === r.value
              : (fields[r.field] ?? "") !== r.value,
          )
          expect(new FieldSelector(reqs).matchesSet(fields)).toBe(expected)
          expect(parse(new FieldSelector(reqs).toString()).matchesSet(fields)).toBe(expected)
        },
      ),
      { numRuns: 1000 },
    )
  })

  it("escaping round-trips any value", () => {
    fc.assert(
      fc.property(fc.string(), (v) => {
        expect(unescapeValue(escapeValue(v))).toEqual(Result.succeed(v))
      }),
    )
  })

  it("arbitrary text never throws: a typed error or a selector that prints and reparses", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."a.=!,\\ x"), maxLength: 16 }), (text) => {
        const r = parseFieldSelector(text)
        if (Result.isSuccess(r)) {
          expect(parse(r.success.toString()).requirements.length).toBe(
            r.success.requirements.length,
          )
        } else expect(r.failure._tag).toBe("FieldSelectorError")
      }),
      { numRuns: 2000 },
    )
  })
})
