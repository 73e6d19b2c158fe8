/**
 * The resources the typed client knows: where each lives in the REST API
 * and which TypeScript type its objects have (from `@flotilla/api`).
 */
import type {
  Deployment,
  Endpoints,
  Event,
  Lease,
  Namespace,
  Node,
  Pod,
  ReplicaSet,
  Service,
} from "@flotilla/api"

export interface ResourceDescriptor<T> {
  readonly group: string
  readonly version: string
  /** `group/version`, or `v1` for the core group. */
  readonly apiVersion: string
  readonly kind: string
  /** Plural, as in the path: `pods`. */
  readonly plural: string
  readonly namespaced: boolean
  /** Phantom: the object type. */
  readonly _type?: T
}

const descriptor = <T>(
  apiVersion: string,
  kind: string,
  plural: string,
  namespaced: boolean,
): ResourceDescriptor<T> => {
  const slash = apiVersion.indexOf("/")
  return {
    group: slash < 0 ? "" : apiVersion.slice(0, slash),
    version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
    apiVersion,
    kind,
    plural,
    namespaced,
  }
}

export const resources = {
  namespaces: descriptor<Namespace>("v1", "Namespace", "namespaces", false),
  pods: descriptor<Pod>("v1", "Pod", "pods", true),
  nodes: descriptor<Node>("v1", "Node", "nodes", false),
  services: descriptor<Service>("v1", "Service", "services", true),
  endpoints: descriptor<Endpoints>("v1", "Endpoints", "endpoints", true),
  events: descriptor<Event>("v1", "Event", "events", true),
  deployments: descriptor<Deployment>("apps/v1", "Deployment", "deployments", true),
  replicasets: descriptor<ReplicaSet>("apps/v1", "ReplicaSet", "replicasets", true),
  leases: descriptor<Lease>("coordination.k8s.io/v1", "Lease", "leases", true),
} as const

export type Resources = typeof resources

/** The path of a resource's collection (`/apis/apps/v1/namespaces/ns/deployments`) or of one object. */
export const resourcePath = (
  r: ResourceDescriptor<unknown>,
  namespace: string,
  name?: string,
  subresource?: string,
): string => {
  const root = r.group === "" ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`
  const ns = r.namespaced && namespace !== "" ? `/namespaces/${encodeURIComponent(namespace)}` : ""
  const item = name === undefined ? "" : `/${encodeURIComponent(name)}`
  const sub = subresource === undefined || subresource === "" ? "" : `/${subresource}`
  return `${root}${ns}/${r.plural}${item}${sub}`
}
