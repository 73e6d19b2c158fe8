import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeJson, type KubeObject } from "../src/codec.ts"
import { applyDefaults } from "../src/defaults.ts"
import { errorString } from "../src/errors.ts"
import { type Container, type Node, type Pod, PodSpec } from "../src/index.ts"
import { kinds, preferredKind } from "../src/registry.ts"
import { validatePodSpecRules } from "../src/validation/core.ts"
import {
  podUpdateForbiddenMessage,
  validate,
  validatePodUpdate,
  validateUpdate,
} from "../src/validation/index.ts"
import { arbitrary } from "./arbitraries.ts"

const container = (overrides: Partial<Container> = {}): Container => ({
  name: "web",
  image: "nginx:1.27",
  ...overrides,
})

/** A stored pod: defaulted, with a resourceVersion (an update must carry one). */
const stored = (spec: Partial<Pod["spec"]> = {}, annotations?: Record<string, string>): Pod =>
  applyDefaults({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "web-1",
      namespace: "default",
      resourceVersion: "7",
      ...(annotations === undefined ? {} : { annotations }),
    },
    spec: { containers: [container()], ...spec },
    status: {},
  } satisfies Pod)

const withSpec = (pod: Pod, spec: Partial<Pod["spec"]>): Pod => ({
  ...pod,
  spec: { ...pod.spec, ...spec },
})

const update = (next: Pod, previous: Pod): Array<string> =>
  validateUpdate(next, previous).map(errorString)

describe("pod updates (ValidatePodUpdate)", () => {
  it("may change container and init container images", () => {
    const previous = stored({ initContainers: [container({ name: "init", image: "busybox:1" })] })
    const next = withSpec(previous, {
      containers: [{ ...previous.spec.containers[0], name: "web", image: "nginx:1.28" }],
      initContainers: [{ ...(previous.spec.initContainers?.[0] as Container), image: "busybox:2" }],
    })
    expect(update(next, previous)).toEqual([])
  })

  it("may not change anything else in the spec, naming what changed", () => {
    const previous = stored({ nodeName: "node-a" })
    const next = withSpec(previous, { nodeName: "node-b", restartPolicy: "Never" })
    expect(update(next, previous)).toEqual([
      `spec: Forbidden: ${podUpdateForbiddenMessage}\n- spec.nodeName: "node-a"\n+ spec.nodeName: "node-b"\n- spec.restartPolicy: "Always"\n+ spec.restartPolicy: "Never"`,
    ])
  })

  it("may not change resources (InPlacePodVerticalScaling is off in v1.32), but 1 equals 1000m", () => {
    const previous = stored({
      containers: [container({ resources: { requests: { cpu: "1" } } })],
    })
    const same = withSpec(previous, {
      containers: [
        { ...previous.spec.containers[0], name: "web", resources: { requests: { cpu: "1000m" } } },
      ],
    })
    expect(update(same, previous)).toEqual([])
    const more = withSpec(previous, {
      containers: [
        { ...previous.spec.containers[0], name: "web", resources: { requests: { cpu: "2" } } },
      ],
    })
    expect(update(more, previous)).toEqual([
      `spec: Forbidden: ${podUpdateForbiddenMessage}\n- spec.containers[0].resources.requests[cpu]: "1"\n+ spec.containers[0].resources.requests[cpu]: "2"`,
    ])
  })

  it("may not add or remove containers", () => {
    const previous = stored()
    const next = withSpec(previous, {
      containers: [...previous.spec.containers, { ...previous.spec.containers[0], name: "side" }],
    })
    expect(update(next, previous)).toEqual([
      "spec.containers: Forbidden: pod updates may not add or remove containers",
    ])
  })

  it("require an image on every container", () => {
    const previous = stored()
    const next = withSpec(previous, {
      containers: [{ ...previous.spec.containers[0], name: "web", image: " nginx:1.28" }],
    })
    expect(update(next, previous)).toEqual([
      'spec.containers[0].image: Invalid value: " nginx:1.28": must not have leading or trailing whitespace',
    ])
  })

  it("may set or lower activeDeadlineSeconds, never raise or remove it", () => {
    const none = stored()
    const thirty = withSpec(none, { activeDeadlineSeconds: 30 })
    expect(update(thirty, none)).toEqual([])
    expect(update(withSpec(none, { activeDeadlineSeconds: 10 }), thirty)).toEqual([])
    expect(update(withSpec(none, { activeDeadlineSeconds: 60 }), thirty)).toEqual([
      "spec.activeDeadlineSeconds: Invalid value: 60: must be less than or equal to previous value",
    ])
    expect(update(none, thirty)).toEqual([
      "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value",
    ])
    // The create rule (1..MaxInt32) and the update rule (0..MaxInt32) both speak, as in Kubernetes.
    expect(update(withSpec(none, { activeDeadlineSeconds: -1 }), thirty)).toEqual([
      "spec.activeDeadlineSeconds: Invalid value: -1: must be between 1 and 2147483647, inclusive",
      "spec.activeDeadlineSeconds: Invalid value: -1: must be between 0 and 2147483647, inclusive",
    ])
  })

  it("may add tolerations and change tolerationSeconds, not change or drop a toleration", () => {
    const gpu = { key: "gpu", operator: "Exists", effect: "NoExecute", tolerationSeconds: 60 }
    const previous = stored({ tolerations: [gpu] })
    const added = withSpec(previous, {
      tolerations: [
        { ...gpu, tolerationSeconds: 10 },
        { key: "spot", operator: "Exists" },
      ],
    })
    expect(update(added, previous)).toEqual([])
    expect(update(withSpec(previous, { tolerations: [{ ...gpu, key: "tpu" }] }), previous)).toEqual(
      [
        "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds",
      ],
    )
    expect(update(withSpec(previous, { tolerations: [] }), previous)).toEqual([
      "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds",
    ])
  })

  it("may set a negative terminationGracePeriodSeconds to 1, nothing else", () => {
    const negative = stored({ terminationGracePeriodSeconds: -5 })
    expect(update(withSpec(negative, { terminationGracePeriodSeconds: 1 }), negative)).toEqual([])
    expect(update(withSpec(negative, { terminationGracePeriodSeconds: 2 }), negative)).toEqual([
      `spec: Forbidden: ${podUpdateForbiddenMessage}\n- spec.terminationGracePeriodSeconds: -5\n+ spec.terminationGracePeriodSeconds: 2`,
    ])
  })

  it("may not add, change or remove the mirror pod annotation", () => {
    const mirror = "kubernetes.io/config.mirror"
    const plain = stored()
    const mirrored = stored({}, { [mirror]: "abc" })
    expect(update(mirrored, plain)).toEqual([
      `metadata.annotations[${mirror}]: Forbidden: may not add mirror pod annotation`,
    ])
    expect(update(plain, mirrored)).toEqual([
      `metadata.annotations[${mirror}]: Forbidden: may not remove or update mirror pod annotation`,
    ])
    expect(update(stored({}, { [mirror]: "abc", other: "x" }), mirrored)).toEqual([])
  })

  it("keep the metadata rules and the create rules of the spec", () => {
    const previous = stored()
    const next: Pod = {
      ...previous,
      metadata: { ...previous.metadata, name: "web-2", labels: { "bad key": "x" } },
    }
    expect(update(next, previous)).toEqual([
      'metadata.name: Invalid value: "web-2": field is immutable',
      `metadata.labels: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    ])
  })

  it("property: the same spec with its keys reordered and new images is accepted", () => {
    const reorder = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reorder)
      if (typeof value !== "object" || value === null) return value
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(value).reverse()) {
        // defineProperty: a generated "__proto__" key must stay a plain key.
        Object.defineProperty(out, k, {
          value: reorder((value as Record<string, unknown>)[k]),
          enumerable: true,
          writable: true,
          configurable: true,
        })
      }
      return out
    }
    fc.assert(
      fc.property(arbitrary(PodSpec), fc.string(), (spec, tag) => {
        const previous = stored(spec)
        const next = withSpec(previous, reorder(previous.spec) as Pod["spec"])
        const retagged = withSpec(next, {
          containers: next.spec.containers.map((c) => ({ ...c, image: `img:${tag.length}` })),
        })
        const forbiddenSpec = (errors: Array<string>) =>
          errors.filter((e) => e.startsWith("spec: Forbidden"))
        expect(forbiddenSpec(update(next, previous))).toEqual([])
        expect(forbiddenSpec(update(retagged, previous))).toEqual([])
      }),
      { numRuns: 100 },
    )
  })

  it("property: changing nodeName or schedulerName is always refused", () => {
    fc.assert(
      fc.property(
        arbitrary(PodSpec),
        fc.constantFrom("nodeName", "schedulerName"),
        (spec, field) => {
          // A bad activeDeadlineSeconds ends the checks early, as in Kubernetes.
          const { activeDeadlineSeconds: _, ...rest } = spec
          const previous = stored(rest)
          const next = withSpec(previous, { [field]: `${previous.spec[field] ?? ""}-changed` })
          const errors = validatePodUpdate(next, previous)
          expect(errors.some((e) => e.field === "spec" && e.type === "FieldValueForbidden")).toBe(
            true,
          )
        },
      ),
      { numRuns: 100 },
    )
  })
})

describe("pod spec rules of an update (a stored spec found valid is not walked again)", () => {
  const deepFreeze = <A>(v: A): A => {
    if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
      Object.freeze(v)
      for (const x of Object.values(v)) deepFreeze(x)
    }
    return v
  }
  it("property: give the errors a fresh validation gives, whether the stored spec was valid, invalid or changed", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          arbitrary(PodSpec),
          // Mostly valid specs, so that the stored one was often found valid.
          fc.record({
            containers: fc.uniqueArray(
              fc.record({
                name: fc.constantFrom("web", "side", "init"),
                image: fc.constantFrom("nginx:1.27", "busybox"),
              }),
              { minLength: 1, maxLength: 3, selector: (c) => c.name },
            ),
          }),
        ),
        fc.constantFrom("same", "image", "padded", "policy"),
        fc.boolean(),
        (spec, change, validatedFirst) => {
          // The stored pod, validated as a write validates it (or not), then frozen as stored.
          const previous = stored(spec)
          if (validatedFirst) validate(previous)
          deepFreeze(previous)
          const copy = structuredClone(previous.spec)
          const containers = copy.containers.map((c, i) =>
            i > 0 || change === "same"
              ? c
              : { ...c, image: change === "padded" ? ` ${c.image ?? ""}` : `${c.image ?? ""}x` },
          )
          const next = withSpec(previous, {
            ...copy,
            containers,
            ...(change === "policy" ? { restartPolicy: "Sometimes" } : {}),
          })
          // The same rules against a stored pod this process never validated (a copy).
          const fresh = { ...previous, spec: structuredClone(previous.spec) }
          expect(validatePodUpdate(next, previous)).toEqual(validatePodUpdate(next, fresh))
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe("pod creates (a spec equal to the last one found valid, once frozen, is not walked again)", () => {
  it("property: give the spec errors a full walk gives, whatever was created before", () => {
    const spec = fc.record({
      containers: fc.uniqueArray(
        fc.record({
          name: fc.constantFrom("web", "side", "Bad_Name"),
          image: fc.constantFrom("nginx:1.27", "busybox", " padded"),
        }),
        { minLength: 1, maxLength: 2, selector: (c) => c.name },
      ),
    })
    fc.assert(
      fc.property(
        fc.array(fc.tuple(spec, fc.boolean()), { minLength: 1, maxLength: 6 }),
        (pods) => {
          for (const [s, stored] of pods) {
            const pod = applyDefaults({
              apiVersion: "v1",
              kind: "Pod",
              metadata: { name: "p", namespace: "default" },
              spec: s,
              status: {},
            } satisfies Pod)
            // The full walk first (it records its spec only when valid, and an
            // unfrozen one is never compared with), then the create's validation.
            const walked = validatePodSpecRules({ ...pod, spec: structuredClone(pod.spec) })
            const specErrors = validate(pod).filter((e) => !e.field.startsWith("metadata."))
            expect(specErrors).toEqual(walked)
            // Stored pods are frozen; others (a create that failed) are not.
            if (stored) Object.freeze(pod.spec)
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe("validation never throws", () => {
  // Generated objects carry any keys, "__proto__" included (a resource list
  // entry named so once made validation read Object.prototype and throw).
  for (const info of kinds.filter(
    (k) => k.apiVersion === preferredKind(k.apiVersion, k.kind)?.apiVersion,
  )) {
    it(`for generated ${info.apiVersion} ${info.kind}, defaulted, on create and on update`, () => {
      fc.assert(
        fc.property(arbitrary(info.schema), arbitrary(info.schema), (a, b) => {
          const next = applyDefaults(a as KubeObject)
          const previous = applyDefaults(b as KubeObject)
          expect(Array.isArray(validate(next))).toBe(true)
          expect(Array.isArray(validateUpdate(next, previous))).toBe(true)
          expect(Array.isArray(validateUpdate(next, next))).toBe(true)
        }),
        { numRuns: 30 },
      )
    })
  }
})

describe("Binding (core/v1, the body of pods/<name>/binding)", () => {
  const body = (target: Record<string, string>) =>
    JSON.stringify({ apiVersion: "v1", kind: "Binding", metadata: { name: "web-1" }, target })

  it("decodes through the registry and validates as ValidatePodBinding", () => {
    const good = Result.getOrThrow(
      decodeJson(body({ apiVersion: "v1", kind: "Node", name: "node-1" }), {
        fieldValidation: "Strict",
      }),
    )
    expect(good.info.resource).toBeUndefined()
    expect(validate(good.value)).toEqual([])
    const bad = Result.getOrThrow(decodeJson(body({ kind: "Pod" })))
    expect(validate(bad.value).map(errorString)).toEqual([
      'target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"',
      "target.name: Required value",
    ])
  })
})

describe("node updates (ValidateNodeUpdate)", () => {
  const node = (spec: Node["spec"]): Node =>
    applyDefaults({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node-1", resourceVersion: "3" },
      spec,
      status: {},
    } satisfies Node)

  it("may set pod CIDRs and the provider ID from empty, then never change them", () => {
    const bare = node({})
    const set = node({
      podCIDR: "10.0.1.0/24",
      podCIDRs: ["10.0.1.0/24"],
      providerID: "aws:///i-1",
    })
    expect(validateUpdate(set, bare)).toEqual([])
    const moved = node({
      podCIDR: "10.0.2.0/24",
      podCIDRs: ["10.0.2.0/24"],
      providerID: "aws:///i-2",
    })
    expect(validateUpdate(moved, set).map(errorString)).toEqual([
      'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid',
      'spec.providerID: Forbidden: node updates may not change providerID except from "" to valid',
    ])
  })

  it("may change labels, taints, unschedulable and status", () => {
    const before = node({ podCIDRs: ["10.0.1.0/24"] })
    const after: Node = {
      ...node({
        podCIDRs: ["10.0.1.0/24"],
        unschedulable: true,
        taints: [{ key: "gpu", effect: "NoSchedule" }],
      }),
      metadata: { ...before.metadata, labels: { zone: "a" } },
      status: { capacity: { cpu: "4" } },
    }
    expect(validateUpdate(after, before)).toEqual([])
  })
})
