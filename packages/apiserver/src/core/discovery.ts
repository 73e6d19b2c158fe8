/**
 * Discovery documents: the aggregated form (`apidiscovery.k8s.io/v2`
 * `APIGroupDiscoveryList`, what kubectl 1.32 asks for first) and the legacy
 * forms it falls back to (`APIVersions`, `APIGroupList`, `APIGroup`,
 * `APIResourceList`). Pure functions of the served resources.
 */
import { formatApiVersion } from "@flotilla/api"
import { resourcesOf, type ServedResource, servedGroups } from "./resources.ts"

/** The media type kubectl asks for and accepts aggregated discovery in. */
export const aggregatedDiscoveryContentType =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

const gvk = (group: string, version: string, kind: string) => ({ group, version, kind })

const aggregatedResource = (r: ServedResource) => ({
  resource: r.resource.name,
  responseKind: gvk(r.group, r.version, r.kind),
  scope: r.namespaced ? "Namespaced" : "Cluster",
  singularResource: r.resource.singularName,
  verbs: r.verbs,
  ...(r.resource.shortNames.length > 0 ? { shortNames: r.resource.shortNames } : {}),
  ...(r.resource.categories.length > 0 ? { categories: r.resource.categories } : {}),
  ...(r.subresources.length > 0
    ? {
        subresources: r.subresources.map((s) => ({
          subresource: s.name,
          responseKind: gvk(s.group, s.version, s.kind),
          verbs: s.verbs,
        })),
      }
    : {}),
})

const aggregatedGroup = (group: string, versions: ReadonlyArray<string>) => ({
  metadata: group === "" ? { creationTimestamp: null } : { name: group, creationTimestamp: null },
  versions: versions.map((version) => ({
    version,
    resources: resourcesOf(group, version).map(aggregatedResource),
    freshness: "Current",
  })),
})

/** `GET /api` (legacy core group only) or `GET /apis` (every named group), aggregated. */
export const aggregatedDiscovery = (legacy: boolean) => ({
  kind: "APIGroupDiscoveryList",
  apiVersion: "apidiscovery.k8s.io/v2",
  metadata: {},
  items: servedGroups()
    .filter((g) => (g.group === "") === legacy)
    .map((g) => aggregatedGroup(g.group, g.versions)),
})

/** `GET /api`: the legacy `APIVersions`. */
export const apiVersions = (serverAddress: string) => ({
  kind: "APIVersions",
  versions: ["v1"],
  serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
})

const apiGroup = (group: string, versions: ReadonlyArray<string>) => {
  const entries = versions.map((version) => ({
    groupVersion: formatApiVersion(group, version),
    version,
  }))
  return { name: group, versions: entries, preferredVersion: entries[0] }
}

/** `GET /apis`: the legacy `APIGroupList`. */
export const apiGroupList = () => ({
  kind: "APIGroupList",
  apiVersion: "v1",
  groups: servedGroups()
    .filter((g) => g.group !== "")
    .map((g) => apiGroup(g.group, g.versions)),
})

/** `GET /apis/<group>`: one `APIGroup`, or undefined when the group is not served. */
export const apiGroupOf = (group: string) => {
  const g = servedGroups().find((x) => x.group === group && group !== "")
  return g === undefined
    ? undefined
    : { kind: "APIGroup", apiVersion: "v1", ...apiGroup(g.group, g.versions) }
}

/** `GET /api/v1` or `GET /apis/<group>/<version>`: an `APIResourceList`, or undefined. */
export const apiResourceList = (group: string, version: string) => {
  const resources = resourcesOf(group, version)
  if (resources.length === 0) return undefined
  const entries: Array<Record<string, unknown>> = []
  for (const r of resources) {
    entries.push({
      name: r.resource.name,
      singularName: r.resource.singularName,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.resource.shortNames.length > 0 ? { shortNames: r.resource.shortNames } : {}),
      ...(r.resource.categories.length > 0 ? { categories: r.resource.categories } : {}),
    })
    for (const s of r.subresources) {
      entries.push({
        name: `${r.resource.name}/${s.name}`,
        singularName: "",
        namespaced: r.namespaced,
        kind: s.kind,
        verbs: s.verbs,
        ...(s.group !== r.group || s.version !== r.version
          ? { group: s.group, version: s.version }
          : {}),
      })
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: formatApiVersion(group, version),
    resources: entries,
  }
}
