// Object semantics through the request handler (no HTTP): identity and
// system fields, optimistic concurrency, generation, status only through
// /status, deletion with finalizers and grace periods, namespaces, dryRun,
// field validation, patches, selectors, pagination, Tables, protobuf bodies,
// Services' allocations, binding, scale and the legacy apps/v1beta1.
import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { KV } from "@flotilla/store"
import { Effect, Layer, Random, type Scope } from "effect"
import { bootstrap } from "../src/server.ts"
import { randomUID } from "../src/writes.ts"
import { deployment, makeApi, pod } from "./support-handler.ts"

const fixture = (name: string) =>
  new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)))

const deployments = "/apis/apps/v1/namespaces/default/deployments"
const pods = "/api/v1/namespaces/default/pods"
const run = <A, E>(effect: Effect.Effect<A, E, KV | Scope.Scope>) =>
  effect.pipe(Effect.provide(KV.layerMemory()))

describe("create", () => {
  it.effect("fills uid, creationTimestamp, resourceVersion and generation; resets status", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const r = yield* api.call("POST", deployments, {
          body: { ...deployment("web"), status: { replicas: 7 } },
        })
        assert.strictEqual(r.status, 201)
        const m = r.body.metadata
        assert.match(m.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        assert.strictEqual(m.creationTimestamp, "1970-01-01T00:00:00Z")
        assert.strictEqual(m.generation, 1)
        assert.strictEqual(m.namespace, "default")
        assert.deepStrictEqual(r.body.status, {})
        const got = yield* api.call("GET", `${deployments}/web`)
        assert.strictEqual(got.body.metadata.resourceVersion, m.resourceVersion)
        assert.strictEqual(got.body.spec.strategy.rollingUpdate.maxSurge, "25%")
      }),
    ),
  )

  it.effect("generates names from generateName", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const body = { ...pod(""), metadata: { generateName: "web-" } }
        const a = yield* api.call("POST", pods, { body })
        const b = yield* api.call("POST", pods, { body })
        assert.strictEqual(a.status, 201)
        assert.match(a.body.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/)
        assert.notStrictEqual(a.body.metadata.name, b.body.metadata.name)
      }),
    ),
  )

  it.effect("refuses duplicates, missing namespaces and system namespace deletion", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        yield* api.call("POST", deployments, { body: deployment("web") })
        const dup = yield* api.call("POST", deployments, { body: deployment("web") })
        assert.strictEqual(dup.status, 409)
        assert.strictEqual(dup.body.reason, "AlreadyExists")
        assert.strictEqual(dup.body.message, 'deployments.apps "web" already exists')
        const missing = yield* api.call("POST", "/apis/apps/v1/namespaces/nope/deployments", {
          body: deployment("web"),
        })
        assert.strictEqual(missing.status, 404)
        assert.strictEqual(missing.body.message, 'namespaces "nope" not found')
        const del = yield* api.call("DELETE", "/api/v1/namespaces/kube-system")
        assert.strictEqual(del.status, 403)
        assert.strictEqual(
          del.body.message,
          'namespaces "kube-system" is forbidden: this namespace may not be deleted',
        )
      }),
    ),
  )

  it.effect("validates and reports field errors as 422 Invalid", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const r = yield* api.call("POST", deployments, { body: deployment("web", -1) })
        assert.strictEqual(r.status, 422)
        assert.strictEqual(r.body.reason, "Invalid")
        assert.include(r.body.message, 'Deployment.apps "web" is invalid')
        assert.deepInclude(r.body.details.causes, {
          reason: "FieldValueInvalid",
          message: "Invalid value: -1: must be greater than or equal to 0",
          field: "spec.replicas",
        })
        const list = yield* api.call("GET", deployments)
        assert.strictEqual(list.body.items.length, 0)
      }),
    ),
  )

  it.effect(
    "Strict field validation refuses unknown fields; Warn accepts them with a warning",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          const body = { ...deployment("web"), spec: { ...deployment("web").spec, replicaz: 2 } }
          const strict = yield* api.call("POST", deployments, {
            body,
            query: { fieldValidation: "Strict" },
          })
          assert.strictEqual(strict.status, 400)
          assert.strictEqual(
            strict.body.message,
            'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicaz"',
          )
          // Every unknown field is named, in one message (as Kubernetes lists them).
          const two = yield* api.call("POST", deployments, {
            body: { ...body, metadata: { ...body.metadata, labelz: {} } },
            query: { fieldValidation: "Strict" },
          })
          assert.strictEqual(two.status, 400)
          assert.strictEqual(
            two.body.message,
            'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "metadata.labelz", unknown field "spec.replicaz"',
          )
          const warn = yield* api.call("POST", deployments, {
            body,
            query: { fieldValidation: "Warn" },
          })
          assert.strictEqual(warn.status, 201)
          assert.strictEqual(warn.headers.warning, '299 - "unknown field \\"spec.replicaz\\""')
          const bad = yield* api.call("POST", deployments, {
            body,
            query: { fieldValidation: "Sometimes" },
          })
          assert.strictEqual(bad.status, 400)
        }),
      ),
  )

  it.effect(
    "repeated JSON keys: a strict decoding error under Strict, a warning under Warn, nothing under Ignore",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          // JSON.stringify cannot repeat a key: the body is written by hand.
          const text = (name: string) =>
            `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x","name":"${name}"},` +
            `"spec":{"replicas":1,"replicas":2,"selector":{"matchLabels":{"app":"w"}},` +
            `"template":{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"name":"main","image":"nginx"}]}}}}`
          const post = (name: string, fieldValidation: string) =>
            api.call("POST", deployments, {
              rawBody: new TextEncoder().encode(text(name)),
              query: { fieldValidation },
            })
          const strict = yield* post("web", "Strict")
          assert.strictEqual(strict.status, 400)
          assert.strictEqual(
            strict.body.message,
            'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: duplicate field "metadata.name", duplicate field "spec.replicas"',
          )
          assert.deepStrictEqual(
            strict.body.details.causes.map((c: { field: string }) => c.field),
            ["metadata.name", "spec.replicas"],
          )
          assert.strictEqual((yield* api.call("GET", `${deployments}/web`)).status, 404)
          // Beside an unknown field, in one strict decoding error.
          const both = yield* api.call("POST", deployments, {
            rawBody: new TextEncoder().encode(text("web").replace('"replicas":2', '"replicaz":2')),
            query: { fieldValidation: "Strict" },
          })
          assert.strictEqual(
            both.body.message,
            'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: duplicate field "metadata.name", unknown field "spec.replicaz"',
          )
          // The last of the repeated keys wins, as in Kubernetes.
          const warn = yield* post("web", "Warn")
          assert.strictEqual(warn.status, 201)
          assert.strictEqual(warn.body.metadata.name, "web")
          assert.strictEqual(warn.body.spec.replicas, 2)
          assert.strictEqual(
            warn.headers.warning,
            '299 - "duplicate field \\"metadata.name\\"", 299 - "duplicate field \\"spec.replicas\\""',
          )
          const ignore = yield* post("web2", "Ignore")
          assert.strictEqual(ignore.status, 201)
          assert.strictEqual(ignore.headers.warning, undefined)
          // Update and merge patch bodies are checked too.
          const put = yield* api.call("PUT", `${deployments}/web2`, {
            rawBody: new TextEncoder().encode(text("web2")),
            query: { fieldValidation: "Strict" },
          })
          assert.strictEqual(put.status, 400)
          assert.include(put.body.message, 'duplicate field "metadata.name"')
          const patch = yield* api.call("PATCH", `${deployments}/web2`, {
            rawBody: new TextEncoder().encode('{"spec":{"paused":true,"paused":false}}'),
            contentType: "application/merge-patch+json",
            query: { fieldValidation: "Strict" },
          })
          assert.strictEqual(patch.status, 400)
          assert.strictEqual(
            patch.body.message,
            'strict decoding error: duplicate field "spec.paused"',
          )
          const patchWarn = yield* api.call("PATCH", `${deployments}/web2`, {
            rawBody: new TextEncoder().encode('{"spec":{"paused":true,"paused":false}}'),
            contentType: "application/merge-patch+json",
          })
          assert.strictEqual(patchWarn.status, 200)
          assert.strictEqual(patchWarn.body.spec.paused, false)
          assert.strictEqual(patchWarn.headers.warning, '299 - "duplicate field \\"spec.paused\\""')
        }),
      ),
  )

  it.effect("YAML bodies are read as Kubernetes reads them (YAML 1.1 scalars, repeated keys)", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const yaml = (name: string, extra = "") =>
          [
            "apiVersion: apps/v1",
            "kind: Deployment",
            "metadata:",
            `  name: ${name}`,
            extra,
            "spec:",
            // go-yaml v2: 010 is octal (8) and `yes` a boolean; YAML 1.2 reads 10 and "yes".
            "  replicas: 010",
            "  paused: yes",
            "  selector: {matchLabels: {app: w}}",
            "  template:",
            "    metadata: {labels: {app: w}}",
            "    spec: {containers: [{name: main, image: nginx}]}",
            "",
          ].join("\n")
        const created = yield* api.call("POST", deployments, {
          body: yaml("web"),
          contentType: "application/yaml",
        })
        assert.strictEqual(created.status, 201)
        assert.strictEqual(created.body.spec.replicas, 8)
        assert.strictEqual(created.body.spec.paused, true)
        const repeated = yield* api.call("POST", deployments, {
          body: yaml("x", "  name: web2"),
          contentType: "application/yaml",
          query: { fieldValidation: "Strict" },
        })
        assert.strictEqual(repeated.status, 400)
        assert.strictEqual(
          repeated.body.message,
          'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: duplicate field "metadata.name"',
        )
        // Server-side apply's YAML too: under Warn the last key wins, with a warning.
        const applied = yield* api.call("PATCH", `${deployments}/web2`, {
          body: yaml("x", "  name: web2"),
          contentType: "application/apply-patch+yaml",
          query: { fieldManager: "a" },
        })
        assert.strictEqual(applied.status, 201)
        assert.strictEqual(applied.body.spec.replicas, 8)
        assert.strictEqual(applied.headers.warning, '299 - "duplicate field \\"metadata.name\\""')
      }),
    ),
  )

  it.effect("dryRun runs everything but the write", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const r = yield* api.call("POST", deployments, {
          body: deployment("web"),
          query: { dryRun: "All" },
        })
        assert.strictEqual(r.status, 201)
        assert.strictEqual(r.body.metadata.generation, 1)
        const got = yield* api.call("GET", `${deployments}/web`)
        assert.strictEqual(got.status, 404)
      }),
    ),
  )

  it.effect("decodes kubectl's protobuf create bodies", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const r = yield* api.call("POST", deployments, {
          rawBody: fixture("create-deployment.pb"),
          contentType: "application/vnd.kubernetes.protobuf",
          query: { fieldManager: "kubectl-create", fieldValidation: "Strict" },
        })
        assert.strictEqual(r.status, 201)
        assert.strictEqual(r.body.metadata.name, "web")
        assert.deepStrictEqual(r.body.metadata.labels, { app: "web" })
        assert.strictEqual(r.body.spec.replicas, 2)
        assert.deepStrictEqual(r.body.spec.selector, { matchLabels: { app: "web" } })
        assert.deepStrictEqual(r.body.spec.template.spec.containers[0].ports, [
          { containerPort: 80, protocol: "TCP" },
        ])
        assert.strictEqual(r.body.metadata.managedFields[0].manager, "kubectl-create")
        const ns = yield* api.call("POST", "/api/v1/namespaces", {
          rawBody: fixture("create-namespace.pb"),
          contentType: "application/vnd.kubernetes.protobuf",
        })
        assert.strictEqual(ns.status, 201)
        assert.strictEqual(ns.body.metadata.name, "foo")
        const svc = yield* api.call("POST", "/api/v1/namespaces/default/services", {
          rawBody: fixture("create-service.pb"),
          contentType: "application/vnd.kubernetes.protobuf",
        })
        assert.strictEqual(svc.status, 201)
        assert.deepStrictEqual(svc.body.spec.ports, [
          { name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080 },
        ])
        const unknown = yield* api.call("POST", deployments, {
          body: "x",
          contentType: "application/cbor",
        })
        assert.strictEqual(unknown.status, 415)
      }),
    ),
  )
})

describe("update", () => {
  it.effect(
    "refuses a stale resourceVersion with 409 and bumps generation only on spec changes",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          const created = (yield* api.call("POST", deployments, { body: deployment("web") })).body
          const labelled = yield* api.call("PUT", `${deployments}/web`, {
            body: { ...created, metadata: { ...created.metadata, labels: { tier: "web" } } },
          })
          assert.strictEqual(labelled.status, 200)
          assert.strictEqual(labelled.body.metadata.generation, 1)
          const stale = yield* api.call("PUT", `${deployments}/web`, {
            body: { ...created, spec: { ...created.spec, replicas: 3 } },
          })
          assert.strictEqual(stale.status, 409)
          assert.strictEqual(stale.body.reason, "Conflict")
          const fresh = yield* api.call("PUT", `${deployments}/web`, {
            body: { ...labelled.body, spec: { ...labelled.body.spec, replicas: 3 } },
          })
          assert.strictEqual(fresh.body.metadata.generation, 2)
          const unconditional = { ...fresh.body, metadata: { ...fresh.body.metadata } }
          delete unconditional.metadata.resourceVersion
          unconditional.spec = { ...unconditional.spec, replicas: 4 }
          const u = yield* api.call("PUT", `${deployments}/web`, { body: unconditional })
          assert.strictEqual(u.status, 200)
          assert.strictEqual(u.body.metadata.generation, 3)
          assert.strictEqual(u.body.metadata.uid, created.metadata.uid)
        }),
      ),
  )

  it.effect("an identical update writes nothing", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const created = (yield* api.call("POST", deployments, { body: deployment("web") })).body
        const same = yield* api.call("PUT", `${deployments}/web`, { body: created })
        assert.strictEqual(same.body.metadata.resourceVersion, created.metadata.resourceVersion)
      }),
    ),
  )

  it.effect("changes status only through /status, and spec never through it", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const created = (yield* api.call("POST", deployments, { body: deployment("web") })).body
        const main = yield* api.call("PUT", `${deployments}/web`, {
          body: { ...created, status: { replicas: 3 } },
        })
        assert.deepStrictEqual(main.body.status, {})
        const status = yield* api.call("PUT", `${deployments}/web/status`, {
          body: {
            ...main.body,
            spec: { ...main.body.spec, replicas: 9 },
            status: { replicas: 3, observedGeneration: 1 },
          },
        })
        assert.strictEqual(status.status, 200)
        assert.deepStrictEqual(status.body.status, { replicas: 3, observedGeneration: 1 })
        assert.strictEqual(status.body.spec.replicas, 1)
        assert.strictEqual(status.body.metadata.generation, 1)
        const entry = status.body.metadata.managedFields.find(
          (e: { subresource?: string }) => e.subresource === "status",
        )
        assert.deepStrictEqual(entry.fieldsV1, {
          "f:status": { "f:observedGeneration": {}, "f:replicas": {} },
        })
      }),
    ),
  )

  it.effect("creates events and leases on update, but not deployments", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const lease = {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: "node-1", namespace: "kube-node-lease" },
          spec: { holderIdentity: "node-1", leaseDurationSeconds: 40 },
        }
        const r = yield* api.call(
          "PUT",
          "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1",
          { body: lease },
        )
        assert.strictEqual(r.status, 201)
        const d = yield* api.call("PUT", `${deployments}/web`, { body: deployment("web") })
        assert.strictEqual(d.status, 404)
      }),
    ),
  )
})

describe("delete", () => {
  it.effect("keeps objects with finalizers until the last one goes", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const body = {
          ...deployment("web"),
          metadata: { name: "web", finalizers: ["example.com/hold"] },
        }
        yield* api.call("POST", deployments, { body })
        const del = yield* api.call("DELETE", `${deployments}/web`)
        assert.strictEqual(del.status, 202)
        assert.strictEqual(del.body.metadata.deletionTimestamp, "1970-01-01T00:00:00Z")
        const still = yield* api.call("GET", `${deployments}/web`)
        assert.strictEqual(still.status, 200)
        const patched = yield* api.call("PATCH", `${deployments}/web`, {
          body: { metadata: { finalizers: null } },
          contentType: "application/merge-patch+json",
        })
        assert.strictEqual(patched.status, 200)
        const gone = yield* api.call("GET", `${deployments}/web`)
        assert.strictEqual(gone.status, 404)
      }),
    ),
  )

  it.effect("deletes bound pods gracefully and unbound pods at once", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        yield* api.call("POST", pods, { body: pod("bound", { nodeName: "node-1" }) })
        yield* api.call("POST", pods, { body: pod("loose") })
        const graceful = yield* api.call("DELETE", `${pods}/bound`)
        assert.strictEqual(graceful.status, 202)
        assert.strictEqual(graceful.body.metadata.deletionGracePeriodSeconds, 30)
        assert.strictEqual(graceful.body.metadata.deletionTimestamp, "1970-01-01T00:00:30Z")
        const table = yield* api.call("GET", pods, {
          accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
        })
        const row = table.body.rows.find((r: { cells: Array<unknown> }) => r.cells[0] === "bound")
        assert.strictEqual(row.cells[2], "Terminating")
        const now = yield* api.call("DELETE", `${pods}/bound`, {
          query: { gracePeriodSeconds: "0" },
        })
        assert.strictEqual(now.status, 200)
        assert.strictEqual((yield* api.call("GET", `${pods}/bound`)).status, 404)
        const loose = yield* api.call("DELETE", `${pods}/loose`)
        assert.strictEqual(loose.status, 200)
        assert.strictEqual((yield* api.call("GET", `${pods}/loose`)).status, 404)
      }),
    ),
  )

  it.effect("checks preconditions", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        yield* api.call("POST", deployments, { body: deployment("web") })
        const r = yield* api.call("DELETE", `${deployments}/web`, {
          body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: "not-it" } },
        })
        assert.strictEqual(r.status, 409)
        assert.include(r.body.message, "Precondition failed: UID in precondition: not-it")
      }),
    ),
  )
})

describe("patch", () => {
  it.effect(
    "strategic merge patch merges containers by name, keeps order and deletes by directive",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          const d = deployment("web")
          d.spec.template.spec.containers.push({ name: "side", image: "busybox" })
          yield* api.call("POST", deployments, { body: d })
          const r = yield* api.call("PATCH", `${deployments}/web`, {
            contentType: "application/strategic-merge-patch+json",
            body: {
              spec: {
                template: {
                  spec: {
                    $setElementOrder: undefined,
                    "$setElementOrder/containers": [{ name: "side" }, { name: "main" }],
                    containers: [
                      { name: "main", image: "nginx:1.28", env: [{ name: "A", value: "1" }] },
                    ],
                  },
                },
              },
            },
          })
          assert.strictEqual(r.status, 200)
          const containers = r.body.spec.template.spec.containers
          assert.deepStrictEqual(
            containers.map((c: { name: string; image: string }) => [c.name, c.image]),
            [
              ["side", "busybox"],
              ["main", "nginx:1.28"],
            ],
          )
          assert.deepStrictEqual(containers[1].env, [{ name: "A", value: "1" }])
          const del = yield* api.call("PATCH", `${deployments}/web`, {
            contentType: "application/strategic-merge-patch+json",
            body: {
              spec: { template: { spec: { containers: [{ name: "side", $patch: "delete" }] } } },
            },
          })
          assert.deepStrictEqual(
            del.body.spec.template.spec.containers.map((c: { name: string }) => c.name),
            ["main"],
          )
        }),
      ),
  )

  it.effect("JSON patch tests guard writes", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const created = (yield* api.call("POST", deployments, { body: deployment("web") })).body
        const failed = yield* api.call("PATCH", `${deployments}/web`, {
          contentType: "application/json-patch+json",
          body: [
            { op: "test", path: "/metadata/resourceVersion", value: "1" },
            { op: "replace", path: "/spec/replicas", value: 5 },
          ],
        })
        assert.strictEqual(failed.status, 422)
        const ok = yield* api.call("PATCH", `${deployments}/web`, {
          contentType: "application/json-patch+json",
          body: [
            {
              op: "test",
              path: "/metadata/resourceVersion",
              value: created.metadata.resourceVersion,
            },
            { op: "replace", path: "/spec/replicas", value: 5 },
          ],
        })
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(ok.body.spec.replicas, 5)
      }),
    ),
  )

  it.effect("a patch that makes the object invalid is refused", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        yield* api.call("POST", deployments, { body: deployment("web") })
        const r = yield* api.call("PATCH", `${deployments}/web`, {
          contentType: "application/merge-patch+json",
          body: { spec: { replicas: -2 } },
        })
        assert.strictEqual(r.status, 422)
        assert.strictEqual((yield* api.call("GET", `${deployments}/web`)).body.spec.replicas, 1)
      }),
    ),
  )

  it.effect("server-side apply creates, then owns exactly what it applies", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const applied = deployment("web") as Record<string, unknown>
        const apply = (body: unknown, manager: string, force = false) =>
          api.call("PATCH", `${deployments}/web`, {
            body,
            contentType: "application/apply-patch+yaml",
            query: { fieldManager: manager, ...(force ? { force: "true" } : {}) },
          })
        const created = yield* apply(applied, "a")
        assert.strictEqual(created.status, 201)
        const labels = { ...deployment("web"), metadata: { name: "web", labels: { tier: "web" } } }
        const withLabels = yield* apply(labels, "a")
        assert.deepStrictEqual(withLabels.body.metadata.labels, { tier: "web" })
        const dropped = yield* apply(applied, "a")
        assert.strictEqual(dropped.body.metadata.labels, undefined)
        const other = yield* apply({ ...deployment("web", 2) }, "b")
        assert.strictEqual(other.status, 409)
        assert.strictEqual(other.body.details.causes[0].field, ".spec.replicas")
        const noManager = yield* api.call("PATCH", `${deployments}/web`, {
          body: applied,
          contentType: "application/apply-patch+yaml",
        })
        assert.strictEqual(noManager.status, 400)
      }),
    ),
  )
})

describe("list", () => {
  it.effect("pages at one revision with limit and continue", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        for (const n of ["a", "b", "c", "d", "e"]) yield* api.call("POST", pods, { body: pod(n) })
        const first = yield* api.call("GET", pods, { query: { limit: "2" } })
        assert.deepStrictEqual(
          first.body.items.map((p: { metadata: { name: string } }) => p.metadata.name),
          ["a", "b"],
        )
        assert.strictEqual(first.body.metadata.remainingItemCount, 3)
        yield* api.call("POST", pods, { body: pod("bb") })
        yield* api.call("DELETE", `${pods}/d`)
        const names: Array<string> = []
        let token: string | undefined = first.body.metadata.continue
        while (token !== undefined) {
          const page = yield* api.call("GET", pods, { query: { limit: "2", continue: token } })
          assert.strictEqual(
            page.body.metadata.resourceVersion,
            first.body.metadata.resourceVersion,
          )
          names.push(...page.body.items.map((p: { metadata: { name: string } }) => p.metadata.name))
          token = page.body.metadata.continue
        }
        assert.deepStrictEqual(names, ["c", "d", "e"])
        const bad = yield* api.call("GET", pods, { query: { continue: "garbage" } })
        assert.strictEqual(bad.status, 400)
      }),
    ),
  )

  it.effect("filters with label and field selectors, also across pages", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        for (let i = 0; i < 6; i++) {
          yield* api.call("POST", pods, {
            body: {
              ...pod(`p${i}`, i % 2 === 0 ? { nodeName: "n1" } : {}),
              metadata: { name: `p${i}`, labels: { even: String(i % 2 === 0) } },
            },
          })
        }
        const byLabel = yield* api.call("GET", pods, {
          query: { labelSelector: "even=true", limit: "2" },
        })
        assert.deepStrictEqual(
          byLabel.body.items.map((p: { metadata: { name: string } }) => p.metadata.name),
          ["p0", "p2"],
        )
        const rest = yield* api.call("GET", pods, {
          query: {
            labelSelector: "even=true",
            limit: "2",
            continue: byLabel.body.metadata.continue,
          },
        })
        assert.deepStrictEqual(
          rest.body.items.map((p: { metadata: { name: string } }) => p.metadata.name),
          ["p4"],
        )
        const byField = yield* api.call("GET", "/api/v1/pods", {
          query: { fieldSelector: "spec.nodeName=n1" },
        })
        assert.strictEqual(byField.body.items.length, 3)
        const badField = yield* api.call("GET", pods, { query: { fieldSelector: "spec.image=x" } })
        assert.strictEqual(badField.status, 400)
        assert.strictEqual(badField.body.message, "field label not supported: spec.image")
        const badLabel = yield* api.call("GET", pods, { query: { labelSelector: "a in (" } })
        assert.strictEqual(badLabel.status, 400)
      }),
    ),
  )

  it.effect("renders Tables when asked", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        yield* api.call("POST", deployments, { body: deployment("web", 3) })
        const t = yield* api.call("GET", deployments, {
          accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        })
        assert.strictEqual(t.body.kind, "Table")
        assert.deepStrictEqual(
          t.body.columnDefinitions.map((c: { name: string; priority: number }) => [
            c.name,
            c.priority,
          ]),
          [
            ["Name", 0],
            ["Ready", 0],
            ["Up-to-date", 0],
            ["Available", 0],
            ["Age", 0],
            ["Containers", 1],
            ["Images", 1],
            ["Selector", 1],
          ],
        )
        assert.deepStrictEqual(t.body.rows[0].cells, [
          "web",
          "0/3",
          0,
          0,
          "0s",
          "main",
          "nginx:1.27",
          "app=web",
        ])
        assert.strictEqual(t.body.rows[0].object.kind, "PartialObjectMetadata")
      }),
    ),
  )
})

describe("subresources", () => {
  it.effect("binds a pod once", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        yield* api.call("POST", pods, { body: pod("p") })
        const binding = {
          apiVersion: "v1",
          kind: "Binding",
          metadata: { name: "p" },
          target: { kind: "Node", name: "n1" },
        }
        const r = yield* api.call("POST", `${pods}/p/binding`, { body: binding })
        assert.strictEqual(r.status, 201)
        const p = (yield* api.call("GET", `${pods}/p`)).body
        assert.strictEqual(p.spec.nodeName, "n1")
        assert.deepInclude(p.status.conditions, {
          type: "PodScheduled",
          status: "True",
          lastProbeTime: null,
          lastTransitionTime: "1970-01-01T00:00:00Z",
        })
        const again = yield* api.call("POST", `${pods}/p/binding`, {
          body: { ...binding, target: { name: "n2" } },
        })
        assert.strictEqual(again.status, 409)
        assert.include(again.body.message, 'is already assigned to node "n1"')
      }),
    ),
  )

  it.effect("reads and patches scale", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        yield* api.call("POST", deployments, { body: deployment("web", 2) })
        const scale = yield* api.call("GET", `${deployments}/web/scale`)
        assert.strictEqual(scale.body.kind, "Scale")
        assert.strictEqual(scale.body.apiVersion, "autoscaling/v1")
        assert.deepStrictEqual(scale.body.spec, { replicas: 2 })
        assert.deepStrictEqual(scale.body.status, { replicas: 0, selector: "app=web" })
        const patched = yield* api.call("PATCH", `${deployments}/web/scale`, {
          body: { spec: { replicas: 6 } },
          contentType: "application/merge-patch+json",
        })
        assert.strictEqual(patched.body.spec.replicas, 6)
        const d = (yield* api.call("GET", `${deployments}/web`)).body
        assert.strictEqual(d.spec.replicas, 6)
        assert.strictEqual(d.metadata.generation, 2)
        // ReplicaSets have the same subresource; a PUT of the Scale carries its resourceVersion.
        const replicasets = "/apis/apps/v1/namespaces/default/replicasets"
        const rs = { ...deployment("web-1", 3), kind: "ReplicaSet" }
        assert.strictEqual((yield* api.call("POST", replicasets, { body: rs })).status, 201)
        const rsScale = yield* api.call("GET", `${replicasets}/web-1/scale`)
        assert.strictEqual(rsScale.body.kind, "Scale")
        assert.deepStrictEqual(rsScale.body.spec, { replicas: 3 })
        const put = yield* api.call("PUT", `${replicasets}/web-1/scale`, {
          body: { ...rsScale.body, spec: { replicas: 1 } },
        })
        assert.strictEqual(put.status, 200)
        assert.strictEqual((yield* api.call("GET", `${replicasets}/web-1`)).body.spec.replicas, 1)
        const stale = yield* api.call("PUT", `${replicasets}/web-1/scale`, {
          body: { ...rsScale.body, spec: { replicas: 5 } },
        })
        assert.strictEqual(stale.status, 409)
      }),
    ),
  )

  it.effect("allocates distinct cluster IPs and node ports, and releases them", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const svc = (name: string, type = "NodePort") => ({
          apiVersion: "v1",
          kind: "Service",
          metadata: { name },
          spec: { type, selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
        })
        const a = (yield* api.call("POST", "/api/v1/namespaces/default/services", {
          body: svc("a"),
        })).body
        const b = (yield* api.call("POST", "/api/v1/namespaces/default/services", {
          body: svc("b"),
        })).body
        assert.notStrictEqual(a.spec.clusterIP, b.spec.clusterIP)
        assert.notStrictEqual(a.spec.ports[0].nodePort, b.spec.ports[0].nodePort)
        assert.deepStrictEqual(a.spec.clusterIPs, [a.spec.clusterIP])
        const taken = yield* api.call("POST", "/api/v1/namespaces/default/services", {
          body: {
            ...svc("c", "ClusterIP"),
            spec: { ...svc("c", "ClusterIP").spec, clusterIP: a.spec.clusterIP },
          },
        })
        assert.strictEqual(taken.status, 422)
        assert.include(taken.body.message, "provided IP is already allocated")
        yield* api.call("DELETE", "/api/v1/namespaces/default/services/a")
        const reuse = yield* api.call("POST", "/api/v1/namespaces/default/services", {
          body: {
            ...svc("c", "ClusterIP"),
            spec: { ...svc("c", "ClusterIP").spec, clusterIP: a.spec.clusterIP },
          },
        })
        assert.strictEqual(reuse.status, 201)
        const moved = yield* api.call("PATCH", "/api/v1/namespaces/default/services/b", {
          contentType: "application/merge-patch+json",
          body: { spec: { clusterIP: "10.96.0.77", clusterIPs: ["10.96.0.77"] } },
        })
        assert.strictEqual(moved.status, 422)
        assert.include(moved.body.message, "may not change once set")
        const relabelled = yield* api.call("PATCH", "/api/v1/namespaces/default/services/b", {
          contentType: "application/merge-patch+json",
          body: { metadata: { labels: { x: "y" } } },
        })
        assert.strictEqual(relabelled.body.spec.clusterIP, b.spec.clusterIP)
        assert.strictEqual(relabelled.body.spec.ports[0].nodePort, b.spec.ports[0].nodePort)
      }),
    ),
  )
})

describe("apps/v1beta1", () => {
  it.effect("accepts legacy Deployments, stores apps/v1, serves both", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const legacy = {
          apiVersion: "apps/v1beta1",
          kind: "Deployment",
          metadata: { name: "old" },
          spec: {
            replicas: 3,
            template: {
              metadata: { labels: { app: "old" } },
              spec: { containers: [{ name: "c", image: "x" }] },
            },
          },
        }
        const r = yield* api.call("POST", "/apis/apps/v1beta1/namespaces/default/deployments", {
          body: legacy,
        })
        assert.strictEqual(r.status, 201)
        assert.strictEqual(r.body.apiVersion, "apps/v1beta1")
        const v1 = (yield* api.call("GET", `${deployments}/old`)).body
        assert.strictEqual(v1.apiVersion, "apps/v1")
        assert.deepStrictEqual(v1.spec.selector, { matchLabels: { app: "old" } })
        const list = (yield* api.call("GET", "/apis/apps/v1beta1/namespaces/default/deployments"))
          .body
        assert.strictEqual(list.apiVersion, "apps/v1beta1")
        assert.strictEqual(list.items[0].apiVersion, "apps/v1beta1")
        const patched = yield* api.call(
          "PATCH",
          "/apis/apps/v1beta1/namespaces/default/deployments/old",
          {
            contentType: "application/strategic-merge-patch+json",
            body: {
              spec: {
                replicas: 5,
                template: { spec: { containers: [{ name: "c", image: "x:2" }] } },
              },
            },
          },
        )
        assert.strictEqual(patched.status, 200)
        assert.strictEqual(patched.body.apiVersion, "apps/v1beta1")
        const after = (yield* api.call("GET", `${deployments}/old`)).body
        assert.strictEqual(after.spec.replicas, 5)
        assert.strictEqual(after.spec.template.spec.containers[0].image, "x:2")
        assert.strictEqual(after.metadata.generation, 2)
        const rolledBack = yield* api.call(
          "PATCH",
          "/apis/apps/v1beta1/namespaces/default/deployments/old",
          {
            contentType: "application/merge-patch+json",
            body: { spec: { rollbackTo: { revision: 1 } } },
          },
        )
        assert.strictEqual(rolledBack.body.spec.rollbackTo.revision, 1)
        const annotated = (yield* api.call("GET", `${deployments}/old`)).body
        assert.strictEqual(annotated.metadata.annotations["deprecated.deployment.rollback.to"], "1")
      }),
    ),
  )
})

describe("uids", () => {
  it.effect("are version 4 UUIDs for every seed", () =>
    Effect.gen(function* () {
      for (let seed = 0; seed < 300; seed++) {
        const uid = yield* randomUID.pipe(Random.withSeed(seed))
        assert.match(uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        // The same bytes as formatting the seed's sixteen draws one by one.
        const bytes = yield* Effect.map(Random.Random, (random) =>
          Array.from({ length: 16 }, () => Math.floor(random.nextDoubleUnsafe() * 256)),
        ).pipe(Random.withSeed(seed))
        const hex = uid.replaceAll("-", "")
        bytes.forEach((b, i) => {
          const expected = i === 6 ? (b & 0x0f) | 0x40 : i === 8 ? (b & 0x3f) | 0x80 : b
          assert.strictEqual(hex.slice(2 * i, 2 * i + 2), expected.toString(16).padStart(2, "0"))
        })
      }
    }),
  )
})

describe("admission", () => {
  it.effect("gives pods Kubernetes' default NoExecute tolerations unless they have their own", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const plain = yield* api.call("POST", pods, { body: pod("plain") })
        assert.deepStrictEqual(plain.body.spec.tolerations, [
          {
            key: "node.kubernetes.io/not-ready",
            operator: "Exists",
            effect: "NoExecute",
            tolerationSeconds: 300,
          },
          {
            key: "node.kubernetes.io/unreachable",
            operator: "Exists",
            effect: "NoExecute",
            tolerationSeconds: 300,
          },
        ])
        const own = yield* api.call("POST", pods, {
          body: pod("own", {
            tolerations: [
              {
                key: "node.kubernetes.io/unreachable",
                operator: "Exists",
                effect: "NoExecute",
                tolerationSeconds: 5,
              },
            ],
          }),
        })
        assert.deepStrictEqual(
          own.body.spec.tolerations.map((t: { key: string; tolerationSeconds: number }) => [
            t.key,
            t.tolerationSeconds,
          ]),
          [
            ["node.kubernetes.io/unreachable", 5],
            ["node.kubernetes.io/not-ready", 300],
          ],
        )
        const all = yield* api.call("POST", pods, {
          body: pod("all", { tolerations: [{ operator: "Exists" }] }),
        })
        assert.deepStrictEqual(all.body.spec.tolerations, [{ operator: "Exists" }])
      }),
    ),
  )

  it.effect("adds them on update too, so replacing a pod with its manifest is accepted", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        const created = yield* api.call("POST", pods, { body: pod("again") })
        assert.strictEqual(created.status, 201)
        // What `kubectl replace -f` sends: the manifest (no tolerations) with the live resourceVersion.
        const manifest = pod("again")
        const replaced = yield* api.call("PUT", `${pods}/again`, {
          body: {
            ...manifest,
            metadata: {
              ...manifest.metadata,
              resourceVersion: created.body.metadata.resourceVersion,
            },
          },
        })
        assert.strictEqual(replaced.status, 200, JSON.stringify(replaced.body))
        assert.deepStrictEqual(replaced.body.spec.tolerations, created.body.spec.tolerations)
      }),
    ),
  )
})

describe("bootstrap", () => {
  it.effect(
    "creates the system namespaces and points the kubernetes Service at the server, also after a move",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          const names = (yield* api.call("GET", "/api/v1/namespaces")).body.items.map(
            (n: { metadata: { name: string } }) => n.metadata.name,
          )
          assert.deepStrictEqual(names, [
            "default",
            "kube-node-lease",
            "kube-public",
            "kube-system",
          ])
          const svc = (yield* api.call("GET", "/api/v1/namespaces/default/services/kubernetes"))
            .body
          assert.strictEqual(svc.spec.clusterIP, "10.96.0.1")
          assert.strictEqual(svc.spec.ports[0].targetPort, 6443)
          yield* bootstrap(api.handle, 7443)
          const moved = (yield* api.call("GET", "/api/v1/namespaces/default/endpoints/kubernetes"))
            .body
          assert.strictEqual(moved.subsets[0].ports[0].port, 7443)
          assert.strictEqual(
            (yield* api.call("GET", "/api/v1/namespaces/default/services/kubernetes")).body.spec
              .ports[0].targetPort,
            7443,
          )
        }),
      ),
  )
})

describe("stale reads", () => {
  it.effect(
    "a write decided on a lagging member's read is decided again on a linearizable one",
    () =>
      run(
        Effect.gen(function* () {
          const kv = yield* KV
          let lagAt: number | undefined
          // A member whose serializable reads lag at `lagAt` (linearizable ones do not).
          const lagging = Layer.succeed(KV, {
            ...kv,
            range: (req) =>
              kv.range(
                req.serializable === true && lagAt !== undefined
                  ? { ...req, revision: lagAt }
                  : req,
              ),
          })
          yield* Effect.gen(function* () {
            const api = yield* makeApi()
            const created = (yield* api.call("POST", deployments, { body: deployment("web") })).body
            lagAt = Number(created.metadata.resourceVersion)
            const moved = (yield* api.call("PATCH", `${deployments}/web`, {
              contentType: "application/merge-patch+json",
              body: { spec: { replicas: 2 } },
            })).body
            const put = yield* api.call("PUT", `${deployments}/web`, {
              body: { ...moved, spec: { ...moved.spec, replicas: 3 } },
            })
            assert.strictEqual(put.status, 200)
            assert.strictEqual(put.body.spec.replicas, 3)
            const stale = yield* api.call("PUT", `${deployments}/web`, {
              body: { ...created, spec: { ...created.spec, replicas: 4 } },
            })
            assert.strictEqual(stale.status, 409)
            const same = yield* api.call("PUT", `${deployments}/web`, { body: put.body })
            assert.strictEqual(
              same.body.metadata.resourceVersion,
              put.body.metadata.resourceVersion,
            )
            assert.strictEqual(same.body.spec.replicas, 3)
          }).pipe(Effect.provide(lagging))
        }),
      ),
  )
})
