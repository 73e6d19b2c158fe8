// Bad input through the request handler: each case is a bug an attack over
// HTTP found (a 500, or a write where Kubernetes refuses). Every answer is a
// 4xx `Status` naming the field and the reason, and nothing is written.
import { assert, describe, it } from "@effect/vitest"
import { KV } from "@flotilla/store"
import { Effect, type Scope } from "effect"
import * as fc from "fast-check"
import { maxNestingDepth } from "../src/core/body.ts"
import { type Api, deployment, makeApi } from "./support-handler.ts"

const deployments = "/apis/apps/v1/namespaces/default/deployments"
const run = <A, E>(effect: Effect.Effect<A, E, KV | Scope.Scope>) =>
  effect.pipe(Effect.provide(KV.layerMemory()))

const nested = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${"}".repeat(levels - 1)}`
const utf8 = (text: string) => new TextEncoder().encode(text)

const pods = "/api/v1/namespaces/default/pods"

/** A pod of one container in default (bound to `nodeName` when given). */
const podBody = (name: string, metadata: Record<string, unknown> = {}, nodeName?: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, ...metadata },
  spec: {
    ...(nodeName === undefined ? {} : { nodeName }),
    containers: [{ name: "main", image: "nginx" }],
  },
})

/** Calls, and checks that the store's revision did not move. */
const refused = (api: Api, ...args: Parameters<Api["call"]>) =>
  Effect.gen(function* () {
    const before = yield* api.store.revision
    const r = yield* api.call(...args)
    assert.strictEqual(yield* api.store.revision, before, `${args[0]} ${args[1]} wrote`)
    assert.strictEqual(r.body.kind, "Status")
    return r
  })

describe("deeply nested bodies", () => {
  it.effect("are a 400 naming the field for every write, not a 500 from a stack overflow", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        yield* api.call("POST", deployments, { body: deployment("web") })
        const deep = nested(20_000)
        const object = (name: string) =>
          `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"${name}"},"spec":{"x":${deep}}}`
        const cases: ReadonlyArray<[string, string, string, string, Record<string, string>]> = [
          ["POST", deployments, object("new"), "application/json", {}],
          ["POST", deployments, object("new"), "application/json", { fieldValidation: "Strict" }],
          ["PUT", `${deployments}/web`, object("web"), "application/json", {}],
          ["PUT", `${deployments}/web/status`, object("web"), "application/json", {}],
          ["PATCH", `${deployments}/web`, `{"spec":${deep}}`, "application/merge-patch+json", {}],
          [
            "PATCH",
            `${deployments}/web`,
            `{"spec":${deep}}`,
            "application/strategic-merge-patch+json",
            {},
          ],
          [
            "PATCH",
            `${deployments}/web`,
            `[{"op":"add","path":"/spec/x","value":${deep}}]`,
            "application/json-patch+json",
            {},
          ],
          [
            "PATCH",
            `${deployments}/web`,
            object("web"),
            "application/apply-patch+yaml",
            { fieldManager: "m" },
          ],
          ["DELETE", `${deployments}/web`, `{"preconditions":${deep}}`, "application/json", {}],
        ]
        for (const [method, path, body, contentType, query] of cases) {
          const r = yield* refused(api, method, path, { rawBody: utf8(body), contentType, query })
          assert.strictEqual(r.status, 400, `${method} ${path} ${contentType}: ${r.body.message}`)
          assert.match(r.body.message, /exceeded max depth of 1000 at /)
          assert.strictEqual(r.body.details.causes[0].message, "exceeded max depth of 1000")
        }
        // Managed fields are free-form: the deepest place a body can reach the store.
        const mf = yield* refused(api, "POST", "/api/v1/namespaces", {
          rawBody: utf8(
            `{"metadata":{"name":"n","managedFields":[{"manager":"m","operation":"Update","fieldsType":"FieldsV1","fieldsV1":${deep}}]}}`,
          ),
        })
        assert.strictEqual(mf.status, 400)
        assert.strictEqual(
          mf.body.details.causes[0].field,
          "metadata.managedFields[0].fieldsV1.a...",
        )
      }),
    ),
  )

  it.effect("nested exactly to the limit, every pass over the body holds", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        // An unknown field is dropped (or reported under Strict) after every recursive pass.
        const body = (name: string) =>
          `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"${name}"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"w"}},"template":{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"name":"main","image":"nginx"}]}},"x":${nested(maxNestingDepth - 3)}}}`
        const created = yield* api.call("POST", deployments, { rawBody: utf8(body("web")) })
        assert.strictEqual(created.status, 201, created.body.message)
        const strict = yield* api.call("POST", deployments, {
          rawBody: utf8(body("web2")),
          query: { fieldValidation: "Strict" },
        })
        assert.strictEqual(strict.status, 400)
        assert.match(strict.body.message, /unknown field "spec.x"/)
        const patched = yield* api.call("PATCH", `${deployments}/web`, {
          rawBody: utf8(`{"spec":{"x":${nested(maxNestingDepth - 2)}}}`),
          contentType: "application/strategic-merge-patch+json",
        })
        assert.strictEqual(patched.status, 200, patched.body.message)
      }),
    ),
  )
})

describe("list options", () => {
  it.effect(
    "resourceVersionMatch without a resourceVersion, or on a plain watch, is a 422 on ListOptions (lists, watches, deletecollection)",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          yield* api.call("POST", deployments, { body: deployment("web") })
          const cases: ReadonlyArray<[string, Record<string, string>, string]> = [
            ["GET", { resourceVersionMatch: "Exact" }, "unless resourceVersion is provided"],
            ["GET", { resourceVersionMatch: "Exact", resourceVersion: "0" }, "for resourceVersion"],
            ["GET", { sendInitialEvents: "true" }, "sendInitialEvents is forbidden for list"],
            [
              "GET",
              { watch: "true", resourceVersionMatch: "Exact", resourceVersion: "1" },
              "forbidden for watch unless sendInitialEvents is provided",
            ],
            ["DELETE", { resourceVersionMatch: "NotOlderThan" }, "unless resourceVersion"],
          ]
          // An unknown includeObject used to be read as Metadata.
          for (const path of [deployments, `${deployments}/web`]) {
            const table = yield* refused(api, "GET", path, {
              query: { includeObject: "Bogus" },
              accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
            })
            assert.strictEqual(table.status, 400)
            assert.strictEqual(
              table.body.message,
              `includeObject: Invalid value: "Bogus": must be 'Metadata', 'Object', 'None', or empty`,
            )
          }
          // watch=maybe used to answer a plain list.
          const maybe = yield* refused(api, "GET", deployments, { query: { watch: "maybe" } })
          assert.strictEqual(maybe.status, 400)
          assert.strictEqual(
            maybe.body.message,
            'invalid value for watch: "maybe": must be true or false',
          )
          for (const [method, query, reason] of cases) {
            const r = yield* refused(api, method, deployments, { query })
            assert.strictEqual(r.status, 422, JSON.stringify(query))
            assert.strictEqual(r.body.reason, "Invalid")
            assert.include(r.body.message, 'ListOptions.meta.k8s.io "" is invalid: ')
            assert.include(r.body.message, reason)
            assert.include(
              ["resourceVersionMatch", "sendInitialEvents"],
              r.body.details.causes[0].field,
            )
          }
          assert.strictEqual((yield* api.call("GET", `${deployments}/web`)).status, 200)
        }),
      ),
  )
})

describe("scale", () => {
  it.effect(
    "a Scale written must name the object at the URL (an empty body no longer scales to zero); a wrong uid is a 409",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          yield* api.call("POST", deployments, { body: deployment("web", 3) })
          const scale = `${deployments}/web/scale`
          const live = (yield* api.call("GET", scale)).body
          const cases: ReadonlyArray<[string, unknown, string, number, string]> = [
            [
              "PUT",
              {},
              "application/json",
              400,
              "the name of the object () does not match the name on the URL (web)",
            ],
            [
              "PUT",
              { spec: { replicas: 1 } },
              "application/json",
              400,
              "the name of the object () does not match",
            ],
            [
              "PUT",
              { ...live, metadata: { ...live.metadata, name: "other" } },
              "application/json",
              400,
              "the name of the object (other) does not match the name on the URL (web)",
            ],
            [
              "PUT",
              { ...live, metadata: { ...live.metadata, namespace: "kube-system" } },
              "application/json",
              400,
              "the namespace of the object (kube-system) does not match the namespace on the URL (default)",
            ],
            [
              "PATCH",
              { metadata: { name: "other" } },
              "application/merge-patch+json",
              400,
              "the name of the object (other) does not match",
            ],
            [
              "PATCH",
              { metadata: { name: "other" } },
              "application/strategic-merge-patch+json",
              400,
              "does not match the name on the URL",
            ],
            [
              "PATCH",
              [{ op: "remove", path: "/metadata/name" }],
              "application/json-patch+json",
              400,
              "the name of the object () does not match",
            ],
            [
              "PATCH",
              { metadata: { uid: "not-it" }, spec: { replicas: 1 } },
              "application/merge-patch+json",
              409,
              `Operation cannot be fulfilled on deployments/scale.apps "web": Precondition failed: UID in precondition: not-it, UID in object meta: ${live.metadata.uid}`,
            ],
          ]
          for (const [method, body, contentType, code, message] of cases) {
            const r = yield* refused(api, method, scale, { body, contentType })
            assert.strictEqual(
              r.status,
              code,
              `${method} ${JSON.stringify(body)}: ${r.body.message}`,
            )
            assert.include(r.body.message, message)
          }
          // Decoding errors name the kind once and the field (they nested 'object in version ""').
          const wrongKind = yield* refused(api, "PUT", scale, {
            body: { ...live, kind: "Deployment" },
          })
          assert.strictEqual(
            wrongKind.body.message,
            'Scale in version "v1" cannot be handled as a Scale: kind: Invalid value: "Deployment": expected "Scale", got string',
          )
          assert.strictEqual(wrongKind.body.details.causes[0].field, "kind")
          assert.strictEqual((yield* api.call("GET", `${deployments}/web`)).body.spec.replicas, 3)
          // The Scale as read, changed, is still accepted.
          const put = yield* api.call("PUT", scale, { body: { ...live, spec: { replicas: 2 } } })
          assert.strictEqual(put.status, 200)
          assert.strictEqual(put.body.spec.replicas, 2)
        }),
      ),
  )
})

describe("managedFields in a request", () => {
  it.effect(
    "that do not decode are ignored as Kubernetes ignores them, so a later apply is not a 500",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          const created = yield* api.call("POST", pods, { body: podBody("p") })
          const tracked = created.body.metadata.managedFields
          const junk: ReadonlyArray<unknown> = [
            { "f:spec": { "k:{bad": {} } },
            { "k:[1,2": {} },
            { "v:x": {} },
            { "z:x": {} },
            { "i:-5": {} },
            { "f:metadata": 5 },
            "x",
            [1],
          ]
          for (const fieldsV1 of junk) {
            for (const operation of ["Apply", "Update"]) {
              const live = (yield* api.call("GET", `${pods}/p`)).body
              const entry = {
                manager: "m",
                operation,
                apiVersion: "v1",
                fieldsType: "FieldsV1",
                fieldsV1,
              }
              const put = yield* api.call("PUT", `${pods}/p`, {
                body: { ...live, metadata: { ...live.metadata, managedFields: [entry] } },
              })
              assert.strictEqual(put.status, 200, JSON.stringify(fieldsV1))
              assert.deepStrictEqual(
                put.body.metadata.managedFields,
                tracked,
                JSON.stringify(fieldsV1),
              )
              const applied = yield* api.call("PATCH", `${pods}/p`, {
                body: {
                  apiVersion: "v1",
                  kind: "Pod",
                  metadata: { name: "p", labels: { a: "1" } },
                },
                contentType: "application/apply-patch+yaml",
                query: { fieldManager: "m", force: "true" },
              })
              assert.strictEqual(
                applied.status,
                200,
                `${JSON.stringify(fieldsV1)}: ${applied.body.message}`,
              )
              // Back to the created state for the next case.
              yield* api.call("PUT", `${pods}/p`, {
                body: {
                  ...applied.body,
                  metadata: { ...applied.body.metadata, labels: {}, managedFields: tracked },
                },
              })
            }
          }
          // Created with junk: the creator's own entry instead.
          const withJunk = yield* api.call("POST", pods, {
            body: podBody("q", {
              managedFields: [{ manager: "m", operation: "Apply", fieldsV1: { "v:x": {} } }],
            }),
          })
          assert.strictEqual(withJunk.status, 201)
          assert.deepStrictEqual(
            withJunk.body.metadata.managedFields.map((e: { manager: string }) => e.manager),
            ["test"],
          )
        }),
      ),
  )
})

describe("JSON patch", () => {
  it.effect(
    "is bounded: 10,001 operations are a 413, copies past 3 MiB a 422 (forty doubling copies used to exhaust the heap and kill the server)",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          yield* api.call("POST", deployments, { body: deployment("web") })
          const jsonPatch = "application/json-patch+json"
          const many = Array.from({ length: 10_001 }, () => ({
            op: "test",
            path: "/kind",
            value: "Deployment",
          }))
          const tooMany = yield* refused(api, "PATCH", `${deployments}/web`, {
            body: many,
            contentType: jsonPatch,
          })
          assert.strictEqual(tooMany.status, 413)
          assert.strictEqual(tooMany.body.reason, "RequestEntityTooLarge")
          assert.strictEqual(
            tooMany.body.message,
            "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001",
          )
          const doubling = [
            { op: "add", path: "/metadata/annotations", value: { a: "x" } },
            { op: "add", path: "/spec/template/spec/containers/0/args", value: ["x".repeat(1000)] },
            ...Array.from({ length: 40 }, () => ({
              op: "copy",
              from: "/spec/template/spec/containers/0/args",
              path: "/spec/template/spec/containers/0/args/-",
            })),
          ]
          const bomb = yield* refused(api, "PATCH", `${deployments}/web`, {
            body: doubling,
            contentType: jsonPatch,
          })
          assert.strictEqual(bomb.status, 422)
          assert.match(
            bomb.body.message,
            /accumulated size increase of copy is \d+, exceeding the limit 3145728/,
          )
        }),
      ),
  )
})

describe("apiVersion and kind", () => {
  it.effect("that are not strings are a 400 naming the field, not taken from the URL", () =>
    run(
      Effect.gen(function* () {
        const api = yield* makeApi()
        yield* api.call("POST", deployments, { body: deployment("web") })
        for (const [field, value, type] of [
          ["apiVersion", 1, "number"],
          ["kind", 1, "number"],
          ["kind", true, "bool"],
          ["apiVersion", {}, "object"],
          ["kind", ["Deployment"], "array"],
        ] as const) {
          for (const [method, path] of [
            ["POST", deployments],
            ["PUT", `${deployments}/web`],
          ] as const) {
            const r = yield* refused(api, method, path, {
              body: { ...deployment("web", 5), [field]: value },
            })
            assert.strictEqual(r.status, 400, `${method} ${field}=${JSON.stringify(value)}`)
            assert.strictEqual(
              r.body.message,
              `couldn't get version/kind; json parse error: json: cannot unmarshal ${type} into Go struct field .${field} of type string`,
            )
            assert.strictEqual(r.body.details.causes[0].field, field)
          }
        }
        // null is unset, as Go decodes it: the URL's version and kind are taken.
        const nulls = yield* api.call("PUT", `${deployments}/web`, {
          body: { ...deployment("web", 2), apiVersion: null, kind: null },
        })
        assert.strictEqual(nulls.status, 200)
      }),
    ),
  )
})

describe("DeleteOptions", () => {
  it.effect(
    "are validated as ValidateDeleteOptions (422 naming the field) before anything is deleted; bodies that do not decode name the kind",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          yield* api.call("POST", deployments, { body: deployment("web") })
          const web = `${deployments}/web`
          const cases: ReadonlyArray<[string, unknown, Record<string, string>, number, string]> = [
            // dryRun ["Bogus"] used to be taken as "not a dry run": the object was deleted.
            [
              web,
              { dryRun: ["Bogus"] },
              {},
              422,
              'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["Bogus"]: supported values: "All"',
            ],
            [
              web,
              { dryRun: ["All", "Bogus"] },
              {},
              422,
              'dryRun: Unsupported value: ["All","Bogus"]',
            ],
            [deployments, { dryRun: ["Bogus"] }, {}, 422, "dryRun: Unsupported value"],
            [
              web,
              { orphanDependents: true, propagationPolicy: "Foreground" },
              {},
              422,
              'propagationPolicy: Invalid value: "Foreground": orphanDependents and deletionPropagation cannot be both set',
            ],
            [
              web,
              {},
              { orphanDependents: "true", propagationPolicy: "Background" },
              422,
              "cannot be both set",
            ],
            [
              web,
              { propagationPolicy: "Bogus" },
              {},
              422,
              'propagationPolicy: Unsupported value: "Bogus": supported values: "Foreground", "Background", "Orphan", "nil"',
            ],
            [
              web,
              { kind: "Deployment" },
              {},
              400,
              "the kind in the data (Deployment) does not match the expected kind (DeleteOptions) of the request",
            ],
            [
              web,
              { kind: "DeleteOptions", apiVersion: "v9" },
              {},
              400,
              "the API version in the data (v9) does not match the expected API version (v1)",
            ],
            [
              web,
              { gracePeriodSeconds: "x" },
              {},
              400,
              'DeleteOptions in version "v1" cannot be handled as a DeleteOptions: gracePeriodSeconds: ',
            ],
          ]
          for (const [path, body, query, code, message] of cases) {
            const r = yield* refused(api, "DELETE", path, { body, query })
            assert.strictEqual(
              r.status,
              code,
              `${JSON.stringify(body)} ${JSON.stringify(query)}: ${r.body.message}`,
            )
            assert.include(r.body.message, message)
          }
          assert.strictEqual((yield* api.call("GET", web)).status, 200)
          // What kubectl sends still deletes.
          const ok = yield* api.call("DELETE", web, {
            body: {
              kind: "DeleteOptions",
              apiVersion: "meta.k8s.io/v1",
              propagationPolicy: "Background",
            },
          })
          assert.strictEqual(ok.status, 200)
          assert.strictEqual((yield* api.call("GET", web)).status, 404)
        }),
      ),
  )
})

// The generated attack: a valid object with one subtree (or a new key) replaced
// by arbitrary JSON, sent by every write verb. Whatever the input, the answer
// is below 500 (a Status when refused, with nothing written), and what was
// accepted can still be read as a Table and applied to.
/** The probe's own apply entry, on every sample: a request that garbles it must not break the probe. */
const probeEntry = {
  manager: "probe",
  operation: "Apply",
  apiVersion: "v1",
  fieldsType: "FieldsV1",
  fieldsV1: { "f:metadata": { "f:labels": { "f:probe": {} } } },
}

const samples: ReadonlyArray<readonly [string, Record<string, unknown>, string]> = [
  [
    "/api/v1/namespaces/default/pods",
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        labels: { a: "b" },
        annotations: { c: "d" },
        finalizers: ["f/x"],
        managedFields: [probeEntry],
      },
      spec: {
        nodeName: "n1",
        containers: [
          {
            name: "main",
            image: "nginx",
            ports: [{ containerPort: 80 }],
            resources: { requests: { cpu: "100m" } },
          },
        ],
        tolerations: [{ key: "k", operator: "Exists" }],
      },
      status: {
        phase: "Running",
        conditions: [{ type: "Ready", status: "True" }],
        containerStatuses: [
          { name: "main", ready: true, restartCount: 1, image: "nginx", imageID: "x" },
        ],
      },
    },
    "/status",
  ],
  [
    deployments,
    {
      ...deployment("x", 2),
      metadata: { labels: { a: "x" }, managedFields: [{ ...probeEntry, apiVersion: "apps/v1" }] },
      status: { replicas: 1, conditions: [{ type: "Available", status: "True" }] },
    },
    "/scale",
  ],
  [
    "/api/v1/namespaces/default/services",
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { managedFields: [probeEntry] },
      spec: {
        type: "NodePort",
        selector: { a: "x" },
        ports: [{ name: "http", port: 80, targetPort: "http" }],
      },
    },
    "/status",
  ],
  [
    "/api/v1/nodes",
    {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        labels: { "node-role.kubernetes.io/control-plane": "" },
        managedFields: [probeEntry],
      },
      spec: { unschedulable: true, taints: [{ key: "k", effect: "NoSchedule" }] },
      status: { conditions: [{ type: "Ready", status: "True" }], capacity: { cpu: "2" } },
    },
    "/status",
  ],
]

const oddValues = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(
    -0,
    1e308,
    2 ** 53 + 1,
    0.5,
    -1,
    2147483648,
    "",
    "\ud800",
    "\u0000",
    "1e400",
    "2024-13-45T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "a".repeat(300),
    null,
    [null],
    [{}],
    JSON.parse('{"__proto__":{"x":1}}'),
    { $patch: "delete" },
    { $retainKeys: [1] },
  ),
)

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v)

/** Every path of a JSON value (the root is []). */
const pathsOf = (
  v: unknown,
  prefix: ReadonlyArray<string | number> = [],
): Array<ReadonlyArray<string | number>> => {
  const out: Array<ReadonlyArray<string | number>> = [prefix]
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) out.push(...pathsOf(x, [...prefix, i]))
  } else if (typeof v === "object" && v !== null)
    for (const [k, x] of Object.entries(v)) out.push(...pathsOf(x, [...prefix, k]))
  return out
}

/** A copy of `root` with the value at `path` (or, with `key`, a new key under it) replaced. */
const replaceAt = (
  root: unknown,
  path: ReadonlyArray<string | number>,
  value: unknown,
  key: string | undefined,
): unknown => {
  const target = key === undefined ? path : [...path, key]
  if (target.length === 0) return value
  const copy = structuredClone(root) as Record<string | number, unknown>
  let cur = copy
  for (const p of target.slice(0, -1)) {
    const next = cur[p]
    if (typeof next !== "object" || next === null) return copy
    cur = next as Record<string | number, unknown>
  }
  // defineProperty: a key named __proto__ is an own key, as JSON.parse makes it.
  Object.defineProperty(cur, target[target.length - 1] as string | number, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  })
  return copy
}

/** Field sets as a request may garble them: path elements that parse or not, values that are sets or not. */
const fieldElement = fc.oneof(
  fc.constantFrom("f:metadata", "f:labels", "f:probe", ".", 'k:{"name":"main"}', "i:0", 'v:"x"'),
  fc.constantFrom("k:{bad", "v:x", "i:-1", "z:x", "f", ""),
  fc.string({ maxLength: 6 }),
)
const fieldSet = fc.letrec((tie) => ({
  set: fc.dictionary(
    fieldElement,
    fc.oneof({ depthSize: "small" }, fc.constant({}), tie("set"), fc.jsonValue({ maxDepth: 1 })),
    { maxKeys: 3 },
  ),
})).set

const verbs = ["POST", "PUT", "PUT sub", "merge", "strategic", "json-patch", "apply"] as const

describe("generated bad input (property)", () => {
  it.effect(
    "no generated body is a 5xx, writes on refusal, or poisons later reads and applies",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          const call = (...args: Parameters<Api["call"]>) => Effect.runPromise(api.call(...args))
          const revision = () => Effect.runPromise(Effect.orDie(api.store.revision))
          const bytes = (v: unknown) => utf8(JSON.stringify(v) ?? "null")
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(
                fc.nat({ max: samples.length - 1 }),
                fc.nat(),
                fc.option(
                  fc.constantFrom(
                    "zz",
                    "__proto__",
                    "$patch",
                    "$retainKeys",
                    "$setElementOrder/containers",
                  ),
                  {
                    nil: undefined,
                  },
                ),
                fc.oneof(
                  oddValues.map((value) => ({ value, managedFields: false })),
                  fieldSet.map((value) => ({ value, managedFields: true })),
                ),
                fc.constantFrom(...verbs),
                fc.nat({ max: 3 }),
                async (which, pick, key, { value, managedFields }, verb, n) => {
                  const [collection, base, sub] = samples[which] as (typeof samples)[number]
                  const name = `g${n}`
                  const object = { ...base, metadata: { ...(base.metadata as object), name } }
                  const item = `${collection}/${name}`
                  if ((await call("GET", item)).status === 404)
                    await call("POST", collection, { body: object })
                  const paths = pathsOf(object)
                  // Half the field sets go where a request's managedFields carry them.
                  const inManaged = managedFields && pick % 2 === 0
                  const path = (
                    inManaged
                      ? ["metadata", "managedFields", 0, "fieldsV1"]
                      : paths[pick % paths.length]
                  ) as ReadonlyArray<string | number>
                  const replaced = replaceAt(object, path, value, inManaged ? undefined : key)
                  // An applied configuration may not carry managedFields (a 400 every time): drop the sample's.
                  const body =
                    verb === "apply" && isRecord(replaced) && isRecord(replaced.metadata)
                      ? {
                          ...replaced,
                          metadata: { ...replaced.metadata, managedFields: undefined },
                        }
                      : replaced
                  const before = await revision()
                  const r =
                    verb === "POST"
                      ? await call("POST", collection, { rawBody: bytes(body) })
                      : verb === "PUT"
                        ? await call("PUT", item, { rawBody: bytes(body) })
                        : verb === "PUT sub"
                          ? await call("PUT", item + sub, { rawBody: bytes(body) })
                          : verb === "json-patch"
                            ? await call("PATCH", item, {
                                body: [
                                  {
                                    op: pick % 2 === 0 ? "add" : "replace",
                                    path: `/${path.join("/")}`,
                                    value,
                                  },
                                ],
                                contentType: "application/json-patch+json",
                              })
                            : await call("PATCH", item, {
                                rawBody: bytes(body),
                                contentType:
                                  verb === "merge"
                                    ? "application/merge-patch+json"
                                    : verb === "strategic"
                                      ? "application/strategic-merge-patch+json"
                                      : "application/apply-patch+yaml",
                                query:
                                  verb === "apply" ? { fieldManager: "gen", force: "true" } : {},
                              })
                  const after = await revision()
                  assert.isBelow(
                    r.status,
                    500,
                    `${verb} ${item}: ${JSON.stringify(r.body).slice(0, 300)}`,
                  )
                  if (r.status >= 400) {
                    assert.strictEqual(r.body.kind, "Status")
                    assert.isNotEmpty(r.body.message)
                    assert.strictEqual(
                      after,
                      before,
                      `${verb} ${item} refused (${r.status}) but wrote`,
                    )
                    return
                  }
                  const table = await call("GET", collection, {
                    accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
                  })
                  assert.strictEqual(table.status, 200, JSON.stringify(table.body).slice(0, 300))
                  const applied = await call("PATCH", item, {
                    body: {
                      apiVersion: base.apiVersion,
                      kind: base.kind,
                      metadata: { name, labels: { probe: "1" } },
                    },
                    contentType: "application/apply-patch+yaml",
                    query: { fieldManager: "probe", force: "true" },
                  })
                  assert.isBelow(applied.status, 500, JSON.stringify(applied.body).slice(0, 300))
                },
              ),
              { numRuns: 200 },
            ),
          )
        }),
      ),
  )
})

describe("resourceVersion parameters", () => {
  it.effect(
    "a revision not reached yet is Kubernetes' retryable 504 with the ResourceVersionTooLarge cause for get and list, Exact or not; a malformed one is a 400 for get too",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          yield* api.call("POST", deployments, { body: deployment("web") })
          const current = yield* Effect.orDie(api.store.revision)
          const future = String(current + 1000)
          for (const [path, query] of [
            [deployments, { resourceVersion: future }],
            [deployments, { resourceVersion: future, resourceVersionMatch: "Exact" }],
            [deployments, { resourceVersion: future, resourceVersionMatch: "NotOlderThan" }],
            [`${deployments}/web`, { resourceVersion: future }],
          ] as const) {
            const r = yield* api.call("GET", path, { query })
            assert.strictEqual(r.status, 504, JSON.stringify(query))
            assert.strictEqual(r.body.reason, "Timeout")
            assert.strictEqual(
              r.body.message,
              `Timeout: Too large resource version: ${future}, current: ${current}`,
            )
            assert.deepStrictEqual(r.body.details, {
              causes: [
                { reason: "ResourceVersionTooLarge", message: "Too large resource version" },
              ],
              retryAfterSeconds: 1,
            })
          }
          // A get used to ignore its resourceVersion altogether.
          const bad = yield* api.call("GET", `${deployments}/web`, {
            query: { resourceVersion: "abc" },
          })
          assert.strictEqual(bad.status, 400)
          assert.strictEqual(
            bad.body.message,
            'Invalid value: "abc": resourceVersion must be an integer',
          )
          for (const rv of ["", "0", String(current)]) {
            const ok = yield* api.call("GET", `${deployments}/web`, {
              query: { resourceVersion: rv },
            })
            assert.strictEqual(ok.status, 200, rv)
          }
        }),
      ),
  )
})

describe("pod log options", () => {
  it.effect(
    "are decoded and validated before the kubelet is asked (they were passed through as sent)",
    () =>
      run(
        Effect.gen(function* () {
          const asked: Array<string> = []
          const api = yield* makeApi({
            logs: (_pod, _container, query) =>
              Effect.sync(() => {
                asked.push(query.toString())
                return "log\n"
              }),
          })
          yield* api.call("POST", pods, { body: podBody("p", {}, "n1") })
          for (const [query, code] of [
            ["tailLines=-1", 422],
            ["limitBytes=0", 422],
            ["sinceSeconds=-1", 422],
            ["sinceSeconds=5&sinceTime=2024-01-02T15:04:05Z", 422],
            ["tailLines=abc", 400],
            ["sinceTime=yesterday", 400],
            ["follow=maybe", 400],
          ] as const) {
            const r = yield* api.call("GET", `${pods}/p/log`, {
              query: Object.fromEntries(new URLSearchParams(query)),
            })
            assert.strictEqual(r.status, code, `${query}: ${r.body.message}`)
            assert.strictEqual(r.body.kind, "Status")
          }
          assert.deepStrictEqual(asked, [])
          const ok = yield* api.call("GET", `${pods}/p/log`, { query: { tailLines: "10" } })
          assert.strictEqual(ok.status, 200)
          assert.deepStrictEqual(asked, ["tailLines=10"])
        }),
      ),
  )
})

describe("server-side apply", () => {
  it.effect(
    "of a configuration carrying managedFields is a 400, as Kubernetes refuses it (it was applied)",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          yield* api.call("POST", pods, { body: podBody("p") })
          for (const managedFields of [[{ manager: "m" }], [], {}]) {
            const r = yield* refused(api, "PATCH", `${pods}/p`, {
              body: podBody("p", { labels: { a: "b" }, managedFields }),
              contentType: "application/apply-patch+yaml",
              query: { fieldManager: "m" },
            })
            assert.strictEqual(r.status, 400, JSON.stringify(managedFields))
            assert.strictEqual(r.body.message, "metadata.managedFields must be nil")
          }
          // Applied at another version (or none), it is not converted but refused, as in Kubernetes.
          yield* api.call("POST", deployments, { body: deployment("web") })
          for (const [path, base, apiVersion, expected] of [
            [`${deployments}/web`, deployment("web"), "apps/v1beta1", "apps/v1"],
            [`${pods}/p`, podBody("p"), undefined, "v1"],
          ] as const) {
            const r = yield* refused(api, "PATCH", path, {
              body: { ...base, apiVersion },
              contentType: "application/apply-patch+yaml",
              query: { fieldManager: "m" },
            })
            assert.strictEqual(r.status, 400)
            assert.strictEqual(
              r.body.message,
              `Incorrect version specified in apply patch. Specified patch version: ${apiVersion ?? ""}, expected: ${expected}`,
            )
          }
          const ok = yield* api.call("PATCH", `${pods}/p`, {
            body: podBody("p", { labels: { a: "b" }, managedFields: null }),
            contentType: "application/apply-patch+yaml",
            query: { fieldManager: "m" },
          })
          assert.strictEqual(ok.status, 200, ok.body.message)
        }),
      ),
  )
})

describe("updates", () => {
  it.effect(
    "with a resourceVersion that is no revision are a 422 naming it, not a 409 to retry",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          const live = (yield* api.call("POST", deployments, { body: deployment("web") })).body
          for (const [method, path, body, contentType] of [
            [
              "PUT",
              `${deployments}/web`,
              { ...live, metadata: { ...live.metadata, resourceVersion: "abc" } },
              "application/json",
            ],
            [
              "PATCH",
              `${deployments}/web`,
              { metadata: { resourceVersion: "-1" } },
              "application/merge-patch+json",
            ],
            [
              "PUT",
              `${deployments}/web/status`,
              { ...live, metadata: { ...live.metadata, resourceVersion: "1e3" } },
              "application/json",
            ],
            [
              "PATCH",
              `${deployments}/web/scale`,
              { metadata: { resourceVersion: "abc" } },
              "application/merge-patch+json",
            ],
          ] as const) {
            const r = yield* refused(api, method, path, { body, contentType })
            assert.strictEqual(r.status, 422, `${method} ${path}: ${r.body.message}`)
            assert.strictEqual(r.body.details.causes[0].field, "metadata.resourceVersion")
            assert.include(r.body.message, "must be an unsigned integer")
          }
          // A stale one is still the 409 to retry.
          const stale = yield* api.call("PATCH", `${deployments}/web`, {
            body: { metadata: { resourceVersion: "1" } },
            contentType: "application/merge-patch+json",
          })
          assert.strictEqual(stale.status, 409)
        }),
      ),
  )
})

describe("binding", () => {
  it.effect(
    "a Binding of another kind, to a target that is not a Node, or in another namespace binds nothing",
    () =>
      run(
        Effect.gen(function* () {
          const api = yield* makeApi()
          yield* api.call("POST", pods, { body: podBody("p") })
          const bind = (extra: Record<string, unknown>) => ({
            apiVersion: "v1",
            kind: "Binding",
            metadata: { name: "p" },
            target: { kind: "Node", name: "n1" },
            ...extra,
          })
          // biome-ignore format: a table of cases, one a line
          const cases: ReadonlyArray<[unknown, number, string]> = [
            // The first two used to bind the pod to n1.
            [bind({ target: { kind: "Pod", name: "n1" } }), 422, 'Binding "p" is invalid: target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"'],
            [bind({ kind: "Pod" }), 400, "the kind in the data (Pod) does not match the expected kind (Binding) of the request"],
            [bind({ apiVersion: "apps/v1" }), 400, "the API version in the data (apps/v1) does not match the expected API version (v1)"],
            [bind({ metadata: { name: "p", namespace: "kube-system" } }), 400, "the namespace of the provided object does not match the namespace sent on the request"],
            [bind({ target: "n1" }), 400, 'Binding in version "v1" cannot be handled as a Binding: target: Invalid value: "n1": expected object, got string'],
          ]
          for (const [body, code, message] of cases) {
            const r = yield* refused(api, "POST", `${pods}/p/binding`, { body })
            assert.strictEqual(r.status, code, r.body.message)
            assert.strictEqual(r.body.message, message)
          }
          assert.strictEqual((yield* api.call("GET", `${pods}/p`)).body.spec.nodeName, undefined)
          const ok = yield* api.call("POST", `${pods}/p/binding`, { body: bind({}) })
          assert.strictEqual(ok.status, 201)
        }),
      ),
  )
})
