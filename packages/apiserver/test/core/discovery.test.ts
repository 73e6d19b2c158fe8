// Discovery and OpenAPI compared with responses the real kubectl accepted
// (recorded samples in test/fixtures/kubectl-samples).
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { aggregatedDiscovery, apiGroupList, apiResourceList } from "../../src/core/discovery.ts"
import { openApiDocument, openApiEntries, openApiIndex } from "../../src/core/openapi.ts"

// biome-ignore lint/suspicious/noExplicitAny: recorded JSON navigated by the assertions
const sample = (name: string): any =>
  JSON.parse(readFileSync(new URL(`../fixtures/kubectl-samples/${name}`, import.meta.url), "utf8"))

// biome-ignore lint/suspicious/noExplicitAny: discovery entries
const sortSubresources = (r: any) => ({
  ...r,
  subresources: [...(r.subresources ?? [])].sort((a, b) =>
    a.subresource.localeCompare(b.subresource),
  ),
})

describe("aggregated discovery", () => {
  it("serves apps/v1 Deployments and ReplicaSets as kubectl saw them, apps/v1 preferred over v1beta1", () => {
    const apps = aggregatedDiscovery(false).items.find((g) => g.metadata.name === "apps")
    expect(apps?.versions.map((v) => v.version)).toEqual(["v1", "v1beta1"])
    const recorded =
      sample("aggregated-apis.json").items[0].versions[0].resources.map(sortSubresources)
    expect(apps?.versions[0]?.resources.map(sortSubresources)).toEqual(recorded)
    expect(apps?.versions[1]?.resources.map((r) => r.resource)).toEqual(["deployments"])
  })

  it("lists the core resources with their short names, categories and subresources", () => {
    const core = aggregatedDiscovery(true).items[0]
    const byName = new Map(core?.versions[0]?.resources.map((r) => [r.resource, r]))
    expect(byName.get("pods")?.shortNames).toEqual(["po"])
    expect(byName.get("pods")?.categories).toEqual(["all"])
    expect(
      byName
        .get("pods")
        ?.subresources?.map((s) => s.subresource)
        .sort(),
    ).toEqual(["binding", "log", "status"])
    expect(byName.get("nodes")?.scope).toBe("Cluster")
    expect(byName.get("namespaces")?.verbs).not.toContain("deletecollection")
    expect([...byName.keys()].sort()).toEqual([
      "endpoints",
      "events",
      "namespaces",
      "nodes",
      "pods",
      "services",
    ])
  })

  it("has legacy forms too", () => {
    expect(apiGroupList().groups.map((g) => [g.name, g.preferredVersion?.groupVersion])).toEqual([
      ["apps", "apps/v1"],
      ["coordination.k8s.io", "coordination.k8s.io/v1"],
    ])
    const list = apiResourceList("apps", "v1")
    expect(list?.resources.map((r) => r.name)).toEqual([
      "deployments",
      "deployments/status",
      "deployments/scale",
      "replicasets",
      "replicasets/status",
      "replicasets/scale",
    ])
    expect(list?.resources.find((r) => r.name === "deployments/scale")).toMatchObject({
      kind: "Scale",
      group: "autoscaling",
      version: "v1",
    })
    expect(apiResourceList("apps", "v2")).toBeUndefined()
  })
})

describe("OpenAPI v3", () => {
  it("gives each kind a patch operation with its group-version-kind and fieldValidation, as kubectl checks", () => {
    const doc = openApiDocument("apps", "v1") as {
      paths: Record<
        string,
        {
          patch?: { parameters: Array<{ name: string }>; "x-kubernetes-group-version-kind": object }
        }
      >
    }
    const recorded = sample("openapi-v3-apps-v1.json")
    const path = "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"
    expect(doc.paths[path]?.patch?.["x-kubernetes-group-version-kind"]).toEqual(
      recorded.paths[path].patch["x-kubernetes-group-version-kind"],
    )
    expect(doc.paths[path]?.patch?.parameters.map((p) => p.name)).toEqual(
      recorded.paths[path].patch.parameters.map((p: { name: string }) => p.name),
    )
    const v1beta1 = openApiDocument("apps", "v1beta1") as { paths: Record<string, unknown> }
    expect(Object.keys(v1beta1.paths)).toContain(
      "/apis/apps/v1beta1/namespaces/{namespace}/deployments/{name}",
    )
  })

  it("indexes every document by a hash of its content", () => {
    const entries = openApiEntries()
    const index = openApiIndex(entries)
    expect(Object.keys(index.paths).sort()).toEqual([
      "api/v1",
      "apis/apps/v1",
      "apis/apps/v1beta1",
      "apis/coordination.k8s.io/v1",
    ])
    for (const e of entries)
      expect(index.paths[e.path]?.serverRelativeURL).toBe(`/openapi/v3/${e.path}?hash=${e.hash}`)
    expect(new Set(entries.map((e) => e.hash)).size).toBe(entries.length)
  })
})
