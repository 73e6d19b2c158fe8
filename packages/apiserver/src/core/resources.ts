/**
 * The resources this API server serves, derived from `@flotilla/api`'s
 * registry: which group versions, which resources in each, their verbs and
 * subresources, and where each is stored. Legacy versions (`apps/v1beta1`) are
 * served by converting to and from the storage version (`apps/v1`), as
 * Kubernetes did while it served them.
 */
import { formatApiVersion, type KindInfo, kinds, type ResourceInfo } from "@flotilla/api"

/** A subresource and the kind it reads and writes. */
export interface SubresourceInfo {
  readonly name: string
  readonly group: string
  readonly version: string
  readonly kind: string
  readonly verbs: ReadonlyArray<string>
}

/** One resource of one group version as served. */
export interface ServedResource {
  readonly group: string
  readonly version: string
  /** `apps/v1`, `v1`. */
  readonly apiVersion: string
  readonly kind: string
  readonly listKind: string
  readonly resource: ResourceInfo
  /** The registry entry of the served version (its schema decodes request bodies). */
  readonly info: KindInfo
  /** The version objects are stored in (the group's preferred one). */
  readonly storageApiVersion: string
  readonly namespaced: boolean
  readonly verbs: ReadonlyArray<string>
  readonly subresources: ReadonlyArray<SubresourceInfo>
  /** `deployments.apps`, `pods`: how Kubernetes names the resource in messages. */
  readonly qualifiedResource: string
}

/** The group versions served: everything the registry knows except extensions and apps/v1beta2. */
export const servedApiVersions: ReadonlyArray<string> = [
  "v1",
  "apps/v1",
  "apps/v1beta1",
  "coordination.k8s.io/v1",
]

const allVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
/** Kubernetes does not serve deletecollection for namespaces. */
const namespaceVerbs = ["create", "delete", "get", "list", "patch", "update", "watch"]

const subresourceOf = (info: KindInfo, name: string): SubresourceInfo | undefined => {
  switch (name) {
    case "status":
      return {
        name,
        group: info.group,
        version: info.version,
        kind: info.kind,
        verbs: ["get", "patch", "update"],
      }
    case "scale":
      return {
        name,
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: ["get", "patch", "update"],
      }
    case "log":
      return { name, group: "", version: "v1", kind: "Pod", verbs: ["get"] }
    case "binding":
      return { name, group: "", version: "v1", kind: "Binding", verbs: ["create"] }
    case "finalize":
      return { name, group: "", version: "v1", kind: "Namespace", verbs: ["update"] }
    default:
      return undefined
  }
}

const storageVersionOf = (info: KindInfo): string =>
  info.group === "apps" ? "apps/v1" : info.apiVersion

const build = (): ReadonlyArray<ServedResource> => {
  const out: Array<ServedResource> = []
  for (const info of kinds) {
    const resource = info.resource
    if (resource === undefined || !servedApiVersions.includes(info.apiVersion)) continue
    const subresources: Array<SubresourceInfo> = []
    for (const name of resource.subresources) {
      const sub = subresourceOf(info, name)
      if (sub !== undefined) subresources.push(sub)
    }
    out.push({
      group: info.group,
      version: info.version,
      apiVersion: info.apiVersion,
      kind: info.kind,
      listKind: resource.listKind,
      resource,
      info,
      storageApiVersion: storageVersionOf(info),
      namespaced: resource.namespaced,
      verbs: resource.name === "namespaces" ? namespaceVerbs : allVerbs,
      subresources,
      qualifiedResource: info.group === "" ? resource.name : `${resource.name}.${info.group}`,
    })
  }
  return out
}

/** Every served resource, in discovery order (preferred versions first within a group). */
export const servedResources: ReadonlyArray<ServedResource> = build()

const byPath = new Map<string, ServedResource>()
for (const r of servedResources) byPath.set(`${r.apiVersion}/${r.resource.name}`, r)

/** The resource served at `/apis/<group>/<version>/<resource>` (or `/api/v1/<resource>`). */
export const findResource = (
  group: string,
  version: string,
  resource: string,
): ServedResource | undefined => byPath.get(`${formatApiVersion(group, version)}/${resource}`)

/** The storage (preferred) version's entry of a served resource. */
export const storageResource = (r: ServedResource): ServedResource =>
  r.apiVersion === r.storageApiVersion
    ? r
    : (byPath.get(`${r.storageApiVersion}/${r.resource.name}`) ?? r)

/** The served groups, each with its versions in preference order. */
export const servedGroups = (): ReadonlyArray<{
  readonly group: string
  readonly versions: ReadonlyArray<string>
}> => {
  const groups = new Map<string, Array<string>>()
  for (const r of servedResources) {
    const versions = groups.get(r.group) ?? []
    if (!versions.includes(r.version)) versions.push(r.version)
    groups.set(r.group, versions)
  }
  return [...groups].map(([group, versions]) => ({ group, versions }))
}

/** The resources of one group version, in registry order. */
export const resourcesOf = (group: string, version: string): ReadonlyArray<ServedResource> =>
  servedResources.filter((r) => r.group === group && r.version === version)
