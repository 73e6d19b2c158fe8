/**
 * Validation of core/v1 kinds as Kubernetes' `pkg/apis/core/validation` does
 * it, for the fields this model has: pods and pod templates (volumes,
 * containers, ports, env, resources, probes, policies, affinity,
 * tolerations), services, namespaces, nodes, endpoints and events. Runs on
 * defaulted objects: a field Kubernetes always defaults (restartPolicy,
 * protocol, imagePullPolicy, ...) is reported Required when missing.
 */
import { Result } from "effect"
import type * as CoreV1 from "../core/v1.ts"
import {
  child,
  duplicate,
  type FieldError,
  forbidden,
  index,
  invalid,
  key,
  notFound,
  notSupported,
  required,
} from "../errors.ts"
import type { IntOrString } from "../intstr.ts"
import { jsonEqual } from "../json.ts"
import {
  inclusiveRangeError,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isQualifiedName,
  isValidIP,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
} from "../names.ts"
import { parseQuantity, type Quantity } from "../quantity.ts"
import {
  duplicatesOf,
  nameIsDNS1035Label,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  validateAnnotations,
  validateLabelName,
  validateLabelSelector,
  validateLabels,
  validateNonnegativeField,
  validateObjectMeta,
} from "./meta.ts"

const supportedPortProtocols = ["SCTP", "TCP", "UDP"]
const supportedPullPolicies = ["Always", "IfNotPresent", "Never"]
const supportedHTTPSchemes = ["HTTP", "HTTPS"]

const dns1123Label = (value: string, field: string): Array<FieldError> =>
  isDNS1123Label(value).map((msg) => invalid(field, value, msg))
const dns1123Subdomain = (value: string, field: string): Array<FieldError> =>
  isDNS1123Subdomain(value).map((msg) => invalid(field, value, msg))

/** `ValidatePortNumOrName`: a port number in 1..65535 or an IANA port name. */
export const validatePortNumOrName = (port: IntOrString, field: string): Array<FieldError> =>
  typeof port === "number"
    ? isValidPortNum(port).map((msg) => invalid(field, port, msg))
    : isValidPortName(port).map((msg) => invalid(field, port, msg))

// ---------------------------------------------------------------------------
// Volumes

const volumeSources = [
  "hostPath",
  "emptyDir",
  "secret",
  "configMap",
  "persistentVolumeClaim",
] as const

const validateVolumes = (
  volumes: ReadonlyArray<CoreV1.Volume> | undefined,
  field: string,
): { names: Set<string>; errors: Array<FieldError> } => {
  const names = new Set<string>()
  const errors: Array<FieldError> = []
  ;(volumes ?? []).forEach((volume, i) => {
    const at = index(field, i)
    const sources = volumeSources.filter((s) => volume[s] !== undefined)
    if (sources.length === 0) {
      errors.push(required(at, "must specify a volume type"))
    }
    sources.slice(1).forEach((source) => {
      errors.push(forbidden(child(at, source), "may not specify more than 1 volume type"))
    })
    if (volume.hostPath !== undefined && volume.hostPath.path === "") {
      errors.push(required(child(child(at, "hostPath"), "path")))
    }
    if (
      volume.persistentVolumeClaim !== undefined &&
      volume.persistentVolumeClaim.claimName === ""
    ) {
      errors.push(required(child(child(at, "persistentVolumeClaim"), "claimName")))
    }
    if (volume.name === "") {
      errors.push(required(child(at, "name")))
    } else {
      errors.push(...dns1123Label(volume.name, child(at, "name")))
    }
    if (names.has(volume.name)) {
      errors.push(duplicate(child(at, "name"), volume.name))
    } else if (volume.name !== "") {
      names.add(volume.name)
    }
  })
  return { names, errors }
}

// ---------------------------------------------------------------------------
// Containers

const validateContainerPorts = (
  ports: ReadonlyArray<CoreV1.ContainerPort> | undefined,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  const names = new Set<string>()
  ;(ports ?? []).forEach((port, i) => {
    const at = index(field, i)
    if (port.name !== undefined && port.name !== "") {
      const msgs = isValidPortName(port.name)
      if (msgs.length > 0) {
        for (const msg of msgs) errors.push(invalid(child(at, "name"), port.name, msg))
      } else if (names.has(port.name)) {
        errors.push(duplicate(child(at, "name"), port.name))
      } else {
        names.add(port.name)
      }
    }
    if (port.containerPort === 0) {
      errors.push(required(child(at, "containerPort")))
    } else {
      for (const msg of isValidPortNum(port.containerPort)) {
        errors.push(invalid(child(at, "containerPort"), port.containerPort, msg))
      }
    }
    if (port.hostPort !== undefined && port.hostPort !== 0) {
      for (const msg of isValidPortNum(port.hostPort)) {
        errors.push(invalid(child(at, "hostPort"), port.hostPort, msg))
      }
    }
    const protocol = port.protocol ?? ""
    if (protocol === "") {
      errors.push(required(child(at, "protocol")))
    } else if (!supportedPortProtocols.includes(protocol)) {
      errors.push(notSupported(child(at, "protocol"), protocol, supportedPortProtocols))
    }
  })
  return errors
}

/** `checkHostPortConflicts`: a host port (per protocol and host IP) is used once per pod. */
const checkHostPortConflicts = (
  containers: ReadonlyArray<CoreV1.Container>,
  field: string,
  seen = new Set<string>(),
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  containers.forEach((container, ci) => {
    ;(container.ports ?? []).forEach((port, pi) => {
      if (port.hostPort === undefined || port.hostPort === 0) return
      const id = `${port.protocol ?? ""}/${port.hostIP ?? ""}/${port.hostPort}`
      if (seen.has(id)) {
        errors.push(duplicate(child(index(child(index(field, ci), "ports"), pi), "hostPort"), id))
      } else {
        seen.add(id)
      }
    })
  })
  return errors
}

const validateEnv = (
  env: ReadonlyArray<CoreV1.EnvVar> | undefined,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  ;(env ?? []).forEach((variable, i) => {
    const at = index(field, i)
    if (variable.name === "") {
      errors.push(required(child(at, "name")))
    } else {
      for (const msg of isEnvVarName(variable.name)) {
        errors.push(invalid(child(at, "name"), variable.name, msg))
      }
    }
    const from = variable.valueFrom
    if (from !== undefined) {
      const valueFrom = child(at, "valueFrom")
      const sources = [
        from.fieldRef,
        from.resourceFieldRef,
        from.configMapKeyRef,
        from.secretKeyRef,
      ].filter((s) => s !== undefined).length
      if (from.fieldRef !== undefined) {
        const ref = child(valueFrom, "fieldRef")
        if ((from.fieldRef.apiVersion ?? "") === "") errors.push(required(child(ref, "apiVersion")))
        else if (from.fieldRef.fieldPath === "") errors.push(required(child(ref, "fieldPath")))
      }
      if (from.resourceFieldRef !== undefined && from.resourceFieldRef.resource === "") {
        errors.push(required(child(child(valueFrom, "resourceFieldRef"), "resource")))
      }
      for (const [name, selector] of [
        ["configMapKeyRef", from.configMapKeyRef],
        ["secretKeyRef", from.secretKeyRef],
      ] as const) {
        if (selector !== undefined && selector.key === "") {
          errors.push(required(child(child(valueFrom, name), "key")))
        }
      }
      if (sources === 0) {
        errors.push(
          invalid(
            valueFrom,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
          ),
        )
      } else if ((variable.value ?? "") !== "") {
        errors.push(invalid(valueFrom, "", "may not be specified when `value` is not empty"))
      } else if (sources > 1) {
        errors.push(invalid(valueFrom, "", "may not have more than one field specified at a time"))
      }
    }
  })
  return errors
}

const validateVolumeMounts = (
  mounts: ReadonlyArray<CoreV1.VolumeMount> | undefined,
  volumes: Set<string>,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  const paths = new Set<string>()
  ;(mounts ?? []).forEach((mount, i) => {
    const at = index(field, i)
    if (mount.name === "") errors.push(required(child(at, "name")))
    if (!volumes.has(mount.name)) errors.push(notFound(child(at, "name"), mount.name))
    if (mount.mountPath === "") errors.push(required(child(at, "mountPath")))
    if (paths.has(mount.mountPath)) {
      errors.push(invalid(child(at, "mountPath"), mount.mountPath, "must be unique"))
    }
    paths.add(mount.mountPath)
  })
  return errors
}

type Handler = {
  readonly exec?: CoreV1.ExecAction
  readonly httpGet?: CoreV1.HTTPGetAction
  readonly tcpSocket?: CoreV1.TCPSocketAction
  readonly grpc?: CoreV1.GRPCAction
}

/** `validateHandler`: exactly one of exec, httpGet, tcpSocket, grpc. */
const validateHandler = (handler: Handler, field: string): Array<FieldError> => {
  const errors: Array<FieldError> = []
  let handlers = 0
  const one = (name: string, check: () => Array<FieldError>) => {
    if (handlers > 0) {
      errors.push(forbidden(child(field, name), "may not specify more than 1 handler type"))
    } else {
      handlers++
      errors.push(...check())
    }
  }
  if (handler.exec !== undefined) {
    const exec = handler.exec
    one("exec", () =>
      (exec.command ?? []).length === 0 ? [required(child(child(field, "exec"), "command"))] : [],
    )
  }
  if (handler.httpGet !== undefined) {
    const http = handler.httpGet
    const at = child(field, "httpGet")
    one("httpGet", () => [
      ...((http.path ?? "") === "" ? [required(child(at, "path"))] : []),
      ...validatePortNumOrName(http.port, child(at, "port")),
      ...(supportedHTTPSchemes.includes(http.scheme ?? "")
        ? []
        : [notSupported(child(at, "scheme"), http.scheme ?? "", supportedHTTPSchemes)]),
    ])
  }
  if (handler.tcpSocket !== undefined) {
    const tcp = handler.tcpSocket
    one("tcpSocket", () =>
      validatePortNumOrName(tcp.port, child(child(field, "tcpSocket"), "port")),
    )
  }
  if (handler.grpc !== undefined) {
    const grpc = handler.grpc
    one("grpc", () => validatePortNumOrName(grpc.port, child(child(field, "grpc"), "port")))
  }
  if (handlers === 0) errors.push(required(field, "must specify a handler type"))
  return errors
}

const validateProbe = (probe: CoreV1.Probe | undefined, field: string): Array<FieldError> => {
  if (probe === undefined) return []
  const errors = validateHandler(probe, field)
  for (const name of [
    "initialDelaySeconds",
    "timeoutSeconds",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
  ] as const) {
    errors.push(...validateNonnegativeField(probe[name] ?? 0, child(field, name)))
  }
  if (
    probe.terminationGracePeriodSeconds !== undefined &&
    probe.terminationGracePeriodSeconds <= 0
  ) {
    errors.push(
      invalid(
        child(field, "terminationGracePeriodSeconds"),
        probe.terminationGracePeriodSeconds,
        "must be greater than 0",
      ),
    )
  }
  return errors
}

// Resource names (`pkg/apis/core/helper`): standard, native, extended.
const standardContainerResources = new Set(["cpu", "memory", "ephemeral-storage"])
const standardResources = new Set([
  "cpu",
  "memory",
  "ephemeral-storage",
  "requests.cpu",
  "requests.memory",
  "requests.ephemeral-storage",
  "limits.cpu",
  "limits.memory",
  "limits.ephemeral-storage",
  "pods",
  "quota",
  "services",
  "replicationcontrollers",
  "secrets",
  "configmaps",
  "persistentvolumeclaims",
  "requests.storage",
  "services.nodeports",
  "services.loadbalancers",
])
const isHugePageResourceName = (name: string) => name.startsWith("hugepages-")
const isStandardResourceName = (name: string) =>
  standardResources.has(name) ||
  isHugePageResourceName(name) ||
  name.startsWith("requests.hugepages-")
const isStandardContainerResourceName = (name: string) =>
  standardContainerResources.has(name) || isHugePageResourceName(name)
const isNativeResource = (name: string) => !name.includes("/") || name.includes("kubernetes.io/")
const isExtendedResourceName = (name: string) =>
  !isNativeResource(name) &&
  !name.startsWith("requests.") &&
  isQualifiedName(`requests.${name}`).length === 0
/** Requests may be below limits only for native, non-hugepage resources. */
const isOvercommitAllowed = (name: string) =>
  isNativeResource(name) && !isHugePageResourceName(name)

/** Entries each memo below keeps at most; past it the memo starts over, so memory stays small whatever clients send. */
const memoLimit = 1024

/** The messages for a container resource name (`cpu`, `example.com/gpu`), in the order Kubernetes gives them. */
const containerResourceNameMessages = (name: string): ReadonlyArray<string> => {
  const qualified = isQualifiedName(name)
  const messages: Array<string> =
    qualified.length > 0
      ? [...qualified]
      : !name.includes("/") && !isStandardResourceName(name)
        ? ["must be a standard resource type or fully qualified"]
        : []
  if (!name.includes("/")) {
    if (!isStandardContainerResourceName(name)) {
      messages.push("must be a standard resource for containers")
    }
  } else if (!isNativeResource(name) && !isExtendedResourceName(name)) {
    messages.push("doesn't follow extended resource name standard")
  }
  return messages
}

// Pods name the same few resources: their messages are kept, bounded as the quantities are.
const resourceNameMemo = new Map<string, ReadonlyArray<string>>()

const validateContainerResourceName = (name: string, field: string): Array<FieldError> => {
  let messages = resourceNameMemo.get(name)
  if (messages === undefined) {
    messages = containerResourceNameMessages(name)
    if (resourceNameMemo.size >= memoLimit) resourceNameMemo.clear()
    resourceNameMemo.set(name, messages)
  }
  return messages.map((msg) => invalid(field, name, msg))
}

// Every write of a pod validates the same few quantity strings ("100m",
// "64Mi"): parsed ones are kept (Quantity is immutable).
const quantityMemo = new Map<string, Quantity | undefined>()

/** The quantity of a resource list entry (already syntax-checked by decoding). */
const quantityOf = (value: string): Quantity | undefined => {
  const known = quantityMemo.get(value)
  if (known !== undefined || quantityMemo.has(value)) return known
  const parsed = parseQuantity(value)
  const quantity = Result.isSuccess(parsed) ? parsed.success : undefined
  if (quantityMemo.size >= memoLimit) quantityMemo.clear()
  quantityMemo.set(value, quantity)
  return quantity
}

const validateResourceQuantityValue = (
  name: string,
  quantity: Quantity,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  if (quantity.sign() < 0) {
    errors.push(invalid(field, quantity.toString(), "must be greater than or equal to 0"))
  }
  // Extended resources are counted in whole units.
  if (!isNativeResource(name) && quantity.milliValue() % 1000 !== 0) {
    errors.push(invalid(field, quantity.toString(), "must be an integer"))
  }
  return errors
}

const validateResourceRequirements = (
  resources: CoreV1.ResourceRequirements | undefined,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  const limitsPath = child(field, "limits")
  const requestsPath = child(field, "requests")
  const limits = resources?.limits ?? {}
  const requests = resources?.requests ?? {}
  for (const name of Object.keys(limits).sort()) {
    const at = key(limitsPath, name)
    errors.push(...validateContainerResourceName(name, at))
    const quantity = quantityOf(limits[name] ?? "")
    if (quantity !== undefined) errors.push(...validateResourceQuantityValue(name, quantity, at))
  }
  for (const name of Object.keys(requests).sort()) {
    const at = key(requestsPath, name)
    errors.push(...validateContainerResourceName(name, at))
    const quantity = quantityOf(requests[name] ?? "")
    if (quantity === undefined) continue
    errors.push(...validateResourceQuantityValue(name, quantity, at))
    // hasOwn: a resource named "__proto__" must not read Object.prototype.
    const limitText = Object.hasOwn(limits, name) ? limits[name] : undefined
    const limit = limitText === undefined ? undefined : quantityOf(limitText)
    if (limit !== undefined) {
      if (quantity.cmp(limit) !== 0 && !isOvercommitAllowed(name)) {
        errors.push(
          invalid(
            requestsPath,
            quantity.toString(),
            `must be equal to ${name} limit of ${limit.toString()}`,
          ),
        )
      } else if (quantity.cmp(limit) > 0) {
        errors.push(
          invalid(
            requestsPath,
            quantity.toString(),
            `must be less than or equal to ${name} limit of ${limit.toString()}`,
          ),
        )
      }
    } else if (limitText === undefined && !isOvercommitAllowed(name)) {
      errors.push(required(limitsPath, "Limit must be set for non overcommitable resources"))
    }
  }
  return errors
}

const validateContainers = (
  containers: ReadonlyArray<CoreV1.Container>,
  volumes: Set<string>,
  field: string,
): Array<FieldError> => {
  if (containers.length === 0) return [required(field)]
  const errors: Array<FieldError> = []
  const names = new Set<string>()
  containers.forEach((container, i) => {
    const at = index(field, i)
    const namePath = child(at, "name")
    if (container.name === "") {
      errors.push(required(namePath))
    } else {
      errors.push(...dns1123Label(container.name, namePath))
    }
    if (names.has(container.name)) {
      errors.push(duplicate(namePath, container.name))
    } else {
      names.add(container.name)
    }
    if ((container.image ?? "") === "") errors.push(required(child(at, "image")))
    if (container.lifecycle !== undefined) {
      for (const hook of ["postStart", "preStop"] as const) {
        const handler = container.lifecycle[hook]
        if (handler !== undefined) {
          errors.push(...validateHandler(handler, child(child(at, "lifecycle"), hook)))
        }
      }
    }
    errors.push(...validateProbe(container.livenessProbe, child(at, "livenessProbe")))
    if (container.readinessProbe?.terminationGracePeriodSeconds !== undefined) {
      errors.push(
        invalid(
          child(child(at, "readinessProbe"), "terminationGracePeriodSeconds"),
          container.readinessProbe.terminationGracePeriodSeconds,
          "must not be set for readinessProbes",
        ),
      )
    }
    errors.push(...validateProbe(container.startupProbe, child(at, "startupProbe")))
    for (const probe of ["livenessProbe", "startupProbe"] as const) {
      const p = container[probe]
      if (p !== undefined && (p.successThreshold ?? 0) !== 1) {
        errors.push(
          invalid(
            child(child(at, probe), "successThreshold"),
            p.successThreshold ?? 0,
            "must be 1",
          ),
        )
      }
    }
    const policy = container.terminationMessagePolicy ?? ""
    if (policy === "") {
      errors.push(
        required(
          child(at, "terminationMessagePolicy"),
          "must be 'File' or 'FallbackToLogsOnError'",
        ),
      )
    } else if (policy !== "File" && policy !== "FallbackToLogsOnError") {
      errors.push(
        invalid(
          child(at, "terminationMessagePolicy"),
          policy,
          "must be 'File' or 'FallbackToLogsOnError'",
        ),
      )
    }
    errors.push(...validateProbe(container.readinessProbe, child(at, "readinessProbe")))
    errors.push(...validateContainerPorts(container.ports, child(at, "ports")))
    errors.push(...validateEnv(container.env, child(at, "env")))
    ;(container.envFrom ?? []).forEach((source, j) => {
      const from = index(child(at, "envFrom"), j)
      if ((source.prefix ?? "") !== "") {
        for (const msg of isEnvVarName(source.prefix ?? "")) {
          errors.push(invalid(child(from, "prefix"), source.prefix, msg))
        }
      }
      const sources = [source.configMapRef, source.secretRef].filter((s) => s !== undefined).length
      if (sources === 0) {
        errors.push(
          invalid(child(at, "envFrom"), "", "must specify one of: `configMapRef` or `secretRef`"),
        )
      } else if (sources > 1) {
        errors.push(
          invalid(child(at, "envFrom"), "", "may not have more than one field specified at a time"),
        )
      }
    })
    errors.push(...validateVolumeMounts(container.volumeMounts, volumes, child(at, "volumeMounts")))
    const pullPolicy = container.imagePullPolicy ?? ""
    if (pullPolicy === "") {
      errors.push(required(child(at, "imagePullPolicy")))
    } else if (!supportedPullPolicies.includes(pullPolicy)) {
      errors.push(notSupported(child(at, "imagePullPolicy"), pullPolicy, supportedPullPolicies))
    }
    errors.push(...validateResourceRequirements(container.resources, child(at, "resources")))
  })
  errors.push(...checkHostPortConflicts(containers, field))
  return errors
}

const validateInitContainers = (
  initContainers: ReadonlyArray<CoreV1.Container> | undefined,
  containers: ReadonlyArray<CoreV1.Container>,
  volumes: Set<string>,
  field: string,
): Array<FieldError> => {
  if (initContainers === undefined || initContainers.length === 0) return []
  const errors = validateContainers(initContainers, volumes, field).filter(
    // Init containers run one at a time: host ports may repeat between them.
    (e) => !(e.type === "FieldValueDuplicate" && e.field.endsWith(".hostPort")),
  )
  const names = new Set(containers.map((c) => c.name))
  initContainers.forEach((container, i) => {
    const at = index(field, i)
    if (names.has(container.name)) errors.push(duplicate(child(at, "name"), container.name))
    if (container.name !== "") names.add(container.name)
    for (const name of ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"] as const) {
      if (container[name] !== undefined) {
        errors.push(
          invalid(child(at, name), container[name], "must not be set for init containers"),
        )
      }
    }
  })
  return errors
}

// ---------------------------------------------------------------------------
// Scheduling constraints

const validateNodeSelectorRequirement = (
  requirement: CoreV1.NodeSelectorRequirement,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  const values = requirement.values ?? []
  switch (requirement.operator) {
    case "In":
    case "NotIn":
      if (values.length === 0) {
        errors.push(
          required(child(field, "values"), "must be specified when `operator` is 'In' or 'NotIn'"),
        )
      }
      break
    case "Exists":
    case "DoesNotExist":
      if (values.length > 0) {
        errors.push(
          forbidden(
            child(field, "values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        )
      }
      break
    case "Gt":
    case "Lt":
      if (values.length !== 1) {
        errors.push(
          required(
            child(field, "values"),
            "must be specified single value when `operator` is 'Lt' or 'Gt'",
          ),
        )
      }
      break
    default:
      errors.push(
        invalid(child(field, "operator"), requirement.operator, "not a valid selector operator"),
      )
  }
  errors.push(...validateLabelName(requirement.key, child(field, "key")))
  return errors
}

const validateNodeFieldSelectorRequirement = (
  requirement: CoreV1.NodeSelectorRequirement,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  const values = requirement.values ?? []
  if (requirement.operator === "In" || requirement.operator === "NotIn") {
    if (values.length !== 1) {
      errors.push(
        required(
          child(field, "values"),
          "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
        ),
      )
    }
  } else {
    errors.push(
      invalid(child(field, "operator"), requirement.operator, "not a valid selector operator"),
    )
  }
  if (requirement.key !== "metadata.name") {
    errors.push(invalid(child(field, "key"), requirement.key, "not a valid field selector key"))
  } else {
    values.forEach((value, i) => {
      for (const msg of nameIsDNSSubdomain(value, false)) {
        errors.push(invalid(index(child(field, "values"), i), value, msg))
      }
    })
  }
  return errors
}

const validateNodeSelectorTerm = (
  term: CoreV1.NodeSelectorTerm,
  field: string,
): Array<FieldError> => [
  ...(term.matchExpressions ?? []).flatMap((r, j) =>
    validateNodeSelectorRequirement(r, index(child(field, "matchExpressions"), j)),
  ),
  ...(term.matchFields ?? []).flatMap((r, j) =>
    validateNodeFieldSelectorRequirement(r, index(child(field, "matchFields"), j)),
  ),
]

const validatePodAffinityTerm = (
  term: CoreV1.PodAffinityTerm,
  field: string,
): Array<FieldError> => {
  const errors = [
    ...validateLabelSelector(term.labelSelector, child(field, "labelSelector")),
    ...validateLabelSelector(term.namespaceSelector, child(field, "namespaceSelector")),
  ]
  for (const namespace of term.namespaces ?? []) {
    for (const msg of nameIsDNSLabel(namespace, false)) {
      errors.push(invalid(child(field, "namespace"), namespace, msg))
    }
  }
  if (term.topologyKey === "")
    errors.push(required(child(field, "topologyKey"), "can not be empty"))
  errors.push(...validateLabelName(term.topologyKey, child(field, "topologyKey")))
  return errors
}

const validateWeight = (weight: number, field: string): Array<FieldError> =>
  weight <= 0 || weight > 100 ? [invalid(field, weight, "must be in the range 1-100")] : []

const validatePodAffinity = (
  affinity: CoreV1.PodAffinity | undefined,
  field: string,
): Array<FieldError> => {
  if (affinity === undefined) return []
  const requiredPath = child(field, "requiredDuringSchedulingIgnoredDuringExecution")
  const preferredPath = child(field, "preferredDuringSchedulingIgnoredDuringExecution")
  return [
    ...(affinity.requiredDuringSchedulingIgnoredDuringExecution ?? []).flatMap((term, i) =>
      validatePodAffinityTerm(term, index(requiredPath, i)),
    ),
    ...(affinity.preferredDuringSchedulingIgnoredDuringExecution ?? []).flatMap((term, i) => [
      ...validateWeight(term.weight, child(index(preferredPath, i), "weight")),
      ...validatePodAffinityTerm(
        term.podAffinityTerm,
        child(index(preferredPath, i), "podAffinityTerm"),
      ),
    ]),
  ]
}

const validateAffinity = (
  affinity: CoreV1.Affinity | undefined,
  field: string,
): Array<FieldError> => {
  if (affinity === undefined) return []
  const errors: Array<FieldError> = []
  const node = affinity.nodeAffinity
  if (node !== undefined) {
    const nodePath = child(field, "nodeAffinity")
    const requiredTerms = node.requiredDuringSchedulingIgnoredDuringExecution
    if (requiredTerms !== undefined) {
      const terms = child(
        child(nodePath, "requiredDuringSchedulingIgnoredDuringExecution"),
        "nodeSelectorTerms",
      )
      if (requiredTerms.nodeSelectorTerms.length === 0) {
        errors.push(required(terms, "must have at least one node selector term"))
      } else {
        requiredTerms.nodeSelectorTerms.forEach((term, i) => {
          errors.push(...validateNodeSelectorTerm(term, index(terms, i)))
        })
      }
    }
    const preferredPath = child(nodePath, "preferredDuringSchedulingIgnoredDuringExecution")
    ;(node.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((term, i) => {
      errors.push(...validateWeight(term.weight, child(index(preferredPath, i), "weight")))
      errors.push(
        ...validateNodeSelectorTerm(term.preference, child(index(preferredPath, i), "preference")),
      )
    })
  }
  errors.push(...validatePodAffinity(affinity.podAffinity, child(field, "podAffinity")))
  errors.push(...validatePodAffinity(affinity.podAntiAffinity, child(field, "podAntiAffinity")))
  return errors
}

const taintEffects = ["NoSchedule", "PreferNoSchedule", "NoExecute"]

const validateTaintEffect = (
  effect: string,
  allowEmpty: boolean,
  field: string,
): Array<FieldError> => {
  if (!allowEmpty && effect === "") return [required(field)]
  return taintEffects.includes(effect) ? [] : [notSupported(field, effect, taintEffects)]
}

/** `ValidateTolerations`. */
export const validateTolerations = (
  tolerations: ReadonlyArray<CoreV1.Toleration> | undefined,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  ;(tolerations ?? []).forEach((toleration, i) => {
    const at = index(field, i)
    const k = toleration.key ?? ""
    const operator = toleration.operator ?? ""
    const effect = toleration.effect ?? ""
    const value = toleration.value ?? ""
    if (k !== "") errors.push(...validateLabelName(k, child(at, "key")))
    if (k === "" && operator !== "Exists") {
      errors.push(
        invalid(
          child(at, "operator"),
          operator,
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      )
    }
    if (toleration.tolerationSeconds !== undefined && effect !== "NoExecute") {
      errors.push(
        invalid(
          child(at, "effect"),
          effect,
          "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
      )
    }
    switch (operator) {
      case "Equal":
      case "": {
        const msgs = isValidLabelValue(value)
        if (msgs.length > 0) errors.push(invalid(child(at, "operator"), value, msgs.join(";")))
        break
      }
      case "Exists":
        if (value !== "") {
          errors.push(
            invalid(
              child(at, "operator"),
              toleration,
              "value must be empty when `operator` is 'Exists'",
            ),
          )
        }
        break
      default:
        errors.push(notSupported(child(at, "operator"), operator, ["Equal", "Exists"]))
    }
    if (effect !== "") errors.push(...validateTaintEffect(effect, true, child(at, "effect")))
  })
  return errors
}

const validateTopologySpreadConstraints = (
  constraints: ReadonlyArray<CoreV1.TopologySpreadConstraint> | undefined,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  const seen = new Set<string>()
  ;(constraints ?? []).forEach((constraint, i) => {
    const at = index(field, i)
    if (constraint.maxSkew <= 0) {
      errors.push(invalid(child(at, "maxSkew"), constraint.maxSkew, "must be greater than zero"))
    }
    if (constraint.topologyKey === "") {
      errors.push(required(child(at, "topologyKey"), "can not be empty"))
    } else {
      errors.push(...validateLabelName(constraint.topologyKey, child(at, "topologyKey")))
    }
    const actions = ["DoNotSchedule", "ScheduleAnyway"]
    if (!actions.includes(constraint.whenUnsatisfiable)) {
      errors.push(
        notSupported(child(at, "whenUnsatisfiable"), constraint.whenUnsatisfiable, actions),
      )
    }
    const pair = `${constraint.topologyKey}/${constraint.whenUnsatisfiable}`
    if (seen.has(pair)) {
      errors.push(
        duplicate(
          child(at, "{topologyKey, whenUnsatisfiable}"),
          `{${constraint.topologyKey}, ${constraint.whenUnsatisfiable}}`,
        ),
      )
    }
    seen.add(pair)
    if (constraint.minDomains !== undefined && constraint.minDomains <= 0) {
      errors.push(invalid(child(at, "minDomains"), constraint.minDomains, "must be greater than 0"))
    }
    errors.push(...validateLabelSelector(constraint.labelSelector, child(at, "labelSelector")))
  })
  return errors
}

// ---------------------------------------------------------------------------
// Pod spec

/** `ValidatePodSpec`, for the fields this model has. */
export const validatePodSpec = (spec: CoreV1.PodSpec, field: string): Array<FieldError> => {
  const errors: Array<FieldError> = []
  const volumes = validateVolumes(spec.volumes, child(field, "volumes"))
  errors.push(...volumes.errors)
  errors.push(...validateContainers(spec.containers, volumes.names, child(field, "containers")))
  errors.push(
    ...validateInitContainers(
      spec.initContainers,
      spec.containers,
      volumes.names,
      child(field, "initContainers"),
    ),
  )
  const restartPolicy = spec.restartPolicy ?? ""
  if (restartPolicy === "") {
    errors.push(required(child(field, "restartPolicy")))
  } else if (!["Always", "OnFailure", "Never"].includes(restartPolicy)) {
    errors.push(
      notSupported(child(field, "restartPolicy"), restartPolicy, ["Always", "OnFailure", "Never"]),
    )
  }
  const dnsPolicies = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
  const dnsPolicy = spec.dnsPolicy ?? ""
  if (dnsPolicy === "") {
    errors.push(required(child(field, "dnsPolicy")))
  } else if (!dnsPolicies.includes(dnsPolicy)) {
    errors.push(notSupported(child(field, "dnsPolicy"), dnsPolicy, dnsPolicies))
  }
  errors.push(...validateLabels(spec.nodeSelector, child(field, "nodeSelector")))
  if (spec.hostNetwork === true) {
    spec.containers.forEach((container, i) => {
      ;(container.ports ?? []).forEach((port, j) => {
        if ((port.hostPort ?? 0) !== port.containerPort) {
          errors.push(
            invalid(
              child(
                index(child(index(child(field, "containers"), i), "ports"), j),
                "containerPort",
              ),
              port.containerPort,
              "must match `hostPort` when `hostNetwork` is true",
            ),
          )
        }
      })
    })
  }
  const security = spec.securityContext
  if (security !== undefined) {
    const at = child(field, "securityContext")
    const idError = (name: string, value: number | undefined) =>
      value !== undefined && (value < 0 || value > 2147483647)
        ? [invalid(child(at, name), value, inclusiveRangeError(0, 2147483647))]
        : []
    errors.push(...idError("runAsUser", security.runAsUser))
    errors.push(...idError("runAsGroup", security.runAsGroup))
    errors.push(...idError("fsGroup", security.fsGroup))
  }
  errors.push(...validateAffinity(spec.affinity, child(field, "affinity")))
  errors.push(
    ...validateTopologySpreadConstraints(
      spec.topologySpreadConstraints,
      child(field, "topologySpreadConstraints"),
    ),
  )
  if ((spec.serviceAccountName ?? "") !== "") {
    for (const msg of nameIsDNSSubdomain(spec.serviceAccountName ?? "", false)) {
      errors.push(invalid(child(field, "serviceAccountName"), spec.serviceAccountName, msg))
    }
  }
  if ((spec.nodeName ?? "") !== "") {
    for (const msg of nameIsDNSSubdomain(spec.nodeName ?? "", false)) {
      errors.push(invalid(child(field, "nodeName"), spec.nodeName, msg))
    }
  }
  if (spec.activeDeadlineSeconds !== undefined) {
    const value = spec.activeDeadlineSeconds
    if (value < 1 || value > 2147483647) {
      errors.push(
        invalid(child(field, "activeDeadlineSeconds"), value, inclusiveRangeError(1, 2147483647)),
      )
    }
  }
  if ((spec.hostname ?? "") !== "")
    errors.push(...dns1123Label(spec.hostname ?? "", child(field, "hostname")))
  if ((spec.subdomain ?? "") !== "") {
    errors.push(...dns1123Label(spec.subdomain ?? "", child(field, "subdomain")))
  }
  errors.push(...validateTolerations(spec.tolerations, child(field, "tolerations")))
  for (const alias of spec.hostAliases ?? []) {
    if (isValidIP(alias.ip).length > 0) {
      errors.push(
        invalid(child(child(field, "hostAliases"), "ip"), alias.ip, "must be valid IP address"),
      )
    }
    for (const hostname of alias.hostnames ?? []) {
      errors.push(...dns1123Subdomain(hostname, child(child(field, "hostAliases"), "hostnames")))
    }
  }
  if ((spec.priorityClassName ?? "") !== "") {
    for (const msg of nameIsDNSSubdomain(spec.priorityClassName ?? "", false)) {
      errors.push(invalid(child(field, "priorityClassName"), spec.priorityClassName, msg))
    }
  }
  if (spec.preemptionPolicy !== undefined) {
    const policies = ["PreemptLowerPriority", "Never"]
    if (spec.preemptionPolicy === "") errors.push(required(child(field, "preemptionPolicy")))
    else if (!policies.includes(spec.preemptionPolicy)) {
      errors.push(notSupported(child(field, "preemptionPolicy"), spec.preemptionPolicy, policies))
    }
  }
  if ((spec.schedulerName ?? "") !== "") {
    errors.push(...dns1123Subdomain(spec.schedulerName ?? "", child(field, "schedulerName")))
  }
  return errors
}

/** `ValidatePodTemplateSpec`: the template's labels and annotations, then its spec. */
export const validatePodTemplateSpec = (
  template: CoreV1.PodTemplateSpec,
  field: string,
): Array<FieldError> => [
  ...validateLabels(template.metadata.labels, child(child(field, "metadata"), "labels")),
  ...validateAnnotations(
    template.metadata.annotations,
    child(child(field, "metadata"), "annotations"),
  ),
  ...validatePodSpec(template.spec, child(field, "spec")),
]

/** `ValidatePodCreate`. */
export const validatePod = (pod: CoreV1.Pod): Array<FieldError> => {
  const errors = validateObjectMeta(pod.metadata, true, nameIsDNSSubdomain)
  // Controllers create many pods from one template: a spec equal to the last
  // one found valid (once stored, so frozen) is not walked again.
  errors.push(...podSpecRuleErrors(pod, lastValidSpec))
  return errors
}

/** The last pod spec `validatePodSpecRules` found valid. */
let lastValidSpec: CoreV1.PodSpec | undefined

/**
 * `validatePod` without the metadata rules: the errors of the spec and the
 * container images, none of them under `metadata.` (an update checks the
 * metadata with `validateObjectMetaUpdate` instead).
 */
export const validatePodSpecRules = (pod: CoreV1.Pod): Array<FieldError> => {
  const errors = validatePodSpecAndImages(pod)
  if (errors.length === 0) {
    markValid(pod.spec)
    lastValidSpec = pod.spec
  }
  return errors
}

/**
 * Marks a pod spec `validatePodSpecRules` found no error in, by a
 * non-enumerable symbol-keyed property (invisible to JSON, copies and
 * comparisons; cheaper than a WeakSet entry per write, which the collector
 * pays for). The rules read the spec alone, so a spec equal to a marked one
 * has none either: a pod update that leaves the spec as it was (a stored
 * pod's spec, validated when this process wrote it, frozen since) is not
 * validated again (`podSpecRuleErrors`). A frozen spec cannot be marked.
 */
const validSpec: unique symbol = Symbol("validSpec")
const markValid = (spec: object): void => {
  if (!Object.isFrozen(spec) && !Object.hasOwn(spec, validSpec))
    Object.defineProperty(spec, validSpec, { value: true })
}
const isMarkedValid = (spec: object): boolean =>
  (spec as { [validSpec]?: boolean })[validSpec] === true

/**
 * `validatePodSpecRules(pod)`, known to be none without the walk when the
 * spec equals `known`, a frozen spec found valid before (a stored pod's).
 */
export const podSpecRuleErrors = (
  pod: CoreV1.Pod,
  known: CoreV1.PodSpec | undefined,
): Array<FieldError> => {
  if (
    known !== undefined &&
    Object.isFrozen(known) &&
    isMarkedValid(known) &&
    jsonEqual(pod.spec, known)
  ) {
    // (`known` stays the one compared with: equal, and already frozen.)
    markValid(pod.spec)
    return []
  }
  return validatePodSpecRules(pod)
}

const validatePodSpecAndImages = (pod: CoreV1.Pod): Array<FieldError> => {
  const errors = validatePodSpec(pod.spec, "spec")
  const checkImages = (containers: ReadonlyArray<CoreV1.Container> | undefined, field: string) => {
    ;(containers ?? []).forEach((container, i) => {
      const image = container.image ?? ""
      if (image.length !== image.trim().length) {
        errors.push(
          invalid(
            child(index(field, i), "image"),
            image,
            "must not have leading or trailing whitespace",
          ),
        )
      }
    })
  }
  checkImages(pod.spec.containers, "spec.containers")
  checkImages(pod.spec.initContainers, "spec.initContainers")
  return errors
}

// ---------------------------------------------------------------------------
// Service

const serviceTypes = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]

/** `ValidateService`, for the fields this model has. */
export const validateService = (service: CoreV1.Service): Array<FieldError> => {
  const errors = validateObjectMeta(service.metadata, true, nameIsDNS1035Label)
  const spec = service.spec
  const type = spec.type ?? ""
  const ports = spec.ports ?? []
  const headless = spec.clusterIP === "None"
  if (ports.length === 0 && !headless && type !== "ExternalName") {
    errors.push(required("spec.ports"))
  }
  if (type === "") {
    errors.push(required("spec.type"))
  } else if (!serviceTypes.includes(type)) {
    errors.push(notSupported("spec.type", type, serviceTypes))
  }
  if (type === "ExternalName") {
    const externalName = spec.externalName ?? ""
    if (externalName === "") {
      errors.push(required("spec.externalName"))
    } else {
      errors.push(...dns1123Subdomain(externalName.replace(/\.$/, ""), "spec.externalName"))
    }
  }
  const names = new Set<string>()
  const requireName = ports.length > 1
  ports.forEach((port, i) => {
    const at = index("spec.ports", i)
    const name = port.name ?? ""
    if (requireName && name === "") {
      errors.push(required(child(at, "name")))
    } else if (name !== "") {
      errors.push(...dns1123Label(name, child(at, "name")))
      if (names.has(name)) errors.push(duplicate(child(at, "name"), name))
      else names.add(name)
    }
    for (const msg of isValidPortNum(port.port))
      errors.push(invalid(child(at, "port"), port.port, msg))
    const protocol = port.protocol ?? ""
    if (protocol === "") {
      errors.push(required(child(at, "protocol")))
    } else if (!supportedPortProtocols.includes(protocol)) {
      errors.push(notSupported(child(at, "protocol"), protocol, supportedPortProtocols))
    }
    errors.push(...validatePortNumOrName(port.targetPort ?? port.port, child(at, "targetPort")))
    if (type === "ClusterIP" && port.nodePort !== undefined && port.nodePort !== 0) {
      errors.push(forbidden(child(at, "nodePort"), "may not be used when `type` is 'ClusterIP'"))
    }
  })
  const seenPorts = new Set<string>()
  ports.forEach((port, i) => {
    const id = `${port.protocol ?? ""}/${port.port}`
    if (seenPorts.has(id)) {
      errors.push(
        duplicate(index("spec.ports", i), { port: port.port, protocol: port.protocol ?? "" }),
      )
    }
    seenPorts.add(id)
  })
  const affinity = spec.sessionAffinity ?? ""
  if (affinity === "") {
    errors.push(required("spec.sessionAffinity"))
  } else if (affinity !== "ClientIP" && affinity !== "None") {
    errors.push(notSupported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
  }
  if (affinity === "ClientIP") {
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds
    if (timeout !== undefined && (timeout <= 0 || timeout > 86400)) {
      errors.push(
        invalid(
          "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
          timeout,
          "must be greater than 0 and less than 86400",
        ),
      )
    }
  }
  const clusterIP = spec.clusterIP ?? ""
  if (clusterIP !== "" && clusterIP !== "None") {
    for (const msg of isValidIP(clusterIP)) errors.push(invalid("spec.clusterIP", clusterIP, msg))
  }
  ;(spec.externalIPs ?? []).forEach((ip, i) => {
    for (const msg of isValidIP(ip)) errors.push(invalid(index("spec.externalIPs", i), ip, msg))
  })
  errors.push(...validateLabels(spec.selector, "spec.selector"))
  if (type === "NodePort" || type === "LoadBalancer") {
    const policy = spec.externalTrafficPolicy ?? ""
    if (policy === "") errors.push(required("spec.externalTrafficPolicy"))
    else if (policy !== "Cluster" && policy !== "Local") {
      errors.push(notSupported("spec.externalTrafficPolicy", policy, ["Cluster", "Local"]))
    }
  }
  return errors
}

// ---------------------------------------------------------------------------
// Namespace, Node, Endpoints, Event

export const validateNamespace = (namespace: CoreV1.Namespace): Array<FieldError> => {
  const errors = validateObjectMeta(namespace.metadata, false, nameIsDNSLabel)
  ;(namespace.spec.finalizers ?? []).forEach((finalizer, i) => {
    for (const msg of isQualifiedName(finalizer)) {
      errors.push(invalid(index("spec.finalizers", i), finalizer, msg))
    }
  })
  return errors
}

export const validateNode = (node: CoreV1.Node): Array<FieldError> => {
  const errors = validateObjectMeta(node.metadata, false, nameIsDNSSubdomain)
  const seen = new Set<string>()
  ;(node.spec.taints ?? []).forEach((taint, i) => {
    const at = index("spec.taints", i)
    errors.push(...validateLabelName(taint.key, child(at, "key")))
    for (const msg of isValidLabelValue(taint.value ?? "")) {
      errors.push(invalid(child(at, "value"), taint.value, msg))
    }
    errors.push(...validateTaintEffect(taint.effect, false, child(at, "effect")))
    const id = `${taint.key}:${taint.effect}`
    if (seen.has(id)) {
      errors.push(
        duplicate(at, `taints must be unique by key and effect pair, ${taint.key}:${taint.effect}`),
      )
    }
    seen.add(id)
  })
  for (const [name, list] of [
    ["capacity", node.status.capacity],
    ["allocatable", node.status.allocatable],
  ] as const) {
    for (const resource of Object.keys(list ?? {}).sort()) {
      const quantity = quantityOf(list?.[resource] ?? "")
      if (quantity !== undefined && quantity.sign() < 0) {
        errors.push(
          invalid(
            child(child("status", name), resource),
            quantity.toString(),
            "must be greater than or equal to 0",
          ),
        )
      }
    }
  }
  return errors
}

export const validateEndpoints = (endpoints: CoreV1.Endpoints): Array<FieldError> => {
  const errors = validateObjectMeta(endpoints.metadata, true, nameIsDNSSubdomain)
  ;(endpoints.subsets ?? []).forEach((subset, i) => {
    const at = index("subsets", i)
    if ((subset.addresses ?? []).length === 0 && (subset.notReadyAddresses ?? []).length === 0) {
      errors.push(required(at, "must specify `addresses` or `notReadyAddresses`"))
    }
    for (const list of ["addresses", "notReadyAddresses"] as const) {
      ;(subset[list] ?? []).forEach((address, j) => {
        const ap = index(child(at, list), j)
        for (const msg of isValidIP(address.ip))
          errors.push(invalid(child(ap, "ip"), address.ip, msg))
        if ((address.hostname ?? "") !== "") {
          errors.push(...dns1123Label(address.hostname ?? "", child(ap, "hostname")))
        }
        if ((address.nodeName ?? "") !== "") {
          for (const msg of nameIsDNSSubdomain(address.nodeName ?? "", false)) {
            errors.push(invalid(child(ap, "nodeName"), address.nodeName, msg))
          }
        }
      })
    }
    const ports = subset.ports ?? []
    if (ports.length === 0) errors.push(required(child(at, "ports")))
    ports.forEach((port, j) => {
      const pp = index(child(at, "ports"), j)
      const name = port.name ?? ""
      if (ports.length > 1 && name === "") errors.push(required(child(pp, "name")))
      else if (name !== "") errors.push(...dns1123Label(name, child(pp, "name")))
      for (const msg of isValidPortNum(port.port))
        errors.push(invalid(child(pp, "port"), port.port, msg))
      const protocol = port.protocol ?? ""
      if (protocol === "") errors.push(required(child(pp, "protocol")))
      else if (!supportedPortProtocols.includes(protocol)) {
        errors.push(notSupported(child(pp, "protocol"), protocol, supportedPortProtocols))
      }
    })
    errors.push(
      ...duplicatesOf(
        ports.map((p) => p.name ?? ""),
        (j) => child(index(child(at, "ports"), j), "name"),
      ),
    )
  })
  return errors
}

export const validateEvent = (event: CoreV1.Event): Array<FieldError> => {
  const errors = validateObjectMeta(event.metadata, true, nameIsDNSSubdomain)
  const namespace = event.metadata.namespace ?? ""
  const involved = event.involvedObject.namespace ?? ""
  if (involved !== "" && involved !== namespace) {
    errors.push(invalid("involvedObject.namespace", involved, "does not match event.namespace"))
  }
  return errors
}
