/**
 * The registry of kinds: for each group/version/kind its schema, its REST
 * resource (plural, singular, namespaced, short names, categories,
 * subresources) and whether that version is the group's preferred one. The API
 * server builds discovery from it, the CLI resolves `deploy` or
 * `deployments.apps`, and the codec dispatches on `apiVersion` and `kind`.
 */
import type { Schema } from "effect"
import * as AppsV1 from "./apps/v1.ts"
import * as AppsV1beta1 from "./apps/v1beta1.ts"
import * as AppsV1beta2 from "./apps/v1beta2.ts"
import * as AutoscalingV1 from "./autoscaling/v1.ts"
import * as CoordinationV1 from "./coordination/v1.ts"
import * as CoreV1 from "./core/v1.ts"
import * as ExtensionsV1beta1 from "./extensions/v1beta1.ts"
import * as MetaV1 from "./meta/v1.ts"

/** A schema of the object model: decodes wire JSON to its typed value. */
export type KindSchema = Schema.Codec<unknown, unknown>

export interface GroupVersionKind {
  readonly group: string
  readonly version: string
  readonly kind: string
}

/** A REST resource served for a kind. */
export interface ResourceInfo {
  /** Plural, lower case: `deployments`. */
  readonly name: string
  readonly singularName: string
  readonly namespaced: boolean
  readonly shortNames: ReadonlyArray<string>
  readonly categories: ReadonlyArray<string>
  /** Subresources besides the main resource: `status`, `scale`, `log`, `binding`. */
  readonly subresources: ReadonlyArray<string>
  readonly listKind: string
  readonly listSchema: KindSchema
}

export interface KindInfo extends GroupVersionKind {
  /** `group/version`, or `version` for the legacy core group. */
  readonly apiVersion: string
  readonly schema: KindSchema
  /** Present for kinds served as REST resources (not for Status, Table, Scale, ...). */
  readonly resource?: ResourceInfo
  /** Whether this is the group's preferred version for the kind (what is stored and served first). */
  readonly preferred: boolean
  /**
   * The warning Kubernetes sends for a deprecated version, e.g. `apps/v1beta1
   * Deployment is deprecated in v1.9+, unavailable in v1.16+; use apps/v1 Deployment`.
   */
  readonly deprecation?: string
}

/** `apps/v1` -> `{group: "apps", version: "v1"}`; `v1` -> `{group: "", version: "v1"}`. */
export const parseApiVersion = (apiVersion: string): { group: string; version: string } => {
  const slash = apiVersion.indexOf("/")
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) }
}

export const formatApiVersion = (group: string, version: string): string =>
  group === "" ? version : `${group}/${version}`

const asSchema = (schema: Schema.Top): KindSchema => schema as unknown as KindSchema

interface ResourceOptions {
  readonly name: string
  readonly singularName: string
  readonly namespaced: boolean
  readonly shortNames?: ReadonlyArray<string>
  readonly categories?: ReadonlyArray<string>
  readonly subresources?: ReadonlyArray<string>
  readonly list: Schema.Top
}

const entry = (
  apiVersion: string,
  kind: string,
  schema: Schema.Top,
  preferred: boolean,
  resource?: ResourceOptions,
): KindInfo => {
  const { group, version } = parseApiVersion(apiVersion)
  // Every legacy Deployment and ReplicaSet version went away in Kubernetes 1.16.
  const legacy = (group === "apps" && version !== "v1") || group === "extensions"
  return {
    group,
    version,
    kind,
    apiVersion,
    schema: asSchema(schema),
    preferred,
    ...(legacy
      ? {
          deprecation: `${apiVersion} ${kind} is deprecated in v1.9+, unavailable in v1.16+; use apps/v1 ${kind}`,
        }
      : {}),
    ...(resource === undefined
      ? {}
      : {
          resource: {
            name: resource.name,
            singularName: resource.singularName,
            namespaced: resource.namespaced,
            shortNames: resource.shortNames ?? [],
            categories: resource.categories ?? [],
            subresources: resource.subresources ?? [],
            listKind: `${kind}List`,
            listSchema: asSchema(resource.list),
          },
        }),
  }
}

const deployments = (list: Schema.Top): ResourceOptions => ({
  name: "deployments",
  singularName: "deployment",
  namespaced: true,
  shortNames: ["deploy"],
  categories: ["all"],
  subresources: ["status", "scale"],
  list,
})
const replicasets = (list: Schema.Top): ResourceOptions => ({
  name: "replicasets",
  singularName: "replicaset",
  namespaced: true,
  shortNames: ["rs"],
  categories: ["all"],
  subresources: ["status", "scale"],
  list,
})

/** Every kind the object model knows, preferred versions first within each group. */
export const kinds: ReadonlyArray<KindInfo> = [
  entry("v1", "Namespace", CoreV1.Namespace, true, {
    name: "namespaces",
    singularName: "namespace",
    namespaced: false,
    shortNames: ["ns"],
    subresources: ["status", "finalize"],
    list: CoreV1.NamespaceList,
  }),
  entry("v1", "Pod", CoreV1.Pod, true, {
    name: "pods",
    singularName: "pod",
    namespaced: true,
    shortNames: ["po"],
    categories: ["all"],
    subresources: ["status", "log", "binding"],
    list: CoreV1.PodList,
  }),
  entry("v1", "Node", CoreV1.Node, true, {
    name: "nodes",
    singularName: "node",
    namespaced: false,
    shortNames: ["no"],
    subresources: ["status"],
    list: CoreV1.NodeList,
  }),
  entry("v1", "Service", CoreV1.Service, true, {
    name: "services",
    singularName: "service",
    namespaced: true,
    shortNames: ["svc"],
    categories: ["all"],
    subresources: ["status"],
    list: CoreV1.ServiceList,
  }),
  entry("v1", "Endpoints", CoreV1.Endpoints, true, {
    name: "endpoints",
    singularName: "endpoints",
    namespaced: true,
    shortNames: ["ep"],
    list: CoreV1.EndpointsList,
  }),
  entry("v1", "Event", CoreV1.Event, true, {
    name: "events",
    singularName: "event",
    namespaced: true,
    shortNames: ["ev"],
    list: CoreV1.EventList,
  }),
  // Posted to pods/binding only (no REST resource of its own here).
  entry("v1", "Binding", CoreV1.Binding, true),
  entry("v1", "Status", MetaV1.Status, true),
  entry("v1", "DeleteOptions", MetaV1.DeleteOptions, true),
  entry("meta.k8s.io/v1", "Table", MetaV1.Table, true),
  entry("meta.k8s.io/v1", "PartialObjectMetadata", MetaV1.PartialObjectMetadata, true),
  entry("meta.k8s.io/v1", "DeleteOptions", MetaV1.DeleteOptions, true),
  entry("apps/v1", "Deployment", AppsV1.Deployment, true, deployments(AppsV1.DeploymentList)),
  entry("apps/v1", "ReplicaSet", AppsV1.ReplicaSet, true, replicasets(AppsV1.ReplicaSetList)),
  entry(
    "apps/v1beta2",
    "Deployment",
    AppsV1beta2.Deployment,
    false,
    deployments(AppsV1beta2.DeploymentList),
  ),
  entry(
    "apps/v1beta2",
    "ReplicaSet",
    AppsV1beta2.ReplicaSet,
    false,
    replicasets(AppsV1beta2.ReplicaSetList),
  ),
  entry(
    "apps/v1beta1",
    "Deployment",
    AppsV1beta1.Deployment,
    false,
    deployments(AppsV1beta1.DeploymentList),
  ),
  entry(
    "extensions/v1beta1",
    "Deployment",
    ExtensionsV1beta1.Deployment,
    true,
    deployments(ExtensionsV1beta1.DeploymentList),
  ),
  entry(
    "extensions/v1beta1",
    "ReplicaSet",
    ExtensionsV1beta1.ReplicaSet,
    true,
    replicasets(ExtensionsV1beta1.ReplicaSetList),
  ),
  entry("autoscaling/v1", "Scale", AutoscalingV1.Scale, true),
  entry("coordination.k8s.io/v1", "Lease", CoordinationV1.Lease, true, {
    name: "leases",
    singularName: "lease",
    namespaced: true,
    list: CoordinationV1.LeaseList,
  }),
]

const byApiVersionKind = new Map<string, KindInfo>()
for (const info of kinds) {
  byApiVersionKind.set(`${info.apiVersion}\u0000${info.kind}`, info)
  if (info.resource !== undefined) {
    byApiVersionKind.set(`${info.apiVersion}\u0000${info.resource.listKind}`, {
      group: info.group,
      version: info.version,
      kind: info.resource.listKind,
      apiVersion: info.apiVersion,
      schema: info.resource.listSchema,
      preferred: info.preferred,
    })
  }
}

/** The kind (or list kind) registered for `apiVersion` and `kind`. */
export const lookupKind = (apiVersion: string, kind: string): KindInfo | undefined =>
  byApiVersionKind.get(`${apiVersion}\u0000${kind}`)

/**
 * The version a kind is converted to and stored in: apps/v1 for Deployments and
 * ReplicaSets of every legacy group, the kind's own version otherwise.
 */
export const preferredKind = (apiVersion: string, kind: string): KindInfo | undefined => {
  const info = lookupKind(apiVersion, kind)
  if (info === undefined) return undefined
  if (info.group === "extensions" || (info.group === "apps" && info.version !== "v1")) {
    return lookupKind("apps/v1", kind) ?? info
  }
  return info
}

/**
 * Finds a resource the way `kubectl get` does: by plural, singular, short
 * name or kind, optionally qualified by group (`deployments.apps`, `deploy`),
 * preferring each group's preferred version. Legacy versions are only found
 * when `group` names them.
 */
export const resolveResource = (name: string): KindInfo | undefined => {
  const lower = name.toLowerCase()
  const dot = lower.indexOf(".")
  const base = dot < 0 ? lower : lower.slice(0, dot)
  const group = dot < 0 ? undefined : lower.slice(dot + 1)
  return kinds.find(
    (info) =>
      info.resource !== undefined &&
      info.preferred &&
      // extensions/v1beta1 only when asked for by group: apps/v1 wins otherwise.
      (group === undefined ? info.group !== "extensions" : info.group === group) &&
      (info.resource.name === base ||
        info.resource.singularName === base ||
        info.kind.toLowerCase() === base ||
        info.resource.shortNames.includes(base)),
  )
}

/** The resource of `apiVersion` named `resource` (a REST path's segment). */
export const lookupResource = (apiVersion: string, resource: string): KindInfo | undefined =>
  kinds.find((info) => info.apiVersion === apiVersion && info.resource?.name === resource)

/** The group versions served, in discovery order (preferred first within a group). */
export const groupVersions = (): ReadonlyArray<{
  group: string
  versions: ReadonlyArray<string>
}> => {
  const groups = new Map<string, Array<string>>()
  for (const info of kinds) {
    if (info.resource === undefined) continue
    const versions = groups.get(info.group) ?? []
    if (!versions.includes(info.version)) versions.push(info.version)
    groups.set(info.group, versions)
  }
  return [...groups].map(([group, versions]) => ({ group, versions }))
}
