import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  Indexer,
  keyOf,
  labelsIndex,
  namespaceIndex,
  nodeNameIndex,
} from "../../src/core/indexer.ts"

interface PodLike {
  readonly metadata: {
    readonly name: string
    readonly namespace: string
    readonly labels: Record<string, string>
  }
  readonly spec: { readonly nodeName?: string }
}

const pod = (
  name: string,
  namespace: string,
  labels: Record<string, string>,
  nodeName?: string,
): PodLike => ({
  metadata: { name, namespace, labels },
  spec: nodeName === undefined ? {} : { nodeName },
})

const make = () =>
  new Indexer<PodLike>({ namespace: namespaceIndex, labels: labelsIndex, node: nodeNameIndex })

describe("Indexer", () => {
  it("removes the values an object was indexed under, even if it was changed in place since", () => {
    const ix = make()
    const first = pod("a", "ns", {}, "n1")
    ix.upsert(first)
    // A handler writes to the cached object (it must not, but it happens).
    ;(first.spec as { nodeName?: string }).nodeName = "n2"
    ix.upsert(pod("a", "ns", {}, "n3"))
    // Before the fix the update removed "n2" (recomputed) and left "n1" pointing at a.
    expect(ix.byIndex("node", "n1")).toEqual([])
    expect(ix.byIndex("node", "n3").map(keyOf)).toEqual(["ns/a"])
    expect(ix.indexValues("node")).toEqual(["n3"])
  })

  it("stores an object consistently when an index function throws, then reports it", () => {
    const reported: Array<string> = []
    const ix = new Indexer<PodLike>(
      {
        node: (o) => {
          if (o.spec.nodeName === "bad") throw new Error("boom")
          return nodeNameIndex(o)
        },
      },
      (index, key, e) => reported.push(`${index} ${key} ${(e as Error).message}`),
    )
    ix.upsert(pod("a", "ns", {}, "n1"))
    ix.upsert(pod("a", "ns", {}, "bad"))
    expect(reported).toEqual(["node ns/a boom"])
    expect(ix.get("ns/a")?.spec.nodeName).toBe("bad")
    expect(ix.indexValues("node")).toEqual([])
    ix.upsert(pod("a", "ns", {}, "n2"))
    expect(ix.byIndex("node", "n2").map(keyOf)).toEqual(["ns/a"])
    // Without a handler the error is thrown, after the object is stored.
    const strict = new Indexer<PodLike>({
      node: () => {
        throw new Error("boom")
      },
    })
    expect(() => strict.upsert(pod("b", "ns", {}))).toThrow('index "node" failed for ns/b: boom')
    expect(strict.keys()).toEqual(["ns/b"])
  })

  it("finds objects by namespace, label and node, and forgets old values on update", () => {
    const ix = make()
    ix.upsert(pod("a", "ns1", { app: "web" }, "n1"))
    ix.upsert(pod("b", "ns1", { app: "db" }))
    ix.upsert(pod("c", "ns2", { app: "web" }, "n1"))
    expect(ix.byIndex("namespace", "ns1").map(keyOf).sort()).toEqual(["ns1/a", "ns1/b"])
    expect(ix.byIndex("labels", "app=web").map(keyOf).sort()).toEqual(["ns1/a", "ns2/c"])
    expect(ix.byIndex("node", "n1").map(keyOf).sort()).toEqual(["ns1/a", "ns2/c"])
    ix.upsert(pod("a", "ns1", { app: "db" }, "n2"))
    expect(ix.byIndex("labels", "app=web").map(keyOf)).toEqual(["ns2/c"])
    expect(ix.byIndex("node", "n2").map(keyOf)).toEqual(["ns1/a"])
    ix.delete("ns2/c")
    expect(ix.byIndex("node", "n1")).toEqual([])
    expect(ix.indexValues("node").sort()).toEqual(["", "n2"])
    expect(() => ix.byIndex("nope", "x")).toThrow(/no index/)
  })

  it("reports what a replace added, updated and removed", () => {
    const ix = make()
    ix.upsert(pod("a", "ns", {}))
    ix.upsert(pod("b", "ns", {}))
    const r = ix.replace([pod("b", "ns", { x: "1" }), pod("c", "ns", {})])
    expect(r.added.map(keyOf)).toEqual(["ns/c"])
    expect(r.updated.map((u) => keyOf(u.object))).toEqual(["ns/b"])
    expect(r.removed.map(keyOf)).toEqual(["ns/a"])
    expect(ix.keys().sort()).toEqual(["ns/b", "ns/c"])
  })

  it("keeps every index equal to a scan of the objects (property)", () => {
    const names = fc.constantFrom("a", "b", "c", "d")
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("upsert" as const),
        name: names,
        ns: fc.constantFrom("x", "y"),
        app: fc.constantFrom("web", "db"),
        node: fc.option(fc.constantFrom("n1", "n2"), { nil: undefined }),
      }),
      fc.record({
        kind: fc.constant("delete" as const),
        name: names,
        ns: fc.constantFrom("x", "y"),
      }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const ix = make()
        for (const o of ops) {
          if (o.kind === "upsert") ix.upsert(pod(o.name, o.ns, { app: o.app }, o.node))
          else ix.delete(`${o.ns}/${o.name}`)
        }
        const all = ix.list()
        for (const value of ["web", "db"]) {
          const expected = all
            .filter((p) => p.metadata.labels.app === value)
            .map(keyOf)
            .sort()
          expect(ix.byIndex("labels", `app=${value}`).map(keyOf).sort()).toEqual(expected)
        }
        for (const value of ["", "n1", "n2"]) {
          const expected = all
            .filter((p) => (p.spec.nodeName ?? "") === value)
            .map(keyOf)
            .sort()
          expect(ix.byIndex("node", value).map(keyOf).sort()).toEqual(expected)
        }
      }),
    )
  })
})
