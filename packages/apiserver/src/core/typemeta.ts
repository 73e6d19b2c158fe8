/**
 * How the fields of each kind merge: the `patchStrategy` / `patchMergeKey`
 * tags strategic merge patch reads from Kubernetes' Go types, and the
 * `listType` / `listMapKeys` markers server-side apply reads from its
 * schemas. A field not described here is a struct or map merged key by key
 * when it holds an object, and replaced as a whole (atomic) when it holds a
 * list, which is what both mechanisms do for untagged fields.
 */

/** How a list merges. */
export type ListType =
  /** Items are identified by `keys`; strategic merge patch matches on `mergeKey`. */
  | {
      readonly kind: "map"
      readonly keys: ReadonlyArray<string>
      readonly mergeKey: string
      /** Values a key field has when an item leaves it out (its schema default, e.g. `protocol: TCP`). */
      readonly keyDefaults?: Readonly<Record<string, unknown>>
    }
  /** A set of scalars: merged by union. */
  | { readonly kind: "set" }
  /** Replaced as a whole. */
  | { readonly kind: "atomic" }

export interface TypeNode {
  /** Fields with their own rules; others get the default. */
  readonly fields?: Readonly<Record<string, TypeNode>>
  /** The type of a map's values (labels, resources, ...). */
  readonly values?: TypeNode
  /** For a list field: how it merges. */
  readonly list?: ListType
  /** For a list field: the type of its items. */
  readonly elem?: TypeNode
  /** `patchStrategy=retainKeys`: a patch with `$retainKeys` clears keys not listed. */
  readonly retainKeys?: boolean
  /** A struct or map replaced as a whole (`structType=atomic`, e.g. label selectors' requirements). */
  readonly atomic?: boolean
}

/** The default: objects merge key by key, lists are atomic. */
export const unknownType: TypeNode = {}

export const fieldType = (node: TypeNode | undefined, name: string): TypeNode =>
  node?.fields?.[name] ?? node?.values ?? unknownType

const mapList = (
  keys: ReadonlyArray<string>,
  elem: TypeNode = {},
  mergeKey = keys[0] ?? "",
  keyDefaults?: Readonly<Record<string, unknown>>,
): TypeNode => ({
  list: { kind: "map", keys, mergeKey, ...(keyDefaults === undefined ? {} : { keyDefaults }) },
  elem,
})
const set: TypeNode = { list: { kind: "set" } }
const atomicList: TypeNode = { list: { kind: "atomic" } }

const ownerReferences = mapList(["uid"])
export const objectMetaType: TypeNode = {
  fields: {
    finalizers: set,
    ownerReferences,
    managedFields: atomicList,
  },
}

const container: TypeNode = {
  fields: {
    ports: mapList(["containerPort", "protocol"], {}, "containerPort", { protocol: "TCP" }),
    env: mapList(["name"]),
    volumeMounts: mapList(["mountPath"]),
    volumeDevices: mapList(["devicePath"]),
    resizePolicy: mapList(["resourceName"]),
  },
}

const podSpec: TypeNode = {
  fields: {
    containers: mapList(["name"], container),
    initContainers: mapList(["name"], container),
    ephemeralContainers: mapList(["name"], container),
    volumes: { ...mapList(["name"], { retainKeys: true }) },
    imagePullSecrets: mapList(["name"]),
    hostAliases: mapList(["ip"]),
    topologySpreadConstraints: mapList(["topologyKey", "whenUnsatisfiable"], {}, "topologyKey"),
    schedulingGates: mapList(["name"]),
    resourceClaims: mapList(["name"], { retainKeys: true }),
    readinessGates: atomicList,
    tolerations: atomicList,
  },
}

const conditions = mapList(["type"])

const podStatus: TypeNode = {
  fields: {
    conditions,
    podIPs: mapList(["ip"]),
    hostIPs: mapList(["ip"]),
  },
}

const podTemplateSpec: TypeNode = { fields: { metadata: objectMetaType, spec: podSpec } }

const labelSelector: TypeNode = { atomic: true }

const deployment: TypeNode = {
  fields: {
    metadata: objectMetaType,
    spec: {
      fields: {
        template: podTemplateSpec,
        strategy: { retainKeys: true },
        selector: labelSelector,
      },
    },
    status: { fields: { conditions } },
  },
}

const replicaSet: TypeNode = {
  fields: {
    metadata: objectMetaType,
    spec: { fields: { template: podTemplateSpec, selector: labelSelector } },
    status: { fields: { conditions } },
  },
}

const pod: TypeNode = { fields: { metadata: objectMetaType, spec: podSpec, status: podStatus } }

const node: TypeNode = {
  fields: {
    metadata: objectMetaType,
    spec: { fields: { podCIDRs: set, taints: atomicList } },
    status: {
      fields: {
        conditions,
        addresses: mapList(["type"]),
        images: atomicList,
        volumesInUse: atomicList,
        volumesAttached: atomicList,
      },
    },
  },
}

const service: TypeNode = {
  fields: {
    metadata: objectMetaType,
    spec: {
      fields: {
        ports: mapList(["port", "protocol"], {}, "port", { protocol: "TCP" }),
        selector: { atomic: false },
        clusterIPs: atomicList,
        externalIPs: atomicList,
      },
    },
    status: { fields: { conditions } },
  },
}

const namespace: TypeNode = {
  fields: {
    metadata: objectMetaType,
    spec: { fields: { finalizers: atomicList } },
    status: { fields: { conditions } },
  },
}

const plain: TypeNode = { fields: { metadata: objectMetaType } }

const byResource: Readonly<Record<string, TypeNode>> = {
  deployments: deployment,
  replicasets: replicaSet,
  pods: pod,
  nodes: node,
  services: service,
  namespaces: namespace,
}

/** The merge rules of a resource's objects. */
export const typeOf = (resource: string): TypeNode => byResource[resource] ?? plain

/** The rules of autoscaling/v1 Scale (the scale subresource): nothing special. */
export const scaleType: TypeNode = plain
