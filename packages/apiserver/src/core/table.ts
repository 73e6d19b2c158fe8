/**
 * Server-side Tables (`meta.k8s.io/v1` `Table`): the columns `kubectl get`
 * prints, computed here as Kubernetes' printers compute them (pods' READY,
 * STATUS and RESTARTS, nodes' SchedulingDisabled, services' EXTERNAL-IP,
 * events' OBJECT, ...). The server always prints the wide form; columns with
 * priority 1 are the ones kubectl shows only with `-o wide`. Pure: ages are
 * computed against the `nowMs` given.
 */
import { type LabelSelector, labelSelectorAsSelector } from "@flotilla/api"
import { Result } from "effect"
import { isObject, metadataOf, type Obj, objectAt, parseTime, stringAt } from "./json.ts"

export interface ColumnDefinition {
  readonly name: string
  readonly type: string
  readonly format: string
  readonly description: string
  readonly priority: number
}

export interface TableRow {
  readonly cells: ReadonlyArray<unknown>
  readonly conditions?: ReadonlyArray<{
    readonly type: string
    readonly status: string
    readonly reason?: string
  }>
  readonly object?: unknown
}

const column = (
  name: string,
  type: string,
  description: string,
  priority = 0,
  format = "",
): ColumnDefinition => ({ name, type, format, description, priority })

const nameColumn = column(
  "Name",
  "string",
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
  0,
  "name",
)
const ageColumn = column(
  "Age",
  "string",
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
)

/**
 * Kubernetes' `duration.HumanDuration`: `42s`, `3m5s`, `15m`, `5h20m`, `2d3h`,
 * `400d`, `2y30d`; within two seconds in the future counts as now.
 */
export const humanDuration = (ms: number): string => {
  const seconds = Math.trunc(ms / 1000)
  if (seconds < -1) return "<invalid>"
  if (seconds < 0) return "0s"
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.trunc(seconds / 60)
  if (minutes < 10) {
    const s = seconds % 60
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`
  }
  if (minutes < 180) return `${minutes}m`
  const hours = Math.trunc(seconds / 3600)
  if (hours < 8) {
    const m = minutes % 60
    return m === 0 ? `${hours}h` : `${hours}h${m}m`
  }
  if (hours < 48) return `${hours}h`
  if (hours < 24 * 8) {
    const h = hours % 24
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`
  if (hours < 24 * 365 * 8) {
    const days = Math.trunc(hours / 24) % 365
    const years = Math.trunc(hours / 24 / 365)
    return days === 0 ? `${years}y` : `${years}y${days}d`
  }
  return `${Math.trunc(hours / 24 / 365)}y`
}

/** `translateTimestampSince`: the age of a time, `<unknown>` when unset. */
export const since = (time: unknown, nowMs: number): string => {
  const t = parseTime(time)
  return t === undefined ? "<unknown>" : humanDuration(nowMs - t)
}

const array = (v: unknown): ReadonlyArray<Obj> => (Array.isArray(v) ? v.filter(isObject) : [])
const num = (v: unknown): number => (typeof v === "number" ? v : 0)
const orNone = (s: string): string => (s === "" ? "<none>" : s)

// ---------------------------------------------------------------------------
// Pods

const podColumns: ReadonlyArray<ColumnDefinition> = [
  nameColumn,
  column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
  column("Status", "string", "The aggregate status of the containers in this pod."),
  column(
    "Restarts",
    "string",
    "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
  ),
  ageColumn,
  column("IP", "string", "The IP address assigned to this pod.", 1),
  column("Node", "string", "The name of the node this pod is assigned to.", 1),
  column("Nominated Node", "string", "The name of the node where this pod is nominated to run.", 1),
  column("Readiness Gates", "string", "The readiness gates of this pod.", 1),
]

const podRow = (pod: Obj, nowMs: number): TableRow => {
  const spec = objectAt(pod, "spec")
  const status = objectAt(pod, "status")
  const metadata = metadataOf(pod)
  const containers = array(spec.containers)
  const initContainers = array(spec.initContainers)
  let restarts = 0
  let ready = 0
  let lastRestart: number | undefined
  const phase = stringAt(status, "phase")
  let reason = stringAt(status, "reason") !== "" ? stringAt(status, "reason") : phase
  const noteRestart = (c: Obj) => {
    const finished = parseTime(objectAt(objectAt(c, "lastState"), "terminated").finishedAt)
    if (finished !== undefined && (lastRestart === undefined || finished > lastRestart)) {
      lastRestart = finished
    }
  }
  let initializing = false
  const initStatuses = array(status.initContainerStatuses)
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i] as Obj
    restarts += num(c.restartCount)
    noteRestart(c)
    const state = objectAt(c, "state")
    const terminated = isObject(state.terminated) ? state.terminated : undefined
    const waiting = isObject(state.waiting) ? state.waiting : undefined
    if (terminated !== undefined && num(terminated.exitCode) === 0) continue
    const sidecar = stringAt(initContainers[i], "restartPolicy") === "Always"
    if (sidecar && c.started === true) continue
    if (terminated !== undefined) {
      const r = stringAt(terminated, "reason")
      reason =
        r !== ""
          ? `Init:${r}`
          : num(terminated.signal) !== 0
            ? `Init:Signal:${num(terminated.signal)}`
            : `Init:ExitCode:${num(terminated.exitCode)}`
    } else if (
      waiting !== undefined &&
      stringAt(waiting, "reason") !== "" &&
      stringAt(waiting, "reason") !== "PodInitializing"
    ) {
      reason = `Init:${stringAt(waiting, "reason")}`
    } else {
      reason = `Init:${i}/${initContainers.length}`
    }
    initializing = true
    break
  }
  const conditions = array(status.conditions)
  const conditionTrue = (type: string) =>
    conditions.some((c) => c.type === type && c.status === "True")
  if (!initializing || conditionTrue("Initialized")) {
    restarts = 0
    let hasRunning = false
    const statuses = array(status.containerStatuses)
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i] as Obj
      restarts += num(c.restartCount)
      noteRestart(c)
      const state = objectAt(c, "state")
      const waiting = isObject(state.waiting) ? state.waiting : undefined
      const terminated = isObject(state.terminated) ? state.terminated : undefined
      if (waiting !== undefined && stringAt(waiting, "reason") !== "") {
        reason = stringAt(waiting, "reason")
      } else if (terminated !== undefined && stringAt(terminated, "reason") !== "") {
        reason = stringAt(terminated, "reason")
      } else if (terminated !== undefined) {
        reason =
          num(terminated.signal) !== 0
            ? `Signal:${num(terminated.signal)}`
            : `ExitCode:${num(terminated.exitCode)}`
      } else if (c.ready === true && isObject(state.running)) {
        hasRunning = true
        ready++
      }
    }
    if (reason === "Completed" && hasRunning) {
      reason = conditionTrue("Ready") ? "Running" : "NotReady"
    }
  }
  const terminal = phase === "Succeeded" || phase === "Failed"
  if (metadata.deletionTimestamp !== undefined && stringAt(status, "reason") === "NodeLost") {
    reason = "Unknown"
  } else if (metadata.deletionTimestamp !== undefined && !terminal) {
    reason = "Terminating"
  }
  const restartText =
    restarts !== 0 && lastRestart !== undefined
      ? `${restarts} (${humanDuration(nowMs - lastRestart)} ago)`
      : String(restarts)
  const podIPs = array(status.podIPs)
  const ip =
    stringAt(podIPs[0], "ip") !== "" ? stringAt(podIPs[0], "ip") : stringAt(status, "podIP")
  const gates = array(spec.readinessGates)
  const gatesText =
    gates.length === 0
      ? "<none>"
      : `${gates.filter((g) => conditionTrue(stringAt(g, "conditionType"))).length}/${gates.length}`
  return {
    cells: [
      stringAt(metadata, "name"),
      `${ready}/${containers.length}`,
      reason,
      restartText,
      since(metadata.creationTimestamp, nowMs),
      orNone(ip),
      orNone(stringAt(spec, "nodeName")),
      orNone(stringAt(status, "nominatedNodeName")),
      gatesText,
    ],
    ...(phase === "Succeeded"
      ? { conditions: [{ type: "Completed", status: "True", reason: "Succeeded" }] }
      : phase === "Failed"
        ? { conditions: [{ type: "Completed", status: "True", reason: "Failed" }] }
        : {}),
  }
}

// ---------------------------------------------------------------------------
// Workloads

const templateContainers = (obj: Obj): ReadonlyArray<Obj> =>
  array(objectAt(objectAt(objectAt(obj, "spec"), "template"), "spec").containers)

const containerNames = (obj: Obj) =>
  templateContainers(obj)
    .map((c) => stringAt(c, "name"))
    .join(",")
const containerImages = (obj: Obj) =>
  templateContainers(obj)
    .map((c) => stringAt(c, "image"))
    .join(",")
const selectorText = (obj: Obj): string => {
  const selector = objectAt(obj, "spec").selector
  if (!isObject(selector)) return ""
  const parsed = labelSelectorAsSelector(selector as unknown as LabelSelector)
  return Result.isSuccess(parsed) ? parsed.success.toString() : "<error>"
}

const containersColumn = column(
  "Containers",
  "string",
  "Names of each container in the template.",
  1,
)
const imagesColumn = column(
  "Images",
  "string",
  "Images referenced by each container in the template.",
  1,
)

const deploymentColumns: ReadonlyArray<ColumnDefinition> = [
  nameColumn,
  column("Ready", "string", "Number of the pod with ready state"),
  column(
    "Up-to-date",
    "integer",
    "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
  ),
  column(
    "Available",
    "integer",
    "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
  ),
  ageColumn,
  containersColumn,
  imagesColumn,
  column(
    "Selector",
    "string",
    "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
    1,
  ),
]

const deploymentRow = (d: Obj, nowMs: number): TableRow => {
  const spec = objectAt(d, "spec")
  const status = objectAt(d, "status")
  return {
    cells: [
      stringAt(metadataOf(d), "name"),
      `${num(status.readyReplicas)}/${typeof spec.replicas === "number" ? spec.replicas : 0}`,
      num(status.updatedReplicas),
      num(status.availableReplicas),
      since(metadataOf(d).creationTimestamp, nowMs),
      containerNames(d),
      containerImages(d),
      selectorText(d),
    ],
  }
}

const replicaSetColumns: ReadonlyArray<ColumnDefinition> = [
  nameColumn,
  column(
    "Desired",
    "integer",
    "Number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1.",
  ),
  column("Current", "integer", "Replicas is the most recently observed number of replicas."),
  column("Ready", "integer", "The number of ready replicas for this replica set."),
  ageColumn,
  containersColumn,
  imagesColumn,
  column(
    "Selector",
    "string",
    "Selector is a label query over pods that should match the replica count.",
    1,
  ),
]

const replicaSetRow = (rs: Obj, nowMs: number): TableRow => {
  const spec = objectAt(rs, "spec")
  const status = objectAt(rs, "status")
  return {
    cells: [
      stringAt(metadataOf(rs), "name"),
      typeof spec.replicas === "number" ? spec.replicas : 0,
      num(status.replicas),
      num(status.readyReplicas),
      since(metadataOf(rs).creationTimestamp, nowMs),
      containerNames(rs),
      containerImages(rs),
      selectorText(rs),
    ],
  }
}

// ---------------------------------------------------------------------------
// Services, endpoints

const serviceColumns: ReadonlyArray<ColumnDefinition> = [
  nameColumn,
  column("Type", "string", "The type of the service."),
  column("Cluster-IP", "string", "The cluster IP of the service."),
  column("External-IP", "string", "The external IP of the service."),
  column("Port(s)", "string", "The ports of the service."),
  ageColumn,
  column("Selector", "string", "The selector of the service.", 1),
]

const loadBalancerIPs = (status: Obj): ReadonlyArray<string> =>
  array(objectAt(status, "loadBalancer").ingress)
    .map((i) => (stringAt(i, "ip") !== "" ? stringAt(i, "ip") : stringAt(i, "hostname")))
    .filter((s) => s !== "")

const externalIP = (svc: Obj): string => {
  const spec = objectAt(svc, "spec")
  const externalIPs = Array.isArray(spec.externalIPs)
    ? spec.externalIPs.filter((s): s is string => typeof s === "string")
    : []
  switch (stringAt(spec, "type")) {
    case "LoadBalancer": {
      const ips = [...loadBalancerIPs(objectAt(svc, "status")), ...externalIPs]
      return ips.length > 0 ? ips.join(",") : "<pending>"
    }
    case "ExternalName":
      return stringAt(spec, "externalName")
    default:
      return externalIPs.length > 0 ? externalIPs.join(",") : "<none>"
  }
}

const portsText = (svc: Obj): string => {
  const ports = array(objectAt(svc, "spec").ports)
  if (ports.length === 0) return "<none>"
  return ports
    .map((p) => {
      const protocol = stringAt(p, "protocol") === "" ? "TCP" : stringAt(p, "protocol")
      const nodePort = num(p.nodePort)
      return nodePort > 0 ? `${num(p.port)}:${nodePort}/${protocol}` : `${num(p.port)}/${protocol}`
    })
    .join(",")
}

/** `labels.FormatLabels`: `a=b,c=d` sorted by key, `<none>` when empty. */
export const formatLabels = (labels: unknown): string => {
  if (!isObject(labels)) return "<none>"
  const keys = Object.keys(labels).sort()
  return keys.length === 0 ? "<none>" : keys.map((k) => `${k}=${String(labels[k])}`).join(",")
}

const serviceRow = (svc: Obj, nowMs: number): TableRow => {
  const spec = objectAt(svc, "spec")
  return {
    cells: [
      stringAt(metadataOf(svc), "name"),
      stringAt(spec, "type"),
      orNone(stringAt(spec, "clusterIP")),
      externalIP(svc),
      portsText(svc),
      since(metadataOf(svc).creationTimestamp, nowMs),
      formatLabels(spec.selector),
    ],
  }
}

const endpointsColumns: ReadonlyArray<ColumnDefinition> = [
  nameColumn,
  column("Endpoints", "string", "Endpoints of the service"),
  ageColumn,
]

/** `formatEndpoints`: up to three `ip:port`, then `+ N more...`. */
const endpointsText = (ep: Obj): string => {
  const all: Array<string> = []
  let count = 0
  for (const subset of array(ep.subsets)) {
    const addresses = array(subset.addresses)
    const ports = array(subset.ports)
    for (const a of addresses) {
      if (ports.length === 0) {
        count++
        if (all.length < 3) all.push(stringAt(a, "ip"))
        continue
      }
      for (const p of ports) {
        count++
        if (all.length < 3) all.push(`${stringAt(a, "ip")}:${num(p.port)}`)
      }
    }
  }
  if (count === 0) return "<none>"
  const more = count - all.length
  return more > 0 ? `${all.join(",")} + ${more} more...` : all.join(",")
}

const endpointsRow = (ep: Obj, nowMs: number): TableRow => ({
  cells: [
    stringAt(metadataOf(ep), "name"),
    endpointsText(ep),
    since(metadataOf(ep).creationTimestamp, nowMs),
  ],
})

// ---------------------------------------------------------------------------
// Nodes, namespaces, leases

const nodeColumns: ReadonlyArray<ColumnDefinition> = [
  nameColumn,
  column("Status", "string", "The status of the node"),
  column("Roles", "string", "The roles of the node"),
  ageColumn,
  column("Version", "string", "Kubelet Version reported by the node."),
  column("Internal-IP", "string", "List of addresses reachable to the node.", 1),
  column("External-IP", "string", "List of addresses reachable to the node.", 1),
  column(
    "OS-Image",
    "string",
    "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
    1,
  ),
  column(
    "Kernel-Version",
    "string",
    "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    1,
  ),
  column(
    "Container-Runtime",
    "string",
    "Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
    1,
  ),
]

/** The node's roles: `node-role.kubernetes.io/<role>` labels and `kubernetes.io/role`. */
export const nodeRoles = (labels: unknown): string => {
  if (!isObject(labels)) return "<none>"
  const roles = new Set<string>()
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const role = k.slice("node-role.kubernetes.io/".length)
      if (role !== "") roles.add(role)
    } else if (k === "kubernetes.io/role" && typeof v === "string" && v !== "") {
      roles.add(v)
    }
  }
  return roles.size === 0 ? "<none>" : [...roles].sort().join(",")
}

/** The node's STATUS: Ready / NotReady / Unknown, with SchedulingDisabled when cordoned. */
export const nodeStatus = (node: Obj): string => {
  const conditions = array(objectAt(node, "status").conditions)
  const parts: Array<string> = []
  const readyCondition = conditions.find((c) => c.type === "Ready")
  if (readyCondition === undefined) parts.push("Unknown")
  else parts.push(readyCondition.status === "True" ? "Ready" : "NotReady")
  if (objectAt(node, "spec").unschedulable === true) parts.push("SchedulingDisabled")
  return parts.join(",")
}

const nodeAddress = (node: Obj, type: string): string => {
  const a = array(objectAt(node, "status").addresses).find((x) => x.type === type)
  return orNone(stringAt(a, "address"))
}

const nodeRow = (node: Obj, nowMs: number): TableRow => {
  const info = objectAt(objectAt(node, "status"), "nodeInfo")
  const unknown = (s: string) => (s === "" ? "<unknown>" : s)
  return {
    cells: [
      stringAt(metadataOf(node), "name"),
      nodeStatus(node),
      nodeRoles(metadataOf(node).labels),
      since(metadataOf(node).creationTimestamp, nowMs),
      stringAt(info, "kubeletVersion"),
      nodeAddress(node, "InternalIP"),
      nodeAddress(node, "ExternalIP"),
      unknown(stringAt(info, "osImage")),
      unknown(stringAt(info, "kernelVersion")),
      unknown(stringAt(info, "containerRuntimeVersion")),
    ],
  }
}

const namespaceColumns: ReadonlyArray<ColumnDefinition> = [
  nameColumn,
  column("Status", "string", "The status of the namespace"),
  ageColumn,
]

const namespaceRow = (ns: Obj, nowMs: number): TableRow => ({
  cells: [
    stringAt(metadataOf(ns), "name"),
    stringAt(objectAt(ns, "status"), "phase"),
    since(metadataOf(ns).creationTimestamp, nowMs),
  ],
})

const leaseColumns: ReadonlyArray<ColumnDefinition> = [
  nameColumn,
  column("Holder", "string", "The holder of the lease"),
  ageColumn,
]

const leaseRow = (lease: Obj, nowMs: number): TableRow => ({
  cells: [
    stringAt(metadataOf(lease), "name"),
    stringAt(objectAt(lease, "spec"), "holderIdentity"),
    since(metadataOf(lease).creationTimestamp, nowMs),
  ],
})

// ---------------------------------------------------------------------------
// Events

const eventColumns: ReadonlyArray<ColumnDefinition> = [
  column("Last Seen", "string", "The last time this event was seen."),
  column("Type", "string", "The type of the event."),
  column("Reason", "string", "The reason of the event."),
  column("Object", "string", "The object that this event is about."),
  column("Subobject", "string", "The subobject that this event is about.", 1),
  column("Source", "string", "The source of the event.", 1),
  column("Message", "string", "A human-readable description of the status of this operation."),
  column("First Seen", "string", "The first time this event was seen.", 1),
  column("Count", "integer", "The number of times this event has occurred.", 1),
  column("Name", "string", "The name of the event.", 1, "name"),
]

const eventSource = (event: Obj): string => {
  const source = objectAt(event, "source")
  let component = stringAt(source, "component")
  let host = stringAt(source, "host")
  if (component === "") {
    component = stringAt(event, "reportingComponent")
    host = stringAt(event, "reportingInstance")
  }
  return host === "" ? component : `${component}, ${host}`
}

const eventRow = (event: Obj, nowMs: number): TableRow => {
  const involved = objectAt(event, "involvedObject")
  const first =
    parseTime(event.firstTimestamp) === undefined
      ? since(event.eventTime, nowMs)
      : since(event.firstTimestamp, nowMs)
  let last =
    parseTime(event.lastTimestamp) === undefined ? first : since(event.lastTimestamp, nowMs)
  let count = num(event.count)
  const series = isObject(event.series) ? event.series : undefined
  if (series !== undefined) {
    last = since(series.lastObservedTime, nowMs)
    count = num(series.count)
  } else if (count === 0) {
    count = 1
  }
  const kind = stringAt(involved, "kind").toLowerCase()
  const name = stringAt(involved, "name")
  return {
    cells: [
      last,
      stringAt(event, "type"),
      stringAt(event, "reason"),
      name === "" ? kind : `${kind}/${name}`,
      stringAt(involved, "fieldPath"),
      eventSource(event),
      stringAt(event, "message").trim(),
      first,
      count,
      stringAt(metadataOf(event), "name"),
    ],
  }
}

// ---------------------------------------------------------------------------

/** The printer of a resource: its columns and how to print one object. */
export interface Printer {
  readonly columns: ReadonlyArray<ColumnDefinition>
  readonly row: (object: Obj, nowMs: number) => TableRow
}

const defaultPrinter: Printer = {
  columns: [nameColumn, ageColumn],
  row: (o, nowMs) => ({
    cells: [stringAt(metadataOf(o), "name"), since(metadataOf(o).creationTimestamp, nowMs)],
  }),
}

const printers: Readonly<Record<string, Printer>> = {
  pods: { columns: podColumns, row: podRow },
  deployments: { columns: deploymentColumns, row: deploymentRow },
  replicasets: { columns: replicaSetColumns, row: replicaSetRow },
  services: { columns: serviceColumns, row: serviceRow },
  endpoints: { columns: endpointsColumns, row: endpointsRow },
  nodes: { columns: nodeColumns, row: nodeRow },
  namespaces: { columns: namespaceColumns, row: namespaceRow },
  events: { columns: eventColumns, row: eventRow },
  leases: { columns: leaseColumns, row: leaseRow },
}

export const printerFor = (resource: string): Printer => printers[resource] ?? defaultPrinter

/** What each row carries of its object. */
export type IncludeObject = "None" | "Metadata" | "Object"

/** The `PartialObjectMetadata` of an object (a Table row's default `object`). */
export const partialObjectMetadata = (object: Obj): Obj => ({
  kind: "PartialObjectMetadata",
  apiVersion: "meta.k8s.io/v1",
  metadata: metadataOf(object),
})

/** One object's row, with its object as asked. */
export const tableRow = (
  printer: Printer,
  object: Obj,
  nowMs: number,
  include: IncludeObject,
): TableRow => {
  const row = printer.row(object, nowMs)
  if (include === "None") return row
  return { ...row, object: include === "Object" ? object : partialObjectMetadata(object) }
}

/** A Table of objects. `listMeta` is the list's metadata (resourceVersion, continue). */
export const table = (
  resource: string,
  objects: ReadonlyArray<Obj>,
  listMeta: Obj,
  nowMs: number,
  include: IncludeObject,
): Obj => {
  const printer = printerFor(resource)
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: printer.columns,
    rows: objects.map((o) => tableRow(printer, o, nowMs, include)),
  }
}
