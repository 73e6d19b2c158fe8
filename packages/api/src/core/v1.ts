/**
 * core/v1 (the legacy group, `apiVersion: v1`): Namespace, Pod, Node, Service,
 * Endpoints, Event and the structures inside them, in Kubernetes' JSON shape.
 *
 * Fields Go always encodes (no `omitempty`) are required in the types and
 * decode to their zero values when absent; every other field is an
 * `optionalKey`. Enumerations (`restartPolicy`, `protocol`, ...) are strings on
 * the wire, as in Go; validation reports unsupported values.
 */
import { Schema } from "effect"
import { IntOrString } from "../intstr.ts"
import { LabelSelector } from "../labels.ts"
import { makeList, RequiredObjectMeta } from "../meta/v1.ts"
import {
  Int32,
  Int64,
  MicroTime,
  RequiredBoolean,
  RequiredInt32,
  RequiredString,
  ResourceList,
  ResourceQuantity,
  StringMap,
  Time,
  TypeField,
  withZero,
} from "../wire.ts"

const opt = Schema.optionalKey
const Strings = Schema.Array(Schema.String)

// ---------------------------------------------------------------------------
// References

/** A reference to any object (events, endpoints' targets). */
export const ObjectReference = Schema.Struct({
  kind: opt(Schema.String),
  namespace: opt(Schema.String),
  name: opt(Schema.String),
  uid: opt(Schema.String),
  apiVersion: opt(Schema.String),
  resourceVersion: opt(Schema.String),
  fieldPath: opt(Schema.String),
})
export interface ObjectReference extends Schema.Schema.Type<typeof ObjectReference> {}

export const LocalObjectReference = Schema.Struct({ name: opt(Schema.String) })
export interface LocalObjectReference extends Schema.Schema.Type<typeof LocalObjectReference> {}

// ---------------------------------------------------------------------------
// Namespace

export const NamespaceSpec = Schema.Struct({ finalizers: opt(Strings) })
export interface NamespaceSpec extends Schema.Schema.Type<typeof NamespaceSpec> {}

export const NamespaceCondition = Schema.Struct({
  type: RequiredString,
  status: RequiredString,
  lastTransitionTime: opt(Time),
  reason: opt(Schema.String),
  message: opt(Schema.String),
})
export interface NamespaceCondition extends Schema.Schema.Type<typeof NamespaceCondition> {}

export const NamespaceStatus = Schema.Struct({
  phase: opt(Schema.String),
  conditions: opt(Schema.Array(NamespaceCondition)),
})
export interface NamespaceStatus extends Schema.Schema.Type<typeof NamespaceStatus> {}

export const Namespace = Schema.Struct({
  apiVersion: TypeField("v1"),
  kind: TypeField("Namespace"),
  metadata: RequiredObjectMeta,
  spec: NamespaceSpec.pipe(withZero({})),
  status: NamespaceStatus.pipe(withZero({})),
})
export interface Namespace extends Schema.Schema.Type<typeof Namespace> {}

// ---------------------------------------------------------------------------
// Containers

export const ContainerPort = Schema.Struct({
  name: opt(Schema.String),
  hostPort: opt(Int32),
  containerPort: RequiredInt32,
  protocol: opt(Schema.String),
  hostIP: opt(Schema.String),
})
export interface ContainerPort extends Schema.Schema.Type<typeof ContainerPort> {}

export const ObjectFieldSelector = Schema.Struct({
  apiVersion: opt(Schema.String),
  fieldPath: RequiredString,
})
export interface ObjectFieldSelector extends Schema.Schema.Type<typeof ObjectFieldSelector> {}

export const ResourceFieldSelector = Schema.Struct({
  containerName: opt(Schema.String),
  resource: RequiredString,
  divisor: opt(ResourceQuantity),
})
export interface ResourceFieldSelector extends Schema.Schema.Type<typeof ResourceFieldSelector> {}

export const ConfigMapKeySelector = Schema.Struct({
  name: opt(Schema.String),
  key: RequiredString,
  optional: opt(Schema.Boolean),
})
export interface ConfigMapKeySelector extends Schema.Schema.Type<typeof ConfigMapKeySelector> {}

export const SecretKeySelector = Schema.Struct({
  name: opt(Schema.String),
  key: RequiredString,
  optional: opt(Schema.Boolean),
})
export interface SecretKeySelector extends Schema.Schema.Type<typeof SecretKeySelector> {}

export const EnvVarSource = Schema.Struct({
  fieldRef: opt(ObjectFieldSelector),
  resourceFieldRef: opt(ResourceFieldSelector),
  configMapKeyRef: opt(ConfigMapKeySelector),
  secretKeyRef: opt(SecretKeySelector),
})
export interface EnvVarSource extends Schema.Schema.Type<typeof EnvVarSource> {}

export const EnvVar = Schema.Struct({
  name: RequiredString,
  value: opt(Schema.String),
  valueFrom: opt(EnvVarSource),
})
export interface EnvVar extends Schema.Schema.Type<typeof EnvVar> {}

export const ConfigMapEnvSource = Schema.Struct({
  name: opt(Schema.String),
  optional: opt(Schema.Boolean),
})
export const SecretEnvSource = ConfigMapEnvSource

export const EnvFromSource = Schema.Struct({
  prefix: opt(Schema.String),
  configMapRef: opt(ConfigMapEnvSource),
  secretRef: opt(SecretEnvSource),
})
export interface EnvFromSource extends Schema.Schema.Type<typeof EnvFromSource> {}

export const ResourceRequirements = Schema.Struct({
  limits: opt(ResourceList),
  requests: opt(ResourceList),
})
export interface ResourceRequirements extends Schema.Schema.Type<typeof ResourceRequirements> {}

export const VolumeMount = Schema.Struct({
  name: RequiredString,
  readOnly: opt(Schema.Boolean),
  mountPath: RequiredString,
  subPath: opt(Schema.String),
  mountPropagation: opt(Schema.String),
  subPathExpr: opt(Schema.String),
})
export interface VolumeMount extends Schema.Schema.Type<typeof VolumeMount> {}

export const ExecAction = Schema.Struct({ command: opt(Strings) })
export interface ExecAction extends Schema.Schema.Type<typeof ExecAction> {}

export const HTTPHeader = Schema.Struct({ name: RequiredString, value: RequiredString })
export interface HTTPHeader extends Schema.Schema.Type<typeof HTTPHeader> {}

export const HTTPGetAction = Schema.Struct({
  path: opt(Schema.String),
  port: IntOrString.pipe(withZero(0)),
  host: opt(Schema.String),
  scheme: opt(Schema.String),
  httpHeaders: opt(Schema.Array(HTTPHeader)),
})
export interface HTTPGetAction extends Schema.Schema.Type<typeof HTTPGetAction> {}

export const TCPSocketAction = Schema.Struct({
  port: IntOrString.pipe(withZero(0)),
  host: opt(Schema.String),
})
export interface TCPSocketAction extends Schema.Schema.Type<typeof TCPSocketAction> {}

export const GRPCAction = Schema.Struct({
  port: RequiredInt32,
  service: opt(Schema.String),
})
export interface GRPCAction extends Schema.Schema.Type<typeof GRPCAction> {}

/** Liveness, readiness and startup probes: exactly one handler plus timing. */
export const Probe = Schema.Struct({
  exec: opt(ExecAction),
  httpGet: opt(HTTPGetAction),
  tcpSocket: opt(TCPSocketAction),
  grpc: opt(GRPCAction),
  initialDelaySeconds: opt(Int32),
  timeoutSeconds: opt(Int32),
  periodSeconds: opt(Int32),
  successThreshold: opt(Int32),
  failureThreshold: opt(Int32),
  terminationGracePeriodSeconds: opt(Int64),
})
export interface Probe extends Schema.Schema.Type<typeof Probe> {}

export const SleepAction = Schema.Struct({ seconds: Int64.pipe(withZero(0)) })
export interface SleepAction extends Schema.Schema.Type<typeof SleepAction> {}

export const LifecycleHandler = Schema.Struct({
  exec: opt(ExecAction),
  httpGet: opt(HTTPGetAction),
  tcpSocket: opt(TCPSocketAction),
  sleep: opt(SleepAction),
})
export interface LifecycleHandler extends Schema.Schema.Type<typeof LifecycleHandler> {}

export const Lifecycle = Schema.Struct({
  postStart: opt(LifecycleHandler),
  preStop: opt(LifecycleHandler),
})
export interface Lifecycle extends Schema.Schema.Type<typeof Lifecycle> {}

export const Capabilities = Schema.Struct({ add: opt(Strings), drop: opt(Strings) })
export interface Capabilities extends Schema.Schema.Type<typeof Capabilities> {}

export const SecurityContext = Schema.Struct({
  capabilities: opt(Capabilities),
  privileged: opt(Schema.Boolean),
  runAsUser: opt(Int64),
  runAsGroup: opt(Int64),
  runAsNonRoot: opt(Schema.Boolean),
  readOnlyRootFilesystem: opt(Schema.Boolean),
  allowPrivilegeEscalation: opt(Schema.Boolean),
})
export interface SecurityContext extends Schema.Schema.Type<typeof SecurityContext> {}

export const Container = Schema.Struct({
  name: RequiredString,
  image: opt(Schema.String),
  command: opt(Strings),
  args: opt(Strings),
  workingDir: opt(Schema.String),
  ports: opt(Schema.Array(ContainerPort)),
  envFrom: opt(Schema.Array(EnvFromSource)),
  env: opt(Schema.Array(EnvVar)),
  resources: opt(ResourceRequirements),
  volumeMounts: opt(Schema.Array(VolumeMount)),
  livenessProbe: opt(Probe),
  readinessProbe: opt(Probe),
  startupProbe: opt(Probe),
  lifecycle: opt(Lifecycle),
  terminationMessagePath: opt(Schema.String),
  terminationMessagePolicy: opt(Schema.String),
  imagePullPolicy: opt(Schema.String),
  securityContext: opt(SecurityContext),
  stdin: opt(Schema.Boolean),
  stdinOnce: opt(Schema.Boolean),
  tty: opt(Schema.Boolean),
})
export interface Container extends Schema.Schema.Type<typeof Container> {}

// ---------------------------------------------------------------------------
// Volumes (the common sources)

export const KeyToPath = Schema.Struct({
  key: RequiredString,
  path: RequiredString,
  mode: opt(Int32),
})
export interface KeyToPath extends Schema.Schema.Type<typeof KeyToPath> {}

export const HostPathVolumeSource = Schema.Struct({
  path: RequiredString,
  type: opt(Schema.String),
})
export const EmptyDirVolumeSource = Schema.Struct({
  medium: opt(Schema.String),
  sizeLimit: opt(ResourceQuantity),
})
export const SecretVolumeSource = Schema.Struct({
  secretName: opt(Schema.String),
  items: opt(Schema.Array(KeyToPath)),
  defaultMode: opt(Int32),
  optional: opt(Schema.Boolean),
})
export const ConfigMapVolumeSource = Schema.Struct({
  name: opt(Schema.String),
  items: opt(Schema.Array(KeyToPath)),
  defaultMode: opt(Int32),
  optional: opt(Schema.Boolean),
})
export const PersistentVolumeClaimVolumeSource = Schema.Struct({
  claimName: RequiredString,
  readOnly: opt(Schema.Boolean),
})

export const Volume = Schema.Struct({
  name: RequiredString,
  hostPath: opt(HostPathVolumeSource),
  emptyDir: opt(EmptyDirVolumeSource),
  secret: opt(SecretVolumeSource),
  configMap: opt(ConfigMapVolumeSource),
  persistentVolumeClaim: opt(PersistentVolumeClaimVolumeSource),
})
export interface Volume extends Schema.Schema.Type<typeof Volume> {}

// ---------------------------------------------------------------------------
// Scheduling constraints

/** `key` `operator` `values`: operators In, NotIn, Exists, DoesNotExist, Gt, Lt. */
export const NodeSelectorRequirement = Schema.Struct({
  key: RequiredString,
  operator: RequiredString,
  values: opt(Strings),
})
export interface NodeSelectorRequirement
  extends Schema.Schema.Type<typeof NodeSelectorRequirement> {}

/** The requirements of one term are ANDed. */
export const NodeSelectorTerm = Schema.Struct({
  matchExpressions: opt(Schema.Array(NodeSelectorRequirement)),
  matchFields: opt(Schema.Array(NodeSelectorRequirement)),
})
export interface NodeSelectorTerm extends Schema.Schema.Type<typeof NodeSelectorTerm> {}

/** The terms are ORed; an empty list matches no node. */
export const NodeSelector = Schema.Struct({
  nodeSelectorTerms: Schema.Array(NodeSelectorTerm).pipe(withZero([])),
})
export interface NodeSelector extends Schema.Schema.Type<typeof NodeSelector> {}

export const PreferredSchedulingTerm = Schema.Struct({
  weight: RequiredInt32,
  preference: NodeSelectorTerm.pipe(withZero({})),
})
export interface PreferredSchedulingTerm
  extends Schema.Schema.Type<typeof PreferredSchedulingTerm> {}

export const NodeAffinity = Schema.Struct({
  requiredDuringSchedulingIgnoredDuringExecution: opt(NodeSelector),
  preferredDuringSchedulingIgnoredDuringExecution: opt(Schema.Array(PreferredSchedulingTerm)),
})
export interface NodeAffinity extends Schema.Schema.Type<typeof NodeAffinity> {}

export const PodAffinityTerm = Schema.Struct({
  labelSelector: opt(LabelSelector),
  namespaces: opt(Strings),
  topologyKey: RequiredString,
  namespaceSelector: opt(LabelSelector),
})
export interface PodAffinityTerm extends Schema.Schema.Type<typeof PodAffinityTerm> {}

export const WeightedPodAffinityTerm = Schema.Struct({
  weight: RequiredInt32,
  podAffinityTerm: PodAffinityTerm.pipe(withZero({})),
})
export interface WeightedPodAffinityTerm
  extends Schema.Schema.Type<typeof WeightedPodAffinityTerm> {}

export const PodAffinity = Schema.Struct({
  requiredDuringSchedulingIgnoredDuringExecution: opt(Schema.Array(PodAffinityTerm)),
  preferredDuringSchedulingIgnoredDuringExecution: opt(Schema.Array(WeightedPodAffinityTerm)),
})
export interface PodAffinity extends Schema.Schema.Type<typeof PodAffinity> {}

/** Same shape as `PodAffinity`; the terms repel instead of attract. */
export const PodAntiAffinity = PodAffinity
export interface PodAntiAffinity extends PodAffinity {}

export const Affinity = Schema.Struct({
  nodeAffinity: opt(NodeAffinity),
  podAffinity: opt(PodAffinity),
  podAntiAffinity: opt(PodAntiAffinity),
})
export interface Affinity extends Schema.Schema.Type<typeof Affinity> {}

/** Tolerates taints matching `key`/`value`/`effect` (operator Equal or Exists). */
export const Toleration = Schema.Struct({
  key: opt(Schema.String),
  operator: opt(Schema.String),
  value: opt(Schema.String),
  effect: opt(Schema.String),
  tolerationSeconds: opt(Int64),
})
export interface Toleration extends Schema.Schema.Type<typeof Toleration> {}

export const TopologySpreadConstraint = Schema.Struct({
  maxSkew: RequiredInt32,
  topologyKey: RequiredString,
  whenUnsatisfiable: RequiredString,
  labelSelector: opt(LabelSelector),
  minDomains: opt(Int32),
  matchLabelKeys: opt(Strings),
})
export interface TopologySpreadConstraint
  extends Schema.Schema.Type<typeof TopologySpreadConstraint> {}

export const PodSecurityContext = Schema.Struct({
  runAsUser: opt(Int64),
  runAsGroup: opt(Int64),
  runAsNonRoot: opt(Schema.Boolean),
  supplementalGroups: opt(Schema.Array(Int64)),
  fsGroup: opt(Int64),
})
export interface PodSecurityContext extends Schema.Schema.Type<typeof PodSecurityContext> {}

export const HostAlias = Schema.Struct({
  ip: RequiredString,
  hostnames: opt(Strings),
})
export interface HostAlias extends Schema.Schema.Type<typeof HostAlias> {}

// ---------------------------------------------------------------------------
// Pod

export const PodSpec = Schema.Struct({
  volumes: opt(Schema.Array(Volume)),
  initContainers: opt(Schema.Array(Container)),
  containers: Schema.Array(Container).pipe(withZero([])),
  restartPolicy: opt(Schema.String),
  terminationGracePeriodSeconds: opt(Int64),
  activeDeadlineSeconds: opt(Int64),
  dnsPolicy: opt(Schema.String),
  nodeSelector: opt(StringMap),
  serviceAccountName: opt(Schema.String),
  serviceAccount: opt(Schema.String),
  automountServiceAccountToken: opt(Schema.Boolean),
  nodeName: opt(Schema.String),
  hostNetwork: opt(Schema.Boolean),
  hostPID: opt(Schema.Boolean),
  hostIPC: opt(Schema.Boolean),
  securityContext: opt(PodSecurityContext),
  imagePullSecrets: opt(Schema.Array(LocalObjectReference)),
  hostname: opt(Schema.String),
  subdomain: opt(Schema.String),
  affinity: opt(Affinity),
  schedulerName: opt(Schema.String),
  tolerations: opt(Schema.Array(Toleration)),
  hostAliases: opt(Schema.Array(HostAlias)),
  priorityClassName: opt(Schema.String),
  priority: opt(Int32),
  enableServiceLinks: opt(Schema.Boolean),
  preemptionPolicy: opt(Schema.String),
  overhead: opt(ResourceList),
  topologySpreadConstraints: opt(Schema.Array(TopologySpreadConstraint)),
})
export interface PodSpec extends Schema.Schema.Type<typeof PodSpec> {}

export const PodCondition = Schema.Struct({
  type: RequiredString,
  status: RequiredString,
  lastProbeTime: opt(Time),
  lastTransitionTime: opt(Time),
  reason: opt(Schema.String),
  message: opt(Schema.String),
})
export interface PodCondition extends Schema.Schema.Type<typeof PodCondition> {}

export const ContainerStateWaiting = Schema.Struct({
  reason: opt(Schema.String),
  message: opt(Schema.String),
})
export interface ContainerStateWaiting extends Schema.Schema.Type<typeof ContainerStateWaiting> {}

export const ContainerStateRunning = Schema.Struct({ startedAt: opt(Time) })
export interface ContainerStateRunning extends Schema.Schema.Type<typeof ContainerStateRunning> {}

export const ContainerStateTerminated = Schema.Struct({
  exitCode: RequiredInt32,
  signal: opt(Int32),
  reason: opt(Schema.String),
  message: opt(Schema.String),
  startedAt: opt(Time),
  finishedAt: opt(Time),
  containerID: opt(Schema.String),
})
export interface ContainerStateTerminated
  extends Schema.Schema.Type<typeof ContainerStateTerminated> {}

/** At most one of the three is set; none means Waiting. */
export const ContainerState = Schema.Struct({
  waiting: opt(ContainerStateWaiting),
  running: opt(ContainerStateRunning),
  terminated: opt(ContainerStateTerminated),
})
export interface ContainerState extends Schema.Schema.Type<typeof ContainerState> {}

export const ContainerStatus = Schema.Struct({
  name: RequiredString,
  state: opt(ContainerState),
  lastState: opt(ContainerState),
  ready: RequiredBoolean,
  restartCount: RequiredInt32,
  image: RequiredString,
  imageID: RequiredString,
  containerID: opt(Schema.String),
  started: opt(Schema.Boolean),
})
export interface ContainerStatus extends Schema.Schema.Type<typeof ContainerStatus> {}

export const PodIP = Schema.Struct({ ip: RequiredString })
export interface PodIP extends Schema.Schema.Type<typeof PodIP> {}

export const HostIP = Schema.Struct({ ip: RequiredString })
export interface HostIP extends Schema.Schema.Type<typeof HostIP> {}

export const PodStatus = Schema.Struct({
  phase: opt(Schema.String),
  conditions: opt(Schema.Array(PodCondition)),
  message: opt(Schema.String),
  reason: opt(Schema.String),
  nominatedNodeName: opt(Schema.String),
  hostIP: opt(Schema.String),
  hostIPs: opt(Schema.Array(HostIP)),
  podIP: opt(Schema.String),
  podIPs: opt(Schema.Array(PodIP)),
  startTime: opt(Time),
  initContainerStatuses: opt(Schema.Array(ContainerStatus)),
  containerStatuses: opt(Schema.Array(ContainerStatus)),
  qosClass: opt(Schema.String),
})
export interface PodStatus extends Schema.Schema.Type<typeof PodStatus> {}

export const Pod = Schema.Struct({
  apiVersion: TypeField("v1"),
  kind: TypeField("Pod"),
  metadata: RequiredObjectMeta,
  spec: PodSpec.pipe(withZero({})),
  status: PodStatus.pipe(withZero({})),
})
export interface Pod extends Schema.Schema.Type<typeof Pod> {}

/** The pod template inside Deployments and ReplicaSets. */
export const PodTemplateSpec = Schema.Struct({
  metadata: RequiredObjectMeta,
  spec: PodSpec.pipe(withZero({})),
})
export interface PodTemplateSpec extends Schema.Schema.Type<typeof PodTemplateSpec> {}

// ---------------------------------------------------------------------------
// Node

/** A node taint: effect NoSchedule, PreferNoSchedule or NoExecute. */
export const Taint = Schema.Struct({
  key: RequiredString,
  value: opt(Schema.String),
  effect: RequiredString,
  timeAdded: opt(Time),
})
export interface Taint extends Schema.Schema.Type<typeof Taint> {}

export const NodeSpec = Schema.Struct({
  podCIDR: opt(Schema.String),
  podCIDRs: opt(Strings),
  providerID: opt(Schema.String),
  unschedulable: opt(Schema.Boolean),
  taints: opt(Schema.Array(Taint)),
})
export interface NodeSpec extends Schema.Schema.Type<typeof NodeSpec> {}

/** Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable. */
export const NodeCondition = Schema.Struct({
  type: RequiredString,
  status: RequiredString,
  lastHeartbeatTime: opt(Time),
  lastTransitionTime: opt(Time),
  reason: opt(Schema.String),
  message: opt(Schema.String),
})
export interface NodeCondition extends Schema.Schema.Type<typeof NodeCondition> {}

/** Hostname, InternalIP, ExternalIP, InternalDNS, ExternalDNS. */
export const NodeAddress = Schema.Struct({
  type: RequiredString,
  address: RequiredString,
})
export interface NodeAddress extends Schema.Schema.Type<typeof NodeAddress> {}

export const DaemonEndpoint = Schema.Struct({ Port: RequiredInt32 })
export const NodeDaemonEndpoints = Schema.Struct({ kubeletEndpoint: opt(DaemonEndpoint) })
export interface NodeDaemonEndpoints extends Schema.Schema.Type<typeof NodeDaemonEndpoints> {}

export const NodeSystemInfo = Schema.Struct({
  machineID: RequiredString,
  systemUUID: RequiredString,
  bootID: RequiredString,
  kernelVersion: RequiredString,
  osImage: RequiredString,
  containerRuntimeVersion: RequiredString,
  kubeletVersion: RequiredString,
  kubeProxyVersion: RequiredString,
  operatingSystem: RequiredString,
  architecture: RequiredString,
})
export interface NodeSystemInfo extends Schema.Schema.Type<typeof NodeSystemInfo> {}

/** An image present on a node, with its size (ImageLocality scores by it). */
export const ContainerImage = Schema.Struct({
  names: opt(Strings),
  sizeBytes: opt(Int64),
})
export interface ContainerImage extends Schema.Schema.Type<typeof ContainerImage> {}

export const NodeStatus = Schema.Struct({
  capacity: opt(ResourceList),
  allocatable: opt(ResourceList),
  phase: opt(Schema.String),
  conditions: opt(Schema.Array(NodeCondition)),
  addresses: opt(Schema.Array(NodeAddress)),
  daemonEndpoints: opt(NodeDaemonEndpoints),
  nodeInfo: opt(NodeSystemInfo),
  images: opt(Schema.Array(ContainerImage)),
  volumesInUse: opt(Strings),
})
export interface NodeStatus extends Schema.Schema.Type<typeof NodeStatus> {}

export const Node = Schema.Struct({
  apiVersion: TypeField("v1"),
  kind: TypeField("Node"),
  metadata: RequiredObjectMeta,
  spec: NodeSpec.pipe(withZero({})),
  status: NodeStatus.pipe(withZero({})),
})
export interface Node extends Schema.Schema.Type<typeof Node> {}

// ---------------------------------------------------------------------------
// Service

export const ServicePort = Schema.Struct({
  name: opt(Schema.String),
  protocol: opt(Schema.String),
  appProtocol: opt(Schema.String),
  port: RequiredInt32,
  targetPort: opt(IntOrString),
  nodePort: opt(Int32),
})
export interface ServicePort extends Schema.Schema.Type<typeof ServicePort> {}

export const ClientIPConfig = Schema.Struct({ timeoutSeconds: opt(Int32) })
export const SessionAffinityConfig = Schema.Struct({ clientIP: opt(ClientIPConfig) })
export interface SessionAffinityConfig extends Schema.Schema.Type<typeof SessionAffinityConfig> {}

/** type ClusterIP (default), NodePort, LoadBalancer or ExternalName. */
export const ServiceSpec = Schema.Struct({
  ports: opt(Schema.Array(ServicePort)),
  selector: opt(StringMap),
  clusterIP: opt(Schema.String),
  clusterIPs: opt(Strings),
  type: opt(Schema.String),
  externalIPs: opt(Strings),
  sessionAffinity: opt(Schema.String),
  loadBalancerIP: opt(Schema.String),
  loadBalancerSourceRanges: opt(Strings),
  externalName: opt(Schema.String),
  externalTrafficPolicy: opt(Schema.String),
  healthCheckNodePort: opt(Int32),
  publishNotReadyAddresses: opt(Schema.Boolean),
  sessionAffinityConfig: opt(SessionAffinityConfig),
  ipFamilies: opt(Strings),
  ipFamilyPolicy: opt(Schema.String),
  allocateLoadBalancerNodePorts: opt(Schema.Boolean),
  loadBalancerClass: opt(Schema.String),
  internalTrafficPolicy: opt(Schema.String),
})
export interface ServiceSpec extends Schema.Schema.Type<typeof ServiceSpec> {}

export const PortStatus = Schema.Struct({
  port: RequiredInt32,
  protocol: RequiredString,
  error: opt(Schema.String),
})
export interface PortStatus extends Schema.Schema.Type<typeof PortStatus> {}

export const LoadBalancerIngress = Schema.Struct({
  ip: opt(Schema.String),
  hostname: opt(Schema.String),
  ipMode: opt(Schema.String),
  ports: opt(Schema.Array(PortStatus)),
})
export interface LoadBalancerIngress extends Schema.Schema.Type<typeof LoadBalancerIngress> {}

export const LoadBalancerStatus = Schema.Struct({
  ingress: opt(Schema.Array(LoadBalancerIngress)),
})
export interface LoadBalancerStatus extends Schema.Schema.Type<typeof LoadBalancerStatus> {}

export const ServiceStatus = Schema.Struct({ loadBalancer: opt(LoadBalancerStatus) })
export interface ServiceStatus extends Schema.Schema.Type<typeof ServiceStatus> {}

export const Service = Schema.Struct({
  apiVersion: TypeField("v1"),
  kind: TypeField("Service"),
  metadata: RequiredObjectMeta,
  spec: ServiceSpec.pipe(withZero({})),
  status: ServiceStatus.pipe(withZero({})),
})
export interface Service extends Schema.Schema.Type<typeof Service> {}

// ---------------------------------------------------------------------------
// Endpoints

export const EndpointAddress = Schema.Struct({
  ip: RequiredString,
  hostname: opt(Schema.String),
  nodeName: opt(Schema.String),
  targetRef: opt(ObjectReference),
})
export interface EndpointAddress extends Schema.Schema.Type<typeof EndpointAddress> {}

export const EndpointPort = Schema.Struct({
  name: opt(Schema.String),
  port: RequiredInt32,
  protocol: opt(Schema.String),
  appProtocol: opt(Schema.String),
})
export interface EndpointPort extends Schema.Schema.Type<typeof EndpointPort> {}

/** Ready addresses, not-ready addresses and the ports they all serve. */
export const EndpointSubset = Schema.Struct({
  addresses: opt(Schema.Array(EndpointAddress)),
  notReadyAddresses: opt(Schema.Array(EndpointAddress)),
  ports: opt(Schema.Array(EndpointPort)),
})
export interface EndpointSubset extends Schema.Schema.Type<typeof EndpointSubset> {}

export const Endpoints = Schema.Struct({
  apiVersion: TypeField("v1"),
  kind: TypeField("Endpoints"),
  metadata: RequiredObjectMeta,
  subsets: opt(Schema.Array(EndpointSubset)),
})
export interface Endpoints extends Schema.Schema.Type<typeof Endpoints> {}

// ---------------------------------------------------------------------------
// Event

export const EventSource = Schema.Struct({
  component: opt(Schema.String),
  host: opt(Schema.String),
})
export interface EventSource extends Schema.Schema.Type<typeof EventSource> {}

export const EventSeries = Schema.Struct({
  count: opt(Int32),
  lastObservedTime: opt(MicroTime),
})
export interface EventSeries extends Schema.Schema.Type<typeof EventSeries> {}

// ---------------------------------------------------------------------------
// Binding

/**
 * A core/v1 Binding: the body posted to `pods/<name>/binding` (what a
 * scheduler sends) to place a pod on the node named by `target`.
 */
export const Binding = Schema.Struct({
  apiVersion: TypeField("v1"),
  kind: TypeField("Binding"),
  metadata: RequiredObjectMeta,
  target: ObjectReference.pipe(withZero({})),
})
export interface Binding extends Schema.Schema.Type<typeof Binding> {}

/** A core/v1 Event: `type` Normal or Warning, counted and timestamped. */
export const Event = Schema.Struct({
  apiVersion: TypeField("v1"),
  kind: TypeField("Event"),
  metadata: RequiredObjectMeta,
  involvedObject: ObjectReference.pipe(withZero({})),
  reason: opt(Schema.String),
  message: opt(Schema.String),
  source: opt(EventSource),
  firstTimestamp: opt(Time),
  lastTimestamp: opt(Time),
  count: opt(Int32),
  type: opt(Schema.String),
  eventTime: opt(MicroTime),
  series: opt(EventSeries),
  action: opt(Schema.String),
  related: opt(ObjectReference),
  reportingComponent: RequiredString,
  reportingInstance: RequiredString,
})
export interface Event extends Schema.Schema.Type<typeof Event> {}

// ---------------------------------------------------------------------------
// Lists

export const NamespaceList = makeList("v1", "NamespaceList", Namespace)
export interface NamespaceList extends Schema.Schema.Type<typeof NamespaceList> {}
export const PodList = makeList("v1", "PodList", Pod)
export interface PodList extends Schema.Schema.Type<typeof PodList> {}
export const NodeList = makeList("v1", "NodeList", Node)
export interface NodeList extends Schema.Schema.Type<typeof NodeList> {}
export const ServiceList = makeList("v1", "ServiceList", Service)
export interface ServiceList extends Schema.Schema.Type<typeof ServiceList> {}
export const EndpointsList = makeList("v1", "EndpointsList", Endpoints)
export interface EndpointsList extends Schema.Schema.Type<typeof EndpointsList> {}
export const EventList = makeList("v1", "EventList", Event)
export interface EventList extends Schema.Schema.Type<typeof EventList> {}
