import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  DecodeError,
  decodeErrorStatus,
  decodeJson,
  decodeObject,
  decodeWith,
  decodeYaml,
  encode,
  encodeJson,
  encodeYaml,
} from "../src/codec.ts"
import { Pod } from "../src/core/v1.ts"
import { DeleteOptions } from "../src/meta/v1.ts"

const failure = <A>(r: Result.Result<A, DecodeError>): DecodeError => {
  if (Result.isSuccess(r)) throw new Error(`expected a failure, got ${JSON.stringify(r.success)}`)
  return r.failure
}

const deployment = [
  "apiVersion: apps/v1", // 1
  "kind: Deployment", // 2
  "metadata:", // 3
  "  name: web", // 4
  "  labels:", // 5
  "    app: 7", // 6
  "spec:", // 7
  "  replicas: three", // 8
  "  colour: blue", // 9
  "  template:", // 10
  "    spec:", // 11
  "      containers:", // 12
  "      - name: c", // 13
  "        extra: 1", // 14
  "        ports:", // 15
  "        - containerPort: 1.5", // 16
].join("\n")

describe("decoding YAML", () => {
  it("reports every type error with its field path and line", () => {
    const [doc] = decodeYaml(deployment)
    const error = failure(doc!.result)
    expect(error).toBeInstanceOf(DecodeError)
    expect(error.kind).toBe("Deployment")
    expect(error.name).toBe("web")
    expect(error.problems).toEqual([
      {
        reason: "FieldValueTypeInvalid",
        field: "metadata.labels[app]",
        message: "Invalid value: 7: expected string, got number",
        line: 6,
      },
      {
        reason: "FieldValueTypeInvalid",
        field: "spec.replicas",
        message: 'Invalid value: "three": expected integer, got string',
        line: 8,
      },
      {
        reason: "FieldValueInvalid",
        field: "spec.template.spec.containers[0].ports[0].containerPort",
        message: "Invalid value: 1.5: expected an integer",
        line: 16,
      },
    ])
    expect(error.message).toBe(
      'Deployment in version "apps/v1" cannot be handled as a Deployment: [metadata.labels[app]: Invalid value: 7: expected string, got number, spec.replicas: Invalid value: "three": expected integer, got string, spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 1.5: expected an integer]',
    )
  })

  it("reports unknown fields with their paths and lines under Strict", () => {
    const text = deployment
      .replace("app: 7", "app: web")
      .replace("replicas: three", "replicas: 3")
      .replace("containerPort: 1.5", "containerPort: 80")
    const error = failure(decodeYaml(text, { fieldValidation: "Strict" })[0]!.result)
    expect(error.message).toBe(
      'strict decoding error: unknown field "spec.colour", unknown field "spec.template.spec.containers[0].extra"',
    )
    expect(error.problems.map((p) => [p.reason, p.field, p.line])).toEqual([
      ["UnknownField", "spec.colour", 9],
      ["UnknownField", "spec.template.spec.containers[0].extra", 14],
    ])
  })

  it("drops unknown fields with a warning each under Warn, silently under Ignore", () => {
    const text =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p, colour: red}\nspec: {containers: [{name: c, image: i}]}\n"
    const warned = Result.getOrThrow(decodeYaml(text, { fieldValidation: "Warn" })[0]!.result)
    expect(warned.warnings).toEqual(['unknown field "metadata.colour"'])
    expect(warned.value).toEqual({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: { containers: [{ name: "c", image: "i" }] },
      status: {},
    })
    const ignored = Result.getOrThrow(decodeYaml(text, { fieldValidation: "Ignore" })[0]!.result)
    expect(ignored.warnings).toEqual([])
    expect(ignored.value).toEqual(warned.value)
  })

  it("decodes every document, skipping empty ones, with each document's first line", () => {
    const text =
      "---\n# nothing\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n"
    const docs = decodeYaml(text)
    expect(docs.map((d) => d.line)).toEqual([4, 9])
    expect(docs.map((d) => Result.getOrThrow(d.result).value.metadata?.name)).toEqual(["a", "b"])
  })

  it("expands a v1 List into its items", () => {
    const text = [
      "apiVersion: v1",
      "kind: List",
      "items:",
      "- apiVersion: v1",
      "  kind: Namespace",
      "  metadata: {name: a}",
      "- apiVersion: v1",
      "  kind: Namespace",
      "  metadata: {name: 1}",
    ].join("\n")
    const [first, second] = decodeYaml(text)
    expect(Result.getOrThrow(first!.result).value.metadata?.name).toBe("a")
    expect(failure(second!.result).problems).toEqual([
      {
        reason: "FieldValueTypeInvalid",
        field: "items[1].metadata.name",
        message: "Invalid value: 1: expected string, got number",
        line: 9,
      },
    ])
  })

  it("reads null as absent, as Go's decoder does", () => {
    const text =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\nspec:\n  nodeName: null\n  containers: [{name: c, image: i, resources: ~}]\n"
    const decoded = Result.getOrThrow(decodeYaml(text, { fieldValidation: "Strict" })[0]!.result)
    expect(decoded.value).toEqual({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: { containers: [{ name: "c", image: "i" }] },
      status: {},
    })
  })

  it("drops nulls anywhere without changing the input, as if they were not there (property)", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", labels: { app: "web" }, annotations: { a: "1" } },
      spec: {
        containers: [
          { name: "c", image: "i", args: ["-v"], resources: { limits: { cpu: "1" } } },
          { name: "d", image: "j", ports: [{ containerPort: 80 }] },
        ],
        nodeSelector: { disk: "ssd" },
      },
    }
    /** Every object of a JSON value, outermost first. */
    const objectsOf = (v: unknown, out: Array<Record<string, unknown>> = []) => {
      if (Array.isArray(v)) for (const x of v) objectsOf(x, out)
      else if (typeof v === "object" && v !== null) {
        out.push(v as Record<string, unknown>)
        for (const x of Object.values(v)) objectsOf(x, out)
      }
      return out
    }
    const count = objectsOf(pod).length
    const expected = Result.getOrThrow(decodeObject(pod, { fieldValidation: "Strict" })).value
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.nat({ max: count - 1 }),
            fc.constantFrom("nodeName", "labels", "hostname", "zz", "__proto__", "resources"),
            fc.boolean(),
          ),
          { maxLength: 6 },
        ),
        (nulls) => {
          const input = structuredClone(pod) as Record<string, unknown>
          const objects = objectsOf(input)
          // A null for a key the object lacks: Go's decoder reads it as absent.
          for (const [at, key, first] of nulls) {
            const target = objects[at] as Record<string, unknown>
            if (Object.hasOwn(target, key)) continue
            if (first) {
              const rest = { ...target }
              for (const k of Object.keys(target)) delete target[k]
              Object.defineProperty(target, key, {
                value: null,
                enumerable: true,
                writable: true,
                configurable: true,
              })
              Object.assign(target, rest)
            } else
              Object.defineProperty(target, key, {
                value: null,
                enumerable: true,
                writable: true,
                configurable: true,
              })
          }
          const text = JSON.stringify(input)
          const decoded = decodeObject(input, { fieldValidation: "Strict" })
          expect(Result.getOrThrow(decoded).value).toEqual(expected)
          expect(JSON.stringify(input)).toBe(text)
        },
      ),
    )
  })

  it("decodes numeric quantities to their string form, trimmed as Go does", () => {
    const text =
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    resources: {requests: {cpu: 0.5, memory: 128974848, ephemeral-storage: " 1Gi "}}\n'
    const pod = Result.getOrThrow(decodeYaml(text)[0]!.result).value
    expect(pod).toMatchObject({
      spec: {
        containers: [
          {
            resources: {
              requests: { cpu: "0.5", memory: "128974848", "ephemeral-storage": "1Gi" },
            },
          },
        ],
      },
    })
  })

  it("rejects a malformed quantity with Kubernetes' message", () => {
    const text =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    resources: {limits: {cpu: lots}}\n"
    expect(failure(decodeYaml(text)[0]!.result).problems).toEqual([
      {
        reason: "FieldValueInvalid",
        field: "spec.containers[0].resources.limits[cpu]",
        message:
          "Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        line: 7,
      },
    ])
  })

  it("rejects a malformed time", () => {
    const text =
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, creationTimestamp: yesterday}\n"
    expect(failure(decodeYaml(text)[0]!.result).problems[0]).toMatchObject({
      field: "metadata.creationTimestamp",
      message: 'Invalid value: "yesterday": expected an RFC 3339 time such as 2024-01-02T15:04:05Z',
    })
  })

  it("names a missing or unknown kind", () => {
    const missing = failure(decodeYaml("metadata: {name: x}\n")[0]!.result)
    expect(missing.problems.map((p) => `${p.field}: ${p.message}`)).toEqual([
      "apiVersion: Required value",
      "kind: Required value",
    ])
    const unknown = failure(decodeYaml("apiVersion: apps/v1\nkind: Frobnicator\n")[0]!.result)
    expect(unknown.message).toBe('no kind "Frobnicator" is registered for version "apps/v1"')
    expect(unknown.problems[0]?.line).toBe(2)
  })

  it("reports syntax errors with their line", () => {
    const [broken] = decodeYaml("apiVersion: v1\nkind: [Pod\n")
    expect(failure(broken!.result).problems[0]).toMatchObject({ reason: "SyntaxError", line: 2 })
  })

  it("decodes the first document of a bad stream and still reports the rest", () => {
    const docs = decodeYaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n- 1\n")
    expect(Result.isSuccess(docs[0]!.result)).toBe(true)
    expect(failure(docs[1]!.result).message).toBe(
      "expected a Kubernetes object (a mapping with apiVersion and kind), got array",
    )
  })
})

describe("decoding JSON", () => {
  it("finds lines only when reporting problems", () => {
    const text =
      '{\n  "apiVersion": "v1",\n  "kind": "Pod",\n  "spec": {\n    "containers": [{"name": 5}]\n  }\n}'
    expect(failure(decodeJson(text)).problems).toEqual([
      {
        reason: "FieldValueTypeInvalid",
        field: "spec.containers[0].name",
        message: "Invalid value: 5: expected string, got number",
        line: 5,
      },
    ])
  })

  it("reports a syntax error", () => {
    expect(failure(decodeJson("{")).problems[0]?.reason).toBe("SyntaxError")
  })

  it("decodes a body with a known schema, and a DecodeError becomes a 400 Status", () => {
    expect(
      Result.getOrThrow(decodeWith(DeleteOptions, { propagationPolicy: "Background" })).value,
    ).toEqual({
      propagationPolicy: "Background",
    })
    const error = failure(
      decodeObject({ apiVersion: "v1", kind: "Pod", spec: { containers: "x" } }),
    )
    expect(decodeErrorStatus(error)).toEqual({
      apiVersion: "v1",
      kind: "Status",
      metadata: {},
      status: "Failure",
      message:
        'Pod in version "v1" cannot be handled as a Pod: spec.containers: Invalid value: "x": expected array, got string',
      reason: "BadRequest",
      details: {
        causes: [
          {
            reason: "FieldValueTypeInvalid",
            message: 'Invalid value: "x": expected array, got string',
            field: "spec.containers",
          },
        ],
      },
      code: 400,
    })
  })

  it("keeps a __proto__ key as a plain key", () => {
    const text =
      '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a","labels":{"__proto__":"x"}}}'
    const value = Result.getOrThrow(decodeJson(text)).value
    expect(Object.keys(value.metadata?.labels ?? {})).toEqual(["__proto__"])
    expect(Object.getPrototypeOf(value.metadata?.labels)).toBe(Object.prototype)
  })
})

describe("encoding", () => {
  it("emits Kubernetes' field order and omits absent fields", () => {
    const pod = Result.getOrThrow(
      decodeWith(Pod, {
        status: { phase: "Running" },
        spec: { containers: [{ image: "nginx", name: "web" }] },
        metadata: { name: "p" },
      }),
    ).value
    expect(Result.getOrThrow(encodeJson(pod))).toBe(
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"web","image":"nginx"}]},"status":{"phase":"Running"}}',
    )
    expect(Result.getOrThrow(encodeYaml([pod, pod]))).toBe(
      [
        "apiVersion: v1",
        "kind: Pod",
        "metadata:",
        "  name: p",
        "spec:",
        "  containers:",
        "  - name: web",
        "    image: nginx",
        "status:",
        "  phase: Running",
        "---",
        "",
      ]
        .join("\n")
        .repeat(2)
        .slice(0, -4),
    )
  })

  it("fails, without throwing, for an unknown kind or a value that breaks its schema", () => {
    expect(Result.isFailure(encode({ apiVersion: "v9", kind: "Pod" }))).toBe(true)
    const broken = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { generation: 1.5 },
      spec: {},
      status: {},
    }
    expect(Result.isFailure(encode(broken))).toBe(true)
  })
})

describe("bad input never throws", () => {
  it("random JSON values give a result, never an exception", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = decodeObject(value, { fieldValidation: "Strict" })
        expect(Result.isSuccess(result) || result.failure instanceof DecodeError).toBe(true)
      }),
      { numRuns: 300 },
    )
  })

  it("random objects shaped like manifests give a result, never an exception", () => {
    const manifest = fc.record({
      apiVersion: fc.constantFrom("v1", "apps/v1", "apps/v1beta1", "bogus/v1"),
      kind: fc.constantFrom("Pod", "Deployment", "Service", "Node", "Namespace", "Event"),
      metadata: fc.jsonValue(),
      spec: fc.jsonValue(),
      status: fc.jsonValue(),
    })
    fc.assert(
      fc.property(manifest, fc.constantFrom("Strict", "Warn", "Ignore" as const), (value, mode) => {
        const result = decodeObject(value, { fieldValidation: mode })
        expect(Result.isSuccess(result) || result.failure instanceof DecodeError).toBe(true)
      }),
      { numRuns: 300 },
    )
  })

  it("random text as YAML and JSON gives results, never an exception", () => {
    const yamlish = fc.array(
      fc.oneof(
        fc.string(),
        fc.constantFrom(
          "apiVersion: v1",
          "kind: Pod",
          "---",
          "- a",
          "  b: [",
          "&a x",
          "*a",
          "{",
          "}",
          ": :",
          "\t",
        ),
      ),
      { maxLength: 12 },
    )
    fc.assert(
      fc.property(yamlish, (lines) => {
        const text = lines.join("\n")
        for (const doc of decodeYaml(text)) {
          expect(Result.isSuccess(doc.result) || doc.result.failure instanceof DecodeError).toBe(
            true,
          )
          expect(Number.isInteger(doc.line)).toBe(true)
        }
        const json = decodeJson(text)
        expect(Result.isSuccess(json) || json.failure instanceof DecodeError).toBe(true)
      }),
      { numRuns: 300 },
    )
  })

  it("absurdly deep nesting is a DecodeError", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`
    const result = decodeJson(`{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":${deep}}}`)
    expect(Result.isFailure(result)).toBe(true)
  })

  it("an alias bomb is a DecodeError", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
    ].join("\n")
    const [doc] = decodeYaml(bomb)
    expect(Result.isFailure(doc!.result)).toBe(true)
  })
})
