/**
 * Validation of apps/v1 Deployments and ReplicaSets as Kubernetes'
 * `pkg/apis/apps/validation` does it: replicas and timings non-negative, a
 * required non-empty selector that matches the template's labels, a template
 * that restarts Always, and (Deployments) a valid strategy.
 */
import { Result } from "effect"
import type * as AppsV1 from "../apps/v1.ts"
import {
  child,
  type FieldError,
  forbidden,
  invalid,
  notSupported,
  required,
  unquoted,
} from "../errors.ts"
import type { IntOrString } from "../intstr.ts"
import { type LabelSelector, labelSelectorAsSelector } from "../labels.ts"
import { isValidPercent } from "../names.ts"
import { validatePodTemplateSpec } from "./core.ts"
import {
  nameIsDNSSubdomain,
  validateImmutableField,
  validateLabelSelector,
  validateNonnegativeField,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts"

/** `ValidatePositiveIntOrPercent`: a non-negative integer or a percentage such as `25%`. */
const validatePositiveIntOrPercent = (value: IntOrString, field: string): Array<FieldError> =>
  typeof value === "string"
    ? isValidPercent(value).map((msg) => invalid(field, unquoted(value), msg))
    : validateNonnegativeField(value, field)

/** The number in an int-or-percent (`25%` -> 25), or -1 when the string is not a percentage. */
const intOrPercentValue = (value: IntOrString): number => {
  if (typeof value === "number") return value
  if (!value.endsWith("%")) return -1
  const n = Number.parseInt(value.slice(0, -1), 10)
  return Number.isNaN(n) ? -1 : n
}

const validateRollingUpdate = (
  rollingUpdate: AppsV1.RollingUpdateDeployment,
  field: string,
): Array<FieldError> => {
  const maxUnavailable = rollingUpdate.maxUnavailable ?? 0
  const maxSurge = rollingUpdate.maxSurge ?? 0
  const errors = [
    ...validatePositiveIntOrPercent(maxUnavailable, child(field, "maxUnavailable")),
    ...validatePositiveIntOrPercent(maxSurge, child(field, "maxSurge")),
  ]
  if (intOrPercentValue(maxUnavailable) === 0 && intOrPercentValue(maxSurge) === 0) {
    errors.push(
      invalid(
        child(field, "maxUnavailable"),
        unquoted(maxUnavailable),
        "may not be 0 when `maxSurge` is 0",
      ),
    )
  }
  if (typeof maxUnavailable === "string" && intOrPercentValue(maxUnavailable) > 100) {
    errors.push(
      invalid(
        child(field, "maxUnavailable"),
        unquoted(maxUnavailable),
        "must not be greater than 100%",
      ),
    )
  }
  return errors
}

const validateStrategy = (
  strategy: AppsV1.DeploymentStrategy | undefined,
  field: string,
): Array<FieldError> => {
  const s = strategy ?? {}
  switch (s.type ?? "") {
    case "Recreate":
      return s.rollingUpdate === undefined
        ? []
        : [
            forbidden(
              child(field, "rollingUpdate"),
              "may not be specified when strategy `type` is 'Recreate'",
            ),
          ]
    case "RollingUpdate":
      return s.rollingUpdate === undefined
        ? [required(child(field, "rollingUpdate"), "this should be defaulted and never be nil")]
        : validateRollingUpdate(s.rollingUpdate, child(field, "rollingUpdate"))
    default:
      return [notSupported(field, s, ["Recreate", "RollingUpdate"])]
  }
}

/** The selector checks shared by Deployments and ReplicaSets, then the template. */
const validateSelectorAndTemplate = (
  selector: LabelSelector | undefined,
  template: AppsV1.DeploymentSpec["template"],
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  const selectorPath = child(field, "selector")
  if (selector === undefined) {
    errors.push(required(selectorPath))
  } else {
    errors.push(...validateLabelSelector(selector, selectorPath))
    const size =
      Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions ?? []).length
    if (size === 0) {
      errors.push(invalid(selectorPath, selector, "empty selector is invalid for deployment"))
    }
  }
  const compiled = labelSelectorAsSelector(selector)
  if (Result.isFailure(compiled)) {
    errors.push(invalid(selectorPath, selector, "invalid label selector"))
    return errors
  }
  const templatePath = child(field, "template")
  // An absent selector selects nothing, so it never matches the template either.
  if (!compiled.success.empty() && !compiled.success.matches(template.metadata.labels ?? {})) {
    errors.push(
      invalid(
        child(child(templatePath, "metadata"), "labels"),
        template.metadata.labels,
        "`selector` does not match template `labels`",
      ),
    )
  }
  errors.push(...validatePodTemplateSpec(template, templatePath))
  const restartPolicy = template.spec.restartPolicy ?? ""
  if (restartPolicy !== "Always") {
    errors.push(
      notSupported(child(child(templatePath, "spec"), "restartPolicy"), restartPolicy, ["Always"]),
    )
  }
  if (template.spec.activeDeadlineSeconds !== undefined) {
    errors.push(
      invalid(
        child(child(templatePath, "spec"), "activeDeadlineSeconds"),
        template.spec.activeDeadlineSeconds,
        "activeDeadlineSeconds in ReplicaSet is not Supported",
      ),
    )
  }
  return errors
}

/** `ValidateDeploymentSpec`. */
export const validateDeploymentSpec = (
  spec: AppsV1.DeploymentSpec,
  field = "spec",
): Array<FieldError> => {
  const errors = validateNonnegativeField(spec.replicas ?? 0, child(field, "replicas"))
  errors.push(...validateSelectorAndTemplate(spec.selector, spec.template, field))
  errors.push(...validateStrategy(spec.strategy, child(field, "strategy")))
  errors.push(
    ...validateNonnegativeField(spec.minReadySeconds ?? 0, child(field, "minReadySeconds")),
  )
  if (spec.revisionHistoryLimit !== undefined) {
    errors.push(
      ...validateNonnegativeField(spec.revisionHistoryLimit, child(field, "revisionHistoryLimit")),
    )
  }
  if (spec.progressDeadlineSeconds !== undefined) {
    const deadline = spec.progressDeadlineSeconds
    errors.push(...validateNonnegativeField(deadline, child(field, "progressDeadlineSeconds")))
    if (deadline <= (spec.minReadySeconds ?? 0)) {
      errors.push(
        invalid(
          child(field, "progressDeadlineSeconds"),
          deadline,
          "must be greater than minReadySeconds",
        ),
      )
    }
  }
  return errors
}

/** `ValidateDeployment` (create). */
export const validateDeployment = (deployment: AppsV1.Deployment): Array<FieldError> => [
  ...validateObjectMeta(deployment.metadata, true, nameIsDNSSubdomain),
  ...validateDeploymentSpec(deployment.spec),
]

/** `ValidateDeploymentUpdate`: metadata update rules, the spec, and an immutable selector. */
export const validateDeploymentUpdate = (
  next: AppsV1.Deployment,
  previous: AppsV1.Deployment,
): Array<FieldError> => [
  ...validateObjectMetaUpdate(next.metadata, previous.metadata),
  ...validateDeploymentSpec(next.spec),
  ...validateImmutableField(next.spec.selector, previous.spec.selector, "spec.selector"),
]

/** `ValidateReplicaSetSpec`. */
export const validateReplicaSetSpec = (
  spec: AppsV1.ReplicaSetSpec,
  field = "spec",
): Array<FieldError> => [
  ...validateNonnegativeField(spec.replicas ?? 0, child(field, "replicas")),
  ...validateNonnegativeField(spec.minReadySeconds ?? 0, child(field, "minReadySeconds")),
  ...validateSelectorAndTemplate(spec.selector, spec.template, field),
]

/** `ValidateReplicaSet` (create). */
export const validateReplicaSet = (replicaSet: AppsV1.ReplicaSet): Array<FieldError> => [
  ...validateObjectMeta(replicaSet.metadata, true, nameIsDNSSubdomain),
  ...validateReplicaSetSpec(replicaSet.spec),
]

/** `ValidateReplicaSetUpdate`: metadata update rules, the spec, and an immutable selector. */
export const validateReplicaSetUpdate = (
  next: AppsV1.ReplicaSet,
  previous: AppsV1.ReplicaSet,
): Array<FieldError> => [
  ...validateObjectMetaUpdate(next.metadata, previous.metadata),
  ...validateReplicaSetSpec(next.spec),
  ...validateImmutableField(next.spec.selector, previous.spec.selector, "spec.selector"),
]
