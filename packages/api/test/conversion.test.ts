import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as AppsV1 from "../src/apps/v1.ts"
import * as AppsV1beta1 from "../src/apps/v1beta1.ts"
import type { KubeObject } from "../src/codec.ts"
import {
  ConversionError,
  convert,
  DeprecatedRollbackTo,
  deploymentFromV1,
  deploymentToV1,
  toPreferredVersion,
} from "../src/conversion.ts"
import * as ExtensionsV1beta1 from "../src/extensions/v1beta1.ts"
import { arbitrary } from "./arbitraries.ts"

const legacy: AppsV1beta1.Deployment = {
  apiVersion: "apps/v1beta1",
  kind: "Deployment",
  metadata: { name: "web", annotations: { note: "x" } },
  spec: {
    replicas: 2,
    template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web" }] } },
    rollbackTo: { revision: 3 },
  },
  status: { replicas: 2 },
}

describe("Deployment conversion", () => {
  it("apps/v1beta1 -> apps/v1 keeps rollbackTo as Kubernetes' annotation", () => {
    const v1 = deploymentToV1(legacy)
    expect(v1.apiVersion).toBe("apps/v1")
    expect(v1.metadata.annotations).toEqual({ note: "x", [DeprecatedRollbackTo]: "3" })
    expect("rollbackTo" in v1.spec).toBe(false)
    expect(v1.spec.replicas).toBe(2)
    expect(v1.status).toEqual({ replicas: 2 })
  })

  it("apps/v1 -> apps/v1beta1 turns the annotation back into rollbackTo", () => {
    expect(deploymentFromV1(deploymentToV1(legacy), "apps/v1beta1")).toEqual(legacy)
  })

  it("to apps/v1beta2 (no rollbackTo) the annotation stays", () => {
    const v1beta2 = Result.getOrThrow(convert(legacy, "apps/v1beta2")) as AppsV1.Deployment
    expect(v1beta2.apiVersion).toBe("apps/v1beta2")
    expect(v1beta2.metadata.annotations?.[DeprecatedRollbackTo]).toBe("3")
  })

  it("a malformed annotation is left as it is", () => {
    const v1: AppsV1.Deployment = {
      ...deploymentToV1(legacy),
      metadata: { name: "web", annotations: { [DeprecatedRollbackTo]: "three" } },
    }
    const back = deploymentFromV1(v1, "extensions/v1beta1")
    expect(back.spec.rollbackTo).toBeUndefined()
    expect(back.metadata.annotations).toEqual({ [DeprecatedRollbackTo]: "three" })
  })

  it("ReplicaSets change only their apiVersion", () => {
    const rs: AppsV1.ReplicaSet = {
      apiVersion: "extensions/v1beta1",
      kind: "ReplicaSet",
      metadata: { name: "web-1" },
      spec: { template: { metadata: {}, spec: { containers: [] } } },
      status: { replicas: 0 },
    } as unknown as AppsV1.ReplicaSet
    expect(Result.getOrThrow(toPreferredVersion(rs))).toEqual({ ...rs, apiVersion: "apps/v1" })
  })

  it("other kinds convert only to their own version", () => {
    const pod: KubeObject = { apiVersion: "v1", kind: "Pod" }
    expect(Result.getOrThrow(toPreferredVersion(pod))).toBe(pod)
    const failed = convert(pod, "apps/v1")
    expect(Result.isFailure(failed) && failed.failure).toBeInstanceOf(ConversionError)
    expect(Result.isFailure(convert(legacy, "apps/v2"))).toBe(true)
  })
})

/**
 * Go cannot tell an empty map from an absent one; conversion drops an
 * annotation map it empties, so compare with empty annotations removed.
 */
const withoutEmptyAnnotations = <
  D extends { readonly metadata: { readonly annotations?: object } },
>(
  d: D,
): D => {
  const annotations = d.metadata.annotations
  if (annotations === undefined || Object.keys(annotations).length > 0) return d
  const { annotations: _, ...metadata } = d.metadata
  return { ...d, metadata }
}

/** The generated legacy Deployments never carry the annotation that stands for rollbackTo. */
const legacyDeployments = <D extends AppsV1beta1.Deployment>(arb: fc.Arbitrary<D>) =>
  arb.filter((d) => d.metadata.annotations?.[DeprecatedRollbackTo] === undefined)

describe("round trips keep every field both versions have", () => {
  it("apps/v1beta1 -> apps/v1 -> apps/v1beta1", () => {
    fc.assert(
      fc.property(legacyDeployments(arbitrary(AppsV1beta1.Deployment)), (d) => {
        const there = Result.getOrThrow(convert(d, "apps/v1"))
        const back = Result.getOrThrow(convert(there, "apps/v1beta1"))
        expect(withoutEmptyAnnotations(back as AppsV1beta1.Deployment)).toEqual(
          withoutEmptyAnnotations(d),
        )
      }),
      { numRuns: 60 },
    )
  })

  it("extensions/v1beta1 -> apps/v1 -> extensions/v1beta1", () => {
    const arb = arbitrary(
      ExtensionsV1beta1.Deployment,
    ) as fc.Arbitrary<unknown> as fc.Arbitrary<AppsV1beta1.Deployment>
    fc.assert(
      fc.property(legacyDeployments(arb), (d) => {
        const back = Result.getOrThrow(
          convert(Result.getOrThrow(convert(d, "apps/v1")), d.apiVersion),
        )
        expect(withoutEmptyAnnotations(back as AppsV1beta1.Deployment)).toEqual(
          withoutEmptyAnnotations(d),
        )
      }),
      { numRuns: 40 },
    )
  })

  it("apps/v1 -> apps/v1beta1 -> apps/v1 is the identity", () => {
    fc.assert(
      fc.property(arbitrary(AppsV1.Deployment), (d) => {
        const back = Result.getOrThrow(
          convert(Result.getOrThrow(convert(d, "apps/v1beta1")), "apps/v1"),
        )
        expect(withoutEmptyAnnotations(back as AppsV1.Deployment)).toEqual(
          withoutEmptyAnnotations(d),
        )
      }),
      { numRuns: 60 },
    )
  })
})
