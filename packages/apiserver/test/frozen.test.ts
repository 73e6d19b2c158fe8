// Objects read from storage are frozen and shared with later writes: no write
// path may edit one in place. Random sequences of requests of every write
// kind run against objects written before; no answer may be a 500.
import { KV } from "@flotilla/store"
import { Effect } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { finalizeNamespace } from "../src/namespaces.ts"
import { type Api, deployment, makeApi, pod } from "./support-handler.ts"

const ns = "/api/v1/namespaces/default"
const apps = "/apis/apps/v1/namespaces/default"

interface Req {
  readonly method: string
  readonly path: string
  readonly body?: unknown
  readonly contentType?: string
  readonly query?: Record<string, string>
}

const merge = "application/merge-patch+json"
const strategic = "application/strategic-merge-patch+json"
const jsonPatch = "application/json-patch+json"
const apply = "application/apply-patch+yaml"

const service = (name: string, type: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, labels: { app: name } },
  spec: { type, selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
})
const event = (name: string, count: number) => ({
  apiVersion: "v1",
  kind: "Event",
  metadata: { name },
  involvedObject: { kind: "Pod", name: "p", namespace: "default" },
  reason: "Test",
  message: `m${count}`,
  count,
})
const lease = (name: string, holder: string) => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: { name },
  spec: { holderIdentity: holder, leaseDurationSeconds: 40 },
})
const endpoints = (name: string, ip: string) => ({
  apiVersion: "v1",
  kind: "Endpoints",
  metadata: { name },
  subsets: [{ addresses: [{ ip }], ports: [{ port: 80, protocol: "TCP" }] }],
})
const namespace = (name: string) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } })

/** Kinds with a collection path, a body maker and their names. */
const kinds = {
  deployments: { path: `${apps}/deployments`, make: (n: string, i: number) => deployment(n, i) },
  replicasets: {
    path: `${apps}/replicasets`,
    make: (n: string, i: number) => ({ ...deployment(n, i), kind: "ReplicaSet" }),
  },
  pods: {
    path: `${ns}/pods`,
    make: (n: string, i: number) =>
      pod(n, { tolerations: [{ key: `k${i}`, operator: "Exists", effect: "NoSchedule" }] }),
  },
  services: {
    path: `${ns}/services`,
    make: (n: string, i: number) => service(n, i % 2 === 0 ? "ClusterIP" : "NodePort"),
  },
  events: { path: `${ns}/events`, make: (n: string, i: number) => event(n, i) },
  leases: {
    path: "/apis/coordination.k8s.io/v1/namespaces/default/leases",
    make: (n: string, i: number) => lease(n, `h${i}`),
  },
  endpoints: {
    path: `${ns}/endpoints`,
    make: (n: string, i: number) => endpoints(n, `10.0.0.${i}`),
  },
  namespaces: { path: "/api/v1/namespaces", make: (n: string) => namespace(`ns-${n}`) },
  nodes: {
    path: "/api/v1/nodes",
    make: (n: string, i: number) => ({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: n, labels: { zone: `z${i}` } },
      spec: { taints: [{ key: `t${i}`, effect: "NoSchedule" }] },
    }),
  },
  legacy: {
    path: "/apis/apps/v1beta1/namespaces/default/deployments",
    make: (n: string, i: number) => ({ ...deployment(`l${n}`, i), apiVersion: "apps/v1beta1" }),
  },
} as const
type Kind = keyof typeof kinds
const kindNames = Object.keys(kinds) as Array<Kind>

const itemPath = (kind: Kind, name: string) =>
  `${kinds[kind].path}/${kind === "namespaces" ? `ns-${name}` : kind === "legacy" ? `l${name}` : name}`

/** One request, given the kind, a name, a number and the object's current state (if any). */
type Step = (kind: Kind, name: string, i: number, current: unknown) => Req | undefined

// biome-ignore lint/suspicious/noExplicitAny: objects read back, navigated loosely
type Doc = any

const patchOf = (k: Kind, n: string, contentType: string, body: unknown): Req => ({
  method: "PATCH",
  path: itemPath(k, n),
  contentType,
  body,
})

const steps: ReadonlyArray<Step> = [
  (k, n, i) => ({ method: "POST", path: kinds[k].path, body: kinds[k].make(n, i) }),
  (k, n, i, cur: Doc) => {
    // A replace of the current object with nested values changed.
    const body = cur ?? kinds[k].make(n, i)
    return {
      method: "PUT",
      path: itemPath(k, n),
      body: {
        ...body,
        metadata: { ...body.metadata, labels: { ...body.metadata?.labels, [`l${i}`]: "x" } },
        ...(body.spec === undefined
          ? {}
          : { spec: { ...body.spec, ...(k === "deployments" ? { replicas: i } : {}) } }),
      },
    }
  },
  (k, n, i, cur: Doc) =>
    cur === undefined
      ? undefined
      : {
          method: "PUT",
          path: `${itemPath(k, n)}/status`,
          body: {
            ...cur,
            status: { ...cur.status, replicas: i, conditions: [{ type: "Ready", status: "True" }] },
          },
        },
  (k, n, i) => ({
    method: "PATCH",
    path: itemPath(k, n),
    contentType: merge,
    body: { metadata: { labels: { [`m${i}`]: "y" }, annotations: { a: `${i}` } } },
  }),
  (k, n, i) =>
    patchOf(
      k,
      n,
      strategic,
      k === "pods"
        ? {
            metadata: { labels: { s: `${i}` } },
            spec: {
              containers: [{ name: "main", image: `nginx:${i}` }],
              tolerations: [{ key: `t${i}`, operator: "Exists" }],
            },
          }
        : k === "deployments" || k === "replicasets"
          ? {
              spec: {
                template: { spec: { containers: [{ name: `c${i % 2}`, image: "busybox" }] } },
              },
            }
          : k === "services"
            ? { spec: { ports: [{ port: 80 + (i % 2), targetPort: 8080 }] } }
            : { metadata: { labels: { s: `${i}` } } },
    ),
  (k, n, i) => ({
    method: "PATCH",
    path: itemPath(k, n),
    contentType: jsonPatch,
    body: [
      { op: "add", path: "/metadata/labels", value: { j: `${i}` } },
      { op: "add", path: "/metadata/finalizers", value: [] },
    ],
  }),
  (k, n, i) => ({
    method: "PATCH",
    path: itemPath(k, n),
    contentType: jsonPatch,
    body: [{ op: "add", path: "/metadata/labels/jj", value: `${i}` }],
  }),
  (k, n, i) => ({
    method: "PATCH",
    path: itemPath(k, n),
    contentType: apply,
    query: { fieldManager: `m${i % 3}`, force: "true" },
    body: JSON.stringify(kinds[k].make(n, i)),
  }),
  (k, n, i) => ({
    method: "PATCH",
    path: itemPath(k, n),
    contentType: merge,
    body: { metadata: { finalizers: i % 2 === 0 ? ["example.com/f"] : null } },
  }),
  (k, n, i) => ({
    method: "PATCH",
    path: `${itemPath(k, n)}/status`,
    contentType: merge,
    body: { status: { observedGeneration: i, conditions: [{ type: "C", status: "False" }] } },
  }),
  (k, n, i) =>
    k === "deployments" || k === "replicasets"
      ? {
          method: "PATCH",
          path: `${itemPath(k, n)}/scale`,
          contentType: merge,
          body: { spec: { replicas: i } },
        }
      : undefined,
  (k, n, i) =>
    k === "pods"
      ? {
          method: "POST",
          path: `${itemPath(k, n)}/binding`,
          body: {
            apiVersion: "v1",
            kind: "Binding",
            metadata: { name: n },
            target: { kind: "Node", name: `n${i}` },
          },
        }
      : undefined,
  (k, n, i, cur: Doc) =>
    k === "namespaces" && cur !== undefined
      ? {
          method: "PUT",
          path: `${itemPath(k, n)}/finalize`,
          body: { ...cur, spec: { finalizers: i % 2 === 0 ? ["kubernetes"] : [] } },
        }
      : undefined,
  (k, n, i) => ({
    method: "DELETE",
    path: itemPath(k, n),
    ...(i % 2 === 0 ? { query: { gracePeriodSeconds: `${i}` } } : {}),
  }),
  (k, n, i) => ({
    method: "DELETE",
    path: itemPath(k, n),
    body: {
      apiVersion: "v1",
      kind: "DeleteOptions",
      propagationPolicy: ["Foreground", "Orphan", "Background"][i % 3],
      ...(i % 2 === 0 ? { gracePeriodSeconds: 0 } : {}),
    },
  }),
  // Directives of strategic merge patch against the stored lists.
  (k, n, i) =>
    patchOf(
      k,
      n,
      strategic,
      k === "pods"
        ? {
            metadata: { "$deleteFromPrimitiveList/finalizers": ["example.com/f"] },
            spec: {
              "$setElementOrder/containers": [{ name: "main" }],
              containers: [{ name: "main", $patch: i % 2 === 0 ? "delete" : "merge" }],
            },
          }
        : k === "deployments" || k === "legacy"
          ? {
              spec: {
                strategy: { $retainKeys: ["type"], type: "Recreate", rollingUpdate: null },
                template: {
                  spec: {
                    "$setElementOrder/containers": [{ name: "main" }, { name: `x${i}` }],
                    containers: [{ name: `x${i}`, image: "busybox" }],
                  },
                },
              },
            }
          : k === "nodes"
            ? { spec: { taints: [{ key: `t${i}`, effect: "NoExecute" }] } }
            : { metadata: { $patch: "replace", name: n } },
    ),
  // JSON patch that moves, copies and removes nested values of the stored object.
  (k, n, i) => ({
    method: "PATCH",
    path: itemPath(k, n),
    contentType: jsonPatch,
    body: [
      { op: "test", path: "/metadata/name", value: itemPath(k, n).split("/").at(-1) },
      { op: "copy", from: "/metadata", path: "/metadata/annotations" },
      { op: "remove", path: "/metadata/annotations" },
      ...(k === "pods" || k === "deployments" || k === "replicasets" || k === "legacy"
        ? [
            {
              op: "add",
              path:
                k === "pods" ? "/spec/containers/0/env" : "/spec/template/spec/containers/0/env",
              value: [{ name: "E", value: `${i}` }],
            },
            {
              op: "move",
              from:
                k === "pods"
                  ? "/spec/containers/0/image"
                  : "/spec/template/spec/containers/0/image",
              path:
                k === "pods"
                  ? "/spec/containers/0/image"
                  : "/spec/template/spec/containers/0/image",
            },
          ]
        : []),
      ...(k === "services" ? [{ op: "remove", path: "/spec/ports/0" }] : []),
    ],
  }),
  // Server-side apply without force (conflicts), of the status, and of a new object.
  (k, n, i) => ({
    method: "PATCH",
    path: itemPath(k, n),
    contentType: apply,
    query: { fieldManager: `other${i % 2}` },
    body: JSON.stringify(kinds[k].make(n, i + 1)),
  }),
  (k, n, i, cur: Doc) =>
    cur === undefined
      ? undefined
      : {
          method: "PATCH",
          path: `${itemPath(k, n)}/status`,
          contentType: apply,
          query: { fieldManager: "status-applier", force: "true" },
          body: JSON.stringify({
            apiVersion: cur.apiVersion,
            kind: cur.kind,
            metadata: { name: cur.metadata.name },
            status: { observedGeneration: i, conditions: [{ type: "A", status: "True" }] },
          }),
        },
  // A replace that takes managedFields at their word, or resets them.
  (k, n, i, cur: Doc) =>
    cur === undefined
      ? undefined
      : {
          method: "PUT",
          path: itemPath(k, n),
          body: {
            ...cur,
            metadata: {
              ...cur.metadata,
              managedFields: i % 2 === 0 ? [{}] : [...(cur.metadata.managedFields ?? []).slice(1)],
            },
          },
        },
  // deletecollection by label.
  (k, _n, i) => ({
    method: "DELETE",
    path: kinds[k].path,
    query: { labelSelector: i % 2 === 0 ? "app" : `m${i}=y` },
  }),
  // Create on update (events, leases) and PUT without a resourceVersion.
  (k, n, i, cur: Doc) => {
    const body = kinds[k].make(n, i) as Doc
    return {
      method: "PUT",
      path: itemPath(k, n),
      body:
        cur === undefined
          ? body
          : { ...body, metadata: { ...body.metadata, finalizers: cur.metadata.finalizers } },
    }
  },
]

const dryRun = (r: Req): Req => ({ ...r, query: { ...r.query, dryRun: "All" } })

const runCase = (ops: ReadonlyArray<readonly [number, Kind, number, number, boolean, boolean]>) =>
  Effect.gen(function* () {
    const api: Api = yield* makeApi()
    const seen: Array<string> = []
    // Every object exists once before the sequence: its writes meet stored versions.
    for (const kind of kindNames)
      for (const name of ["a", "b"]) {
        const created = yield* api.call("POST", kinds[kind].path, {
          body: kinds[kind].make(name, 1),
        })
        expect(created.status, `${kind}: ${JSON.stringify(created.body)}`).toBe(201)
      }
    for (const [s, kind, nameIx, i, dry, asTable] of ops) {
      if (s === steps.length) {
        // The namespace controller's pass over a terminating namespace.
        yield* finalizeNamespace(api.handle, `ns-${["a", "b"][nameIx] ?? "a"}`)
        continue
      }
      const name = ["a", "b"][nameIx] ?? "a"
      const got = yield* api.call("GET", itemPath(kind, name))
      const current = got.status === 200 ? got.body : undefined
      const step = steps[s]
      const req = step?.(kind, name, i, current)
      if (req === undefined) continue
      const r = dry ? dryRun(req) : req
      const answer = yield* api.call(r.method, r.path, {
        ...(r.body === undefined ? {} : { body: r.body }),
        ...(r.contentType === undefined ? {} : { contentType: r.contentType }),
        ...(r.query === undefined ? {} : { query: r.query }),
        // Writes answered as Tables render the stored object too.
        ...(asTable ? { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" } : {}),
      })
      seen.push(`${r.method} ${r.path} ${answer.status}`)
      if (answer.status >= 500)
        throw new Error(
          `${r.method} ${r.path} ${JSON.stringify(r.query ?? {})} answered ${answer.status}: ${JSON.stringify(answer.body)}\nafter:\n${seen.join("\n")}`,
        )
    }
  }).pipe(Effect.scoped, Effect.provide(KV.layerMemory()))

describe("frozen stored objects", () => {
  it("no sequence of writes against written objects answers a 500", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.nat({ max: steps.length }),
            fc.constantFrom(...kindNames),
            fc.nat({ max: 1 }),
            fc.nat({ max: 5 }),
            fc.boolean(),
            fc.boolean(),
          ),
          { minLength: 1, maxLength: 25 },
        ),
        (ops) => Effect.runPromise(runCase(ops)),
      ),
      { numRuns: Number(process.env.FROZEN_RUNS ?? 60) },
    )
    expect(steps.length).toBeGreaterThan(10)
  }, 60_000)
})
