import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Obj } from "../../src/core/json.ts"
import { deepEqual, deepFreeze, metadataOf } from "../../src/core/json.ts"
import {
  addPath,
  apply,
  changedPaths,
  conflictMessage,
  differingFields,
  type FieldNode,
  fieldsBefore,
  fieldsOf,
  formatPath,
  fromFieldsV1,
  hasPath,
  isFieldsV1,
  memberPaths,
  readManagedFields,
  removedPaths,
  removePath,
  toFieldsV1,
  trackUpdate,
  valueAt,
  withoutPath,
  withPath,
} from "../../src/core/managed.ts"
import { typeOf } from "../../src/core/typemeta.ts"

const type = typeOf("deployments")
const who = (manager: string, subresource = "") => ({
  manager,
  apiVersion: "apps/v1",
  subresource,
  time: "2026-01-01T00:00:00Z",
})

const deployment = (replicas: number, image: string, labels: Record<string, string> = {}): Obj => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "default", uid: "u", resourceVersion: "5", labels },
  spec: {
    replicas,
    template: { spec: { containers: [{ name: "main", image, ports: [{ containerPort: 80 }] }] } },
  },
})

const entries = (o: Obj) =>
  readManagedFields(o).map((e) => [e.manager, e.operation, toFieldsV1(e.fields)])

describe("field sets", () => {
  // Nested objects carry "." (the node itself is owned); Kubernetes leaves it
  // off non-pointer structs, which needs Go's types, and only removal reads it.
  it("name keyed list items by their keys, with key defaults, and skip system metadata", () => {
    const v1 = toFieldsV1(fieldsOf(deployment(1, "x", { app: "web" }), type, "main"))
    expect(v1).toEqual({
      "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
      "f:spec": {
        "f:replicas": {},
        "f:template": {
          ".": {},
          "f:spec": {
            ".": {},
            "f:containers": {
              ".": {},
              'k:{"name":"main"}': {
                ".": {},
                "f:image": {},
                "f:name": {},
                "f:ports": {
                  ".": {},
                  'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} },
                },
              },
            },
          },
        },
      },
    })
  })

  it("read back what they write (property)", () => {
    const obj = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: "small" }, fc.integer(), fc.string({ maxLength: 3 }), tie("o")),
      o: fc.dictionary(fc.constantFrom("a", "b", "c"), tie("v"), { minKeys: 1, maxKeys: 3 }),
    })).o as fc.Arbitrary<Obj>
    fc.assert(
      fc.property(obj, (o) => {
        const set = fieldsOf({ spec: o }, {}, "main")
        expect(toFieldsV1(fromFieldsV1(toFieldsV1(set)))).toEqual(toFieldsV1(set))
      }),
    )
  })

  it("print paths as Kubernetes does", () => {
    expect(
      formatPath([
        "f:spec",
        "f:template",
        "f:spec",
        "f:containers",
        'k:{"name":"main"}',
        "f:image",
      ]),
    ).toBe('.spec.template.spec.containers[name="main"].image')
    expect(formatPath(["f:metadata", "f:finalizers", 'v:"a"'])).toBe('.metadata.finalizers[="a"]')
  })
})

describe("changed and removed paths", () => {
  // The definitions, path by path from the root.
  const childAt = (n: FieldNode, path: ReadonlyArray<string>) =>
    path.reduce<FieldNode | undefined>((cur, el) => cur?.children.get(el), n)
  const changedByDefinition = (before: FieldNode, after: FieldNode, old: Obj, next: Obj) =>
    memberPaths(after).filter(
      (path) =>
        !hasPath(before, path) ||
        (!deepEqual(valueAt(old, path, type), valueAt(next, path, type)) &&
          (childAt(after, path)?.children.size ?? 0) === 0),
    )
  const container = fc.record(
    {
      name: fc.constantFrom("main", "side", "init"),
      image: fc.constantFrom("a", "b"),
      ports: fc.array(
        fc.record(
          { containerPort: fc.constantFrom(80, 443), protocol: fc.constantFrom("TCP", "UDP") },
          { requiredKeys: ["containerPort"] },
        ),
        { maxLength: 2 },
      ),
      args: fc.array(fc.constantFrom("-v", "-q"), { maxLength: 2 }),
    },
    { requiredKeys: ["name"] },
  )
  const deploymentArb: fc.Arbitrary<Obj> = fc.record({
    apiVersion: fc.constant("apps/v1"),
    kind: fc.constant("Deployment"),
    metadata: fc.record(
      {
        name: fc.constant("web"),
        labels: fc.dictionary(fc.constantFrom("a", "b"), fc.constantFrom("1", "2")),
        finalizers: fc.array(fc.constantFrom("x", "y"), { maxLength: 2 }),
      },
      { requiredKeys: ["name"] },
    ),
    spec: fc.record(
      {
        replicas: fc.constantFrom(1, 2),
        paused: fc.boolean(),
        template: fc.record({
          spec: fc.record({ containers: fc.array(container, { maxLength: 3 }) }),
        }),
      },
      { requiredKeys: [] },
    ),
  })

  it("match their definitions for any two objects (property)", () => {
    fc.assert(
      fc.property(deploymentArb, deploymentArb, (old, next) => {
        const before = fieldsOf(old, type, "main")
        const after = fieldsOf(next, type, "main")
        expect(changedPaths(before, after, old, next, type)).toEqual(
          changedByDefinition(before, after, old, next),
        )
        expect(removedPaths(before, after)).toEqual(
          memberPaths(before).filter((p) => !hasPath(after, p)),
        )
        // The same from fieldsBefore, which shares the subtrees of equal values with `after`.
        const shared = fieldsBefore(old, next, after, type, "main")
        expect(toFieldsV1(shared)).toEqual(toFieldsV1(before))
        // The same members (in the order of the equal value they were built from).
        const sorted = (n: FieldNode) => memberPaths(n).map(String).sort()
        expect(sorted(shared)).toEqual(sorted(before))
        expect(changedPaths(shared, after, old, next, type)).toEqual(
          changedByDefinition(before, after, old, next),
        )
        expect(removedPaths(shared, after)).toEqual(removedPaths(before, after))
        // The same from the differing subtrees alone (what trackUpdate builds).
        const differing = differingFields(old, next, type, "main")
        const key = (paths: ReadonlyArray<ReadonlyArray<string>>) => paths.map(String).sort()
        expect(key(changedPaths(differing.before, differing.after, old, next, type))).toEqual(
          key(changedByDefinition(before, after, old, next)),
        )
        expect(key(removedPaths(differing.before, differing.after))).toEqual(
          key(removedPaths(before, after)),
        )
      }),
    )
  })

  it("are added and removed by copying as in place, leaving the input as it was (property)", () => {
    const element = fc.constantFrom("f:a", "f:b", 'k:{"name":"x"}', 'v:"y"')
    const paths = fc.array(fc.array(element, { minLength: 1, maxLength: 3 }), { maxLength: 8 })
    const build = (members: ReadonlyArray<ReadonlyArray<string>>) => {
      const set = fromFieldsV1({})
      set.self = false
      for (const p of members) addPath(set, p)
      return set
    }
    fc.assert(
      fc.property(paths, paths, paths, (members, added, removed) => {
        const set = build(members)
        const written = JSON.stringify(toFieldsV1(set))
        let copied = set
        const inPlace = build(members)
        for (const p of added) {
          copied = withPath(copied, p)
          addPath(inPlace, p)
        }
        for (const p of removed) {
          copied = withoutPath(copied, p)
          removePath(inPlace, p)
        }
        expect(toFieldsV1(copied)).toEqual(toFieldsV1(inPlace))
        // The input's own JSON (kept on its nodes) and members are unchanged.
        expect(JSON.stringify(toFieldsV1(set))).toBe(written)
        expect(JSON.stringify(toFieldsV1(build(members)))).toBe(written)
        if (added.length === 0 && removed.every((p) => !hasPath(set, p))) expect(copied).toBe(set)
      }),
    )
  })
})

describe("managedFields read back", () => {
  // Sets this server wrote are taken back from the stored (frozen) object
  // unparsed and shared; the result must be what parsing them gives.
  const manager = fc.constantFrom("a", "b", "c")
  const image = fc.constantFrom("x", "y")
  const step = fc.record({
    manager,
    replicas: fc.constantFrom(1, 2, 3),
    image,
    labels: fc.dictionary(fc.constantFrom("l1", "l2", "l3"), fc.constantFrom("1", "2")),
    apply: fc.boolean(),
    subresource: fc.constantFrom("", "", "status"),
  })
  it("give the same managedFields as parsing them afresh, over any sequence of writes (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(step, fc.nat()), { minLength: 1, maxLength: 8 }), (steps) => {
        // `stored`: every version as the store hands it out (frozen, the
        // written sets read back); `parsed`: the same as JSON text gives it
        // (every set parsed). Each write starts from any earlier version
        // (several writers may read the same one).
        const stored: Array<Obj | undefined> = [undefined]
        const parsed: Array<Obj | undefined> = [undefined]
        const write = (live: Obj | undefined, s: (typeof steps)[number][0]): Obj | undefined => {
          const next = deployment(s.replicas, s.image, s.labels)
          const by = who(s.manager, s.subresource)
          if (s.apply) {
            const r = apply(live, next, type, by, true)
            return r._tag === "Applied" ? r.object : live
          }
          return trackUpdate(live, next, type, by)
        }
        for (const [s, from] of steps) {
          const base = from % stored.length
          const a = write(stored[base], s)
          const p = parsed[base]
          const b = write(p === undefined ? undefined : JSON.parse(JSON.stringify(p)), s)
          expect(JSON.stringify(a)).toBe(JSON.stringify(b))
          stored.push(a === undefined ? undefined : deepFreeze(a))
          parsed.push(b)
        }
      }),
    )
  })
  it("share one frozen fieldsV1 between objects with equal sets, which later writes of one leave as it was", () => {
    const named = (name: string, replicas: number) => {
      const d = deployment(replicas, "x", { app: "web" })
      return { ...d, metadata: { ...(d.metadata as Obj), name } }
    }
    const fieldsV1 = (o: Obj) => ((metadataOf(o).managedFields as Array<Obj>)[0] as Obj).fieldsV1
    const a = deepFreeze(trackUpdate(undefined, named("a", 1), type, who("creator")))
    const b = deepFreeze(trackUpdate(undefined, named("b", 2), type, who("creator")))
    // Equal sets (the values differ, the fields are the same): one object.
    expect(fieldsV1(b)).toBe(fieldsV1(a))
    expect(Object.isFrozen(fieldsV1(a))).toBe(true)
    const before = JSON.stringify(fieldsV1(a))
    // The creator changes a's labels (its set gains a field), another manager its replicas.
    const relabeled = deepFreeze(
      trackUpdate(
        a,
        {
          ...named("a", 1),
          metadata: { ...metadataOf(named("a", 1)), labels: { app: "web", tier: "1" } },
        },
        type,
        who("creator"),
      ),
    )
    const scaled = deepFreeze(trackUpdate(a, named("a", 5), type, who("scaler")))
    expect(fieldsV1(relabeled)).not.toBe(fieldsV1(a))
    expect(JSON.stringify(fieldsV1(b))).toBe(before)
    expect(entries(b)).toEqual(entries(JSON.parse(JSON.stringify(b)) as Obj))
    expect(entries(scaled)[1]).toEqual(["scaler", "Update", { "f:spec": { "f:replicas": {} } }])
    expect(entries(a)).toEqual(entries(b))
  })
})

describe("trackUpdate", () => {
  it("gives an updater the fields it changed and takes them from others", () => {
    const created = trackUpdate(undefined, deployment(1, "x"), type, who("creator"))
    const scaled = trackUpdate(created, deployment(3, "x"), type, who("scaler", "scale"))
    const got = entries(scaled)
    expect(got.map(([m]) => m)).toEqual(["creator", "scaler"])
    const creator = got[0]?.[2] as Obj
    expect((creator["f:spec"] as Obj)["f:replicas"]).toBeUndefined()
    expect(got[1]?.[2]).toEqual({ "f:spec": { "f:replicas": {} } })
    expect(readManagedFields(scaled)[1]?.subresource).toBe("scale")
  })

  it("takes a request's own managedFields at its word, and [{}] resets them", () => {
    const created = trackUpdate(undefined, deployment(1, "x"), type, who("creator"))
    const own = {
      ...created,
      metadata: {
        ...(created.metadata as Obj),
        managedFields: [{ manager: "x", operation: "Apply", fieldsV1: {} }],
      },
    }
    expect(trackUpdate(created, own, type, who("other"))).toBe(own)
    const reset = { ...created, metadata: { ...(created.metadata as Obj), managedFields: [{}] } }
    expect(
      (trackUpdate(created, reset, type, who("other")).metadata as Obj).managedFields,
    ).toBeUndefined()
  })
})

describe("apply dropping list items", () => {
  const pods = typeOf("pods")
  const podWith = (containers: ReadonlyArray<Obj>) =>
    ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers } }) as Obj
  const specOf = (r: ReturnType<typeof apply>) => (r._tag === "Applied" ? r.object.spec : r)

  it("removes an item whose every field the manager stops applying, key fields included (a nameless {} was left)", () => {
    const first = apply(podWith([]), podWith([{ name: "a" }]), pods, who("m"), false)
    if (first._tag !== "Applied") throw new Error("first apply conflicted")
    expect(specOf(apply(first.object, podWith([]), pods, who("m"), true))).toEqual({
      containers: [],
    })
    const ports = podWith([{ name: "c", ports: [{ containerPort: 80, protocol: "TCP" }] }])
    const withPort = apply(podWith([{ name: "c" }]), ports, pods, who("m"), false)
    if (withPort._tag !== "Applied") throw new Error("apply with a port conflicted")
    expect(specOf(apply(withPort.object, podWith([{ name: "c" }]), pods, who("m"), true))).toEqual({
      containers: [{ name: "c" }],
    })
  })

  it("drops thousands of items of one list (each found by its key, holes closed once)", () => {
    const env = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `E${i}`, value: "v" }))
    const many = apply(
      podWith([{ name: "m", image: "x", env: env(3000) }]),
      podWith([{ name: "m", image: "x", env: env(3000) }]),
      pods,
      who("m"),
      false,
    )
    if (many._tag !== "Applied") throw new Error("apply of 3,000 env vars conflicted")
    const fewer = apply(
      many.object,
      podWith([{ name: "m", image: "x", env: env(2) }]),
      pods,
      who("m"),
      true,
    )
    expect(specOf(fewer)).toEqual({ containers: [{ name: "m", image: "x", env: env(2) }] })
  })
})

describe("apply", () => {
  const applied = (replicas: number, labels?: Record<string, string>): Obj => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", ...(labels === undefined ? {} : { labels }) },
    spec: { replicas },
  })

  it("creates, owns exactly what it applied, and drops what it no longer applies", () => {
    const first = apply(undefined, applied(1, { a: "1", b: "2" }), type, who("me"), false)
    if (first._tag !== "Applied") throw new Error("conflict")
    expect(first.object).toMatchObject({
      metadata: { labels: { a: "1", b: "2" } },
      spec: { replicas: 1 },
    })
    const second = apply(first.object, applied(2, { a: "1" }), type, who("me"), false)
    if (second._tag !== "Applied") throw new Error("conflict")
    expect((second.object.metadata as Obj).labels).toEqual({ a: "1" })
    expect((second.object.spec as Obj).replicas).toBe(2)
  })

  it("conflicts on fields others own with other values, shares equal ones, and forces", () => {
    const base = trackUpdate(undefined, deployment(1, "x"), type, who("kubectl-client-side-apply"))
    const same = apply(base, applied(1), type, who("me"), false)
    expect(same._tag).toBe("Applied")
    const different = apply(base, applied(5), type, who("me"), false)
    expect(different._tag).toBe("Conflicts")
    if (different._tag === "Conflicts") {
      expect(conflictMessage(different.conflicts)).toBe(
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
      )
    }
    const forced = apply(base, applied(5), type, who("me"), true)
    if (forced._tag !== "Applied") throw new Error("force must win")
    const owners = readManagedFields(forced.object)
    const csa = owners.find((e) => e.manager === "kubectl-client-side-apply")
    expect((toFieldsV1(csa?.fields ?? fromFieldsV1({})) as Obj)["f:spec"]).not.toHaveProperty(
      "f:replicas",
    )
  })

  it("keeps fields another manager also applies", () => {
    const a = apply(undefined, applied(1, { shared: "x" }), type, who("a"), false)
    if (a._tag !== "Applied") throw new Error("conflict")
    const b = apply(a.object, applied(1, { shared: "x" }), type, who("b"), false)
    if (b._tag !== "Applied") throw new Error("conflict")
    const aDrops = apply(b.object, applied(1), type, who("a"), false)
    if (aDrops._tag !== "Applied") throw new Error("conflict")
    expect((aDrops.object.metadata as Obj).labels).toEqual({ shared: "x" })
  })
})

describe("isFieldsV1", () => {
  it("accepts every field set the server writes and refuses elements that do not parse", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", labels: { a: "1" }, finalizers: ["x"] },
      spec: {
        containers: [
          { name: "main", image: "nginx", ports: [{ containerPort: 80, protocol: "TCP" }] },
        ],
      },
    }
    expect(isFieldsV1(toFieldsV1(fieldsOf(pod, typeOf("pods"), "main")))).toBe(true)
    expect(isFieldsV1({ ".": {}, "f:a": {}, "i:0": {}, 'k:{"name":"x"}': {}, 'v:"x"': {} })).toBe(
      true,
    )
    for (const bad of [
      { "k:{bad": {} },
      { "k:[1]": {} },
      { "v:x": {} },
      { "i:-1": {} },
      { "z:x": {} },
      { f: {} },
      { "f:a": 5 },
      { "f:a": [] },
      "x",
      [1],
      null,
    ]) {
      expect(isFieldsV1(bad), JSON.stringify(bad)).toBe(false)
    }
  })
})
