import { describe, expect, it } from "vitest"
import {
  formatApiVersion,
  groupVersions,
  kinds,
  lookupKind,
  lookupResource,
  parseApiVersion,
  preferredKind,
  resolveResource,
} from "../src/registry.ts"

describe("the registry of kinds", () => {
  it("parses and formats apiVersions", () => {
    expect(parseApiVersion("v1")).toEqual({ group: "", version: "v1" })
    expect(parseApiVersion("coordination.k8s.io/v1")).toEqual({
      group: "coordination.k8s.io",
      version: "v1",
    })
    expect(formatApiVersion("", "v1")).toBe("v1")
    expect(formatApiVersion("apps", "v1")).toBe("apps/v1")
  })

  it("finds kinds and list kinds by apiVersion and kind", () => {
    expect(lookupKind("apps/v1", "Deployment")?.resource?.name).toBe("deployments")
    expect(lookupKind("v1", "PodList")?.kind).toBe("PodList")
    expect(lookupKind("apps/v1", "Pod")).toBeUndefined()
  })

  it("has the resources kubectl expects, with short names and scopes", () => {
    const table = kinds
      .filter((k) => k.resource !== undefined && k.preferred && k.group !== "extensions")
      .map((k) => [
        k.apiVersion,
        k.resource?.name,
        k.resource?.namespaced,
        k.resource?.shortNames.join(","),
      ])
    expect(table).toEqual([
      ["v1", "namespaces", false, "ns"],
      ["v1", "pods", true, "po"],
      ["v1", "nodes", false, "no"],
      ["v1", "services", true, "svc"],
      ["v1", "endpoints", true, "ep"],
      ["v1", "events", true, "ev"],
      ["apps/v1", "deployments", true, "deploy"],
      ["apps/v1", "replicasets", true, "rs"],
      ["coordination.k8s.io/v1", "leases", true, ""],
    ])
    expect(lookupResource("apps/v1", "deployments")?.resource?.subresources).toEqual([
      "status",
      "scale",
    ])
    expect(lookupResource("v1", "pods")?.resource?.subresources).toEqual([
      "status",
      "log",
      "binding",
    ])
  })

  it("resolves names as kubectl does", () => {
    for (const name of ["deploy", "deployment", "deployments", "Deployment", "deployments.apps"]) {
      expect(resolveResource(name)?.apiVersion).toBe("apps/v1")
    }
    expect(resolveResource("po")?.kind).toBe("Pod")
    expect(resolveResource("deployments.extensions")?.apiVersion).toBe("extensions/v1beta1")
    expect(resolveResource("widgets")).toBeUndefined()
  })

  it("maps every legacy Deployment and ReplicaSet to apps/v1", () => {
    for (const apiVersion of ["apps/v1beta1", "apps/v1beta2", "extensions/v1beta1"]) {
      expect(preferredKind(apiVersion, "Deployment")?.apiVersion).toBe("apps/v1")
    }
    expect(preferredKind("extensions/v1beta1", "ReplicaSet")?.apiVersion).toBe("apps/v1")
    expect(preferredKind("v1", "Pod")?.apiVersion).toBe("v1")
    expect(lookupKind("extensions/v1beta1", "ReplicaSet")?.deprecation).toBe(
      "extensions/v1beta1 ReplicaSet is deprecated in v1.9+, unavailable in v1.16+; use apps/v1 ReplicaSet",
    )
    expect(lookupKind("apps/v1", "Deployment")?.deprecation).toBeUndefined()
  })

  it("lists the served group versions, preferred first", () => {
    expect(groupVersions()).toEqual([
      { group: "", versions: ["v1"] },
      { group: "apps", versions: ["v1", "v1beta2", "v1beta1"] },
      { group: "extensions", versions: ["v1beta1"] },
      { group: "coordination.k8s.io", versions: ["v1"] },
    ])
  })
})
