/**
 * Defaulting, as Kubernetes' `SetDefaults_*` functions do it for the fields
 * this model has. Each version has its own defaults (apps/v1beta1 defaults the
 * selector from the template's labels and keeps 2 revisions; extensions/v1beta1
 * surges by 1 and keeps every revision), so defaulting runs on the object in
 * the version it arrived in, before conversion. Pure: objects in, new objects
 * out; a field that is set is never changed.
 */
import type * as AppsV1 from "./apps/v1.ts"
import type * as AppsV1beta1 from "./apps/v1beta1.ts"
import type { KubeObject } from "./codec.ts"
import type * as CoreV1 from "./core/v1.ts"
import type { ObjectMeta } from "./meta/v1.ts"

/** Go's `math.MaxInt32`: extensions/v1beta1's "no deadline" and "keep every revision". */
export const MaxInt32 = 2147483647

// ---------------------------------------------------------------------------
// core/v1

// The image reference grammar of distribution/reference, which Kubernetes'
// ParseImageName applies: an optional domain (host[:port]), lower-case path
// components, an optional tag and an optional digest.
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?`
const pathComponent = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
const imageReference = new RegExp(
  `^(?:${domain}/)?${pathComponent}(?:/${pathComponent})*` +
    "(?::[\\w][\\w.-]{0,127})?" +
    "(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$",
)

/**
 * `IfNotPresent` for an image pinned by tag (other than `latest`) or digest,
 * `Always` for `:latest` or no tag at all. A reference Kubernetes cannot
 * parse (empty, upper-case path, ...) has no tag to it: `IfNotPresent`.
 */
export const defaultImagePullPolicy = (image: string): string => {
  if (!imageReference.test(image)) return "IfNotPresent"
  if (image.includes("@")) return "IfNotPresent"
  const lastSlash = image.lastIndexOf("/")
  const colon = image.indexOf(":", lastSlash + 1)
  const tag = colon < 0 ? "latest" : image.slice(colon + 1)
  return tag === "latest" ? "Always" : "IfNotPresent"
}

const defaultProbe = (probe: CoreV1.Probe): CoreV1.Probe => ({
  ...probe,
  ...(probe.httpGet === undefined
    ? {}
    : {
        httpGet: {
          ...probe.httpGet,
          path: probe.httpGet.path ?? "/",
          scheme: probe.httpGet.scheme ?? "HTTP",
        },
      }),
  timeoutSeconds: probe.timeoutSeconds ?? 1,
  periodSeconds: probe.periodSeconds ?? 10,
  successThreshold: probe.successThreshold ?? 1,
  failureThreshold: probe.failureThreshold ?? 3,
})

const defaultHandler = (handler: CoreV1.LifecycleHandler): CoreV1.LifecycleHandler =>
  handler.httpGet === undefined
    ? handler
    : {
        ...handler,
        httpGet: {
          ...handler.httpGet,
          path: handler.httpGet.path ?? "/",
          scheme: handler.httpGet.scheme ?? "HTTP",
        },
      }

/** Requests default to limits for every resource limited but not requested. */
const defaultResources = (
  resources: CoreV1.ResourceRequirements | undefined,
): CoreV1.ResourceRequirements | undefined => {
  if (resources?.limits === undefined) return resources
  const requests = { ...resources.limits, ...resources.requests }
  return { ...resources, requests }
}

export const defaultContainer = (
  container: CoreV1.Container,
  hostNetwork: boolean,
): CoreV1.Container => {
  const resources = defaultResources(container.resources)
  return {
    ...container,
    ...(container.ports === undefined
      ? {}
      : {
          ports: container.ports.map((port) => ({
            ...port,
            // With host networking the container's ports are the host's ports.
            ...(hostNetwork && port.hostPort === undefined ? { hostPort: port.containerPort } : {}),
            protocol: port.protocol ?? "TCP",
          })),
        }),
    ...(container.env === undefined
      ? {}
      : {
          env: container.env.map((env) =>
            env.valueFrom?.fieldRef === undefined
              ? env
              : {
                  ...env,
                  valueFrom: {
                    ...env.valueFrom,
                    fieldRef: {
                      ...env.valueFrom.fieldRef,
                      apiVersion: env.valueFrom.fieldRef.apiVersion ?? "v1",
                    },
                  },
                },
          ),
        }),
    ...(resources === undefined ? {} : { resources }),
    ...(container.livenessProbe === undefined
      ? {}
      : { livenessProbe: defaultProbe(container.livenessProbe) }),
    ...(container.readinessProbe === undefined
      ? {}
      : { readinessProbe: defaultProbe(container.readinessProbe) }),
    ...(container.startupProbe === undefined
      ? {}
      : { startupProbe: defaultProbe(container.startupProbe) }),
    ...(container.lifecycle === undefined
      ? {}
      : {
          lifecycle: {
            ...(container.lifecycle.postStart === undefined
              ? {}
              : { postStart: defaultHandler(container.lifecycle.postStart) }),
            ...(container.lifecycle.preStop === undefined
              ? {}
              : { preStop: defaultHandler(container.lifecycle.preStop) }),
          },
        }),
    terminationMessagePath: container.terminationMessagePath ?? "/dev/termination-log",
    terminationMessagePolicy: container.terminationMessagePolicy ?? "File",
    imagePullPolicy: container.imagePullPolicy ?? defaultImagePullPolicy(container.image ?? ""),
  }
}

const defaultVolume = (volume: CoreV1.Volume): CoreV1.Volume => {
  const hasSource =
    volume.hostPath !== undefined ||
    volume.emptyDir !== undefined ||
    volume.secret !== undefined ||
    volume.configMap !== undefined ||
    volume.persistentVolumeClaim !== undefined
  return {
    ...volume,
    // A volume without a source is an emptyDir.
    ...(hasSource ? {} : { emptyDir: {} }),
    ...(volume.secret === undefined
      ? {}
      : { secret: { ...volume.secret, defaultMode: volume.secret.defaultMode ?? 0o644 } }),
    ...(volume.configMap === undefined
      ? {}
      : {
          configMap: { ...volume.configMap, defaultMode: volume.configMap.defaultMode ?? 0o644 },
        }),
  }
}

export const defaultPodSpec = (spec: CoreV1.PodSpec): CoreV1.PodSpec => {
  const hostNetwork = spec.hostNetwork === true
  return {
    ...spec,
    ...(spec.volumes === undefined ? {} : { volumes: spec.volumes.map(defaultVolume) }),
    ...(spec.initContainers === undefined
      ? {}
      : { initContainers: spec.initContainers.map((c) => defaultContainer(c, hostNetwork)) }),
    containers: spec.containers.map((c) => defaultContainer(c, hostNetwork)),
    restartPolicy: spec.restartPolicy ?? "Always",
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30,
    dnsPolicy: spec.dnsPolicy ?? "ClusterFirst",
    securityContext: spec.securityContext ?? {},
    schedulerName: spec.schedulerName ?? "default-scheduler",
    enableServiceLinks: spec.enableServiceLinks ?? true,
  }
}

export const defaultPodTemplateSpec = (
  template: CoreV1.PodTemplateSpec,
): CoreV1.PodTemplateSpec => ({ ...template, spec: defaultPodSpec(template.spec) })

export const defaultPod = (pod: CoreV1.Pod): CoreV1.Pod => ({
  ...pod,
  spec: defaultPodSpec(pod.spec),
})

export const defaultService = (service: CoreV1.Service): CoreV1.Service => {
  const spec = service.spec
  const type = spec.type ?? "ClusterIP"
  const sessionAffinity = spec.sessionAffinity ?? "None"
  const external = type === "NodePort" || type === "LoadBalancer"
  return {
    ...service,
    spec: {
      ...spec,
      ...(spec.ports === undefined
        ? {}
        : {
            ports: spec.ports.map((port) => ({
              ...port,
              protocol: port.protocol ?? "TCP",
              // An unset (or zero/empty) targetPort means "the same as port".
              targetPort:
                port.targetPort === undefined || port.targetPort === 0 || port.targetPort === ""
                  ? port.port
                  : port.targetPort,
            })),
          }),
      type,
      sessionAffinity,
      ...(sessionAffinity === "ClientIP"
        ? {
            sessionAffinityConfig: {
              ...spec.sessionAffinityConfig,
              clientIP: {
                ...spec.sessionAffinityConfig?.clientIP,
                timeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800,
              },
            },
          }
        : {}),
      ...(external ? { externalTrafficPolicy: spec.externalTrafficPolicy ?? "Cluster" } : {}),
      ...(type === "LoadBalancer"
        ? { allocateLoadBalancerNodePorts: spec.allocateLoadBalancerNodePorts ?? true }
        : {}),
      ...(type === "ExternalName"
        ? {}
        : { internalTrafficPolicy: spec.internalTrafficPolicy ?? "Cluster" }),
    },
  }
}

/** Namespaces get the immutable `kubernetes.io/metadata.name` label and phase Active. */
export const defaultNamespace = (namespace: CoreV1.Namespace): CoreV1.Namespace => {
  const name = namespace.metadata.name
  return {
    ...namespace,
    ...(name === undefined || name === ""
      ? {}
      : {
          metadata: {
            ...namespace.metadata,
            labels: { ...namespace.metadata.labels, "kubernetes.io/metadata.name": name },
          },
        }),
    status: { ...namespace.status, phase: namespace.status.phase ?? "Active" },
  }
}

/** A node that reports no allocatable resources can allocate its whole capacity. */
export const defaultNode = (node: CoreV1.Node): CoreV1.Node =>
  node.status.allocatable === undefined && node.status.capacity !== undefined
    ? { ...node, status: { ...node.status, allocatable: node.status.capacity } }
    : node

// ---------------------------------------------------------------------------
// apps

interface DeploymentDefaults {
  readonly selectorFromTemplate: boolean
  readonly maxSurge: number | string
  readonly maxUnavailable: number | string
  readonly revisionHistoryLimit: number
  readonly progressDeadlineSeconds: number
  /** extensions/v1beta1 also fills rollingUpdate when it is given under another type. */
  readonly rollingUpdateWhenPresent: boolean
}

const deploymentDefaults: Record<string, DeploymentDefaults> = {
  "apps/v1": {
    selectorFromTemplate: false,
    maxSurge: "25%",
    maxUnavailable: "25%",
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
    rollingUpdateWhenPresent: false,
  },
  "apps/v1beta2": {
    selectorFromTemplate: false,
    maxSurge: "25%",
    maxUnavailable: "25%",
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
    rollingUpdateWhenPresent: false,
  },
  "apps/v1beta1": {
    selectorFromTemplate: true,
    maxSurge: "25%",
    maxUnavailable: "25%",
    revisionHistoryLimit: 2,
    progressDeadlineSeconds: 600,
    rollingUpdateWhenPresent: false,
  },
  "extensions/v1beta1": {
    selectorFromTemplate: true,
    maxSurge: 1,
    maxUnavailable: 1,
    revisionHistoryLimit: MaxInt32,
    progressDeadlineSeconds: MaxInt32,
    rollingUpdateWhenPresent: true,
  },
}

/**
 * The legacy versions default the selector (and, when the object has no labels,
 * its labels) from the template's labels.
 */
const selectorAndLabelsFromTemplate = <
  T extends {
    readonly metadata: ObjectMeta
    readonly spec: {
      readonly selector?: AppsV1.DeploymentSpec["selector"]
      readonly template: CoreV1.PodTemplateSpec
    }
  },
>(
  object: T,
): T => {
  const labels = object.spec.template.metadata.labels
  if (labels === undefined) return object
  const hasLabels =
    object.metadata.labels !== undefined && Object.keys(object.metadata.labels).length > 0
  return {
    ...object,
    metadata: hasLabels ? object.metadata : { ...object.metadata, labels },
    spec:
      object.spec.selector === undefined
        ? { ...object.spec, selector: { matchLabels: labels } }
        : object.spec,
  }
}

type AnyDeployment = AppsV1.Deployment | AppsV1beta1.Deployment

/** Defaults a Deployment of any version with that version's defaults. */
export const defaultDeployment = <D extends AnyDeployment>(deployment: D): D => {
  const d = deploymentDefaults[deployment.apiVersion] ?? deploymentDefaults["apps/v1"]!
  const withSelector = d.selectorFromTemplate
    ? selectorAndLabelsFromTemplate(deployment)
    : deployment
  const spec = withSelector.spec
  const strategy = spec.strategy ?? {}
  const type = strategy.type ?? "RollingUpdate"
  const fillRollingUpdate =
    type === "RollingUpdate" || (d.rollingUpdateWhenPresent && strategy.rollingUpdate !== undefined)
  return {
    ...withSelector,
    spec: {
      ...spec,
      replicas: spec.replicas ?? 1,
      template: defaultPodTemplateSpec(spec.template),
      strategy: {
        ...strategy,
        type,
        ...(fillRollingUpdate
          ? {
              rollingUpdate: {
                ...strategy.rollingUpdate,
                maxUnavailable: strategy.rollingUpdate?.maxUnavailable ?? d.maxUnavailable,
                maxSurge: strategy.rollingUpdate?.maxSurge ?? d.maxSurge,
              },
            }
          : {}),
      },
      revisionHistoryLimit: spec.revisionHistoryLimit ?? d.revisionHistoryLimit,
      progressDeadlineSeconds: spec.progressDeadlineSeconds ?? d.progressDeadlineSeconds,
    },
  }
}

/** Defaults a ReplicaSet of any version (extensions/v1beta1 also defaults its selector). */
export const defaultReplicaSet = <R extends AppsV1.ReplicaSet | { apiVersion: string }>(
  replicaSet: R,
): R => {
  const rs = replicaSet as unknown as AppsV1.ReplicaSet
  const apiVersion: string = rs.apiVersion
  const withSelector = apiVersion === "extensions/v1beta1" ? selectorAndLabelsFromTemplate(rs) : rs
  return {
    ...withSelector,
    spec: {
      ...withSelector.spec,
      replicas: withSelector.spec.replicas ?? 1,
      template: defaultPodTemplateSpec(withSelector.spec.template),
    },
  } as unknown as R
}

// ---------------------------------------------------------------------------

/**
 * Applies the defaults of an object's own version. Kinds without defaults
 * (Endpoints, Event, Lease, ...) come back unchanged.
 */
export const applyDefaults = <O extends KubeObject>(object: O): O => {
  const o = object as unknown as KubeObject
  switch (o.kind) {
    case "Pod":
      return o.apiVersion === "v1" ? (defaultPod(o as CoreV1.Pod) as unknown as O) : object
    case "Service":
      return o.apiVersion === "v1" ? (defaultService(o as CoreV1.Service) as unknown as O) : object
    case "Namespace":
      return o.apiVersion === "v1"
        ? (defaultNamespace(o as CoreV1.Namespace) as unknown as O)
        : object
    case "Node":
      return o.apiVersion === "v1" ? (defaultNode(o as CoreV1.Node) as unknown as O) : object
    case "Deployment":
      return o.apiVersion in deploymentDefaults
        ? (defaultDeployment(o as AppsV1.Deployment) as unknown as O)
        : object
    case "ReplicaSet":
      return o.apiVersion in deploymentDefaults && o.apiVersion !== "apps/v1beta1"
        ? (defaultReplicaSet(o as AppsV1.ReplicaSet) as unknown as O)
        : object
    default:
      return object
  }
}
