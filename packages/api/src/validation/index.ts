/**
 * Validation of any object of the model, dispatched on `apiVersion` and
 * `kind`, returning Kubernetes field errors; `validationStatus` wraps them in
 * the 422 `Status` an API server answers. Objects are validated in their
 * preferred version after defaulting (legacy Deployments are converted to
 * apps/v1 first).
 */
import type * as AppsV1 from "../apps/v1.ts"
import type * as AutoscalingV1 from "../autoscaling/v1.ts"
import type { KubeObject } from "../codec.ts"
import type * as CoordinationV1 from "../coordination/v1.ts"
import type * as CoreV1 from "../core/v1.ts"
import {
  child,
  type FieldError,
  invalid,
  invalidStatus,
  notSupported,
  required,
} from "../errors.ts"
import type { Status } from "../meta/v1.ts"
import { parseApiVersion } from "../registry.ts"
import {
  validateDeployment,
  validateDeploymentUpdate,
  validateReplicaSet,
  validateReplicaSetUpdate,
} from "./apps.ts"
import {
  validateEndpoints,
  validateEvent,
  validateNamespace,
  validateNode,
  validatePod,
  validateService,
} from "./core.ts"
import { validateNodeUpdate, validatePodUpdate } from "./core-update.ts"
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts"

export * from "./apps.ts"
export * from "./core.ts"
export * from "./core-update.ts"
export * from "./meta.ts"

/** `ValidateLease`. */
export const validateLease = (lease: CoordinationV1.Lease): Array<FieldError> => {
  const errors = validateObjectMeta(lease.metadata, true, nameIsDNSSubdomain)
  const duration = lease.spec.leaseDurationSeconds
  if (duration !== undefined && duration <= 0) {
    errors.push(invalid(child("spec", "leaseDurationSeconds"), duration, "must be greater than 0"))
  }
  const transitions = lease.spec.leaseTransitions
  if (transitions !== undefined && transitions < 0) {
    errors.push(
      invalid(child("spec", "leaseTransitions"), transitions, "must be greater than or equal to 0"),
    )
  }
  return errors
}

/** `ValidatePodBinding`: the target is a node (kind `Node` or empty) with a name. */
export const validateBinding = (binding: CoreV1.Binding): Array<FieldError> => {
  const errors: Array<FieldError> = []
  const kind = binding.target.kind ?? ""
  if (kind !== "" && kind !== "Node") {
    errors.push(notSupported("target.kind", kind, ["Node", "<empty>"]))
  }
  if ((binding.target.name ?? "") === "") errors.push(required("target.name"))
  return errors
}

/** `ValidateScale`: a Scale names its object and asks for a non-negative count. */
export const validateScale = (scale: AutoscalingV1.Scale): Array<FieldError> => {
  const errors = validateObjectMeta(scale.metadata, true, nameIsDNSSubdomain)
  const replicas = scale.spec.replicas ?? 0
  if (replicas < 0) {
    errors.push(invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
  }
  return errors
}

/**
 * Validates an object on create. Kinds without rules of their own (Status,
 * Scale, ...) and versions other than the preferred ones return no errors.
 */
export const validate = (object: KubeObject): Array<FieldError> => {
  switch (`${object.apiVersion}/${object.kind}`) {
    case "v1/Pod":
      return validatePod(object as unknown as CoreV1.Pod)
    case "v1/Service":
      return validateService(object as unknown as CoreV1.Service)
    case "v1/Namespace":
      return validateNamespace(object as unknown as CoreV1.Namespace)
    case "v1/Node":
      return validateNode(object as unknown as CoreV1.Node)
    case "v1/Endpoints":
      return validateEndpoints(object as unknown as CoreV1.Endpoints)
    case "v1/Event":
      return validateEvent(object as unknown as CoreV1.Event)
    case "v1/Binding":
      return validateBinding(object as unknown as CoreV1.Binding)
    case "apps/v1/Deployment":
      return validateDeployment(object as unknown as AppsV1.Deployment)
    case "apps/v1/ReplicaSet":
      return validateReplicaSet(object as unknown as AppsV1.ReplicaSet)
    case "autoscaling/v1/Scale":
      return validateScale(object as unknown as AutoscalingV1.Scale)
    case "coordination.k8s.io/v1/Lease":
      return validateLease(object as unknown as CoordinationV1.Lease)
    default:
      return []
  }
}

/**
 * Validates an update of `previous` to `next`: the create rules plus the
 * update rules of metadata (immutable name, uid, ...), of pods (which spec
 * fields may change), of nodes (pod CIDRs and provider ID fixed once set) and
 * of Deployment and ReplicaSet selectors.
 */
export const validateUpdate = (next: KubeObject, previous: KubeObject): Array<FieldError> => {
  switch (`${next.apiVersion}/${next.kind}`) {
    case "v1/Pod":
      return validatePodUpdate(next as unknown as CoreV1.Pod, previous as unknown as CoreV1.Pod)
    case "v1/Node":
      return validateNodeUpdate(next as unknown as CoreV1.Node, previous as unknown as CoreV1.Node)
    case "apps/v1/Deployment":
      return validateDeploymentUpdate(
        next as unknown as AppsV1.Deployment,
        previous as unknown as AppsV1.Deployment,
      )
    case "apps/v1/ReplicaSet":
      return validateReplicaSetUpdate(
        next as unknown as AppsV1.ReplicaSet,
        previous as unknown as AppsV1.ReplicaSet,
      )
    default: {
      const metadataErrors = validateObjectMetaUpdate(next.metadata ?? {}, previous.metadata ?? {})
      const createErrors = validate(next).filter((e) => !e.field.startsWith("metadata."))
      return [...metadataErrors, ...createErrors]
    }
  }
}

/** The 422 `Status` for an object's validation errors (`Deployment.apps "web" is invalid: ...`). */
export const validationStatus = (object: KubeObject, errors: ReadonlyArray<FieldError>): Status =>
  invalidStatus(
    {
      group: parseApiVersion(object.apiVersion).group,
      kind: object.kind,
      name: object.metadata?.name ?? "",
    },
    errors,
  )
