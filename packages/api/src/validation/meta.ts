/**
 * Validation of metadata, labels, annotations and label selectors, as
 * apimachinery's `ValidateObjectMeta`, `ValidateLabels` and
 * `ValidateLabelSelector` do it. Maps are walked in sorted key order so the
 * error list is deterministic (Go's map order is random).
 */
import {
  child,
  duplicate,
  type FieldError,
  forbidden,
  index,
  invalid,
  required,
  tooLong,
} from "../errors.ts"
import type { LabelSelector } from "../labels.ts"
import type { ObjectMeta } from "../meta/v1.ts"
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  utf8Length,
} from "../names.ts"

/** Validates a name (or, with `prefix`, a generateName prefix); returns Kubernetes' messages. */
export type NameValidator = (name: string, prefix: boolean) => ReadonlyArray<string>

/** A generateName prefix may end in `-`: check it as if that dash were a letter. */
const maskTrailingDash = (name: string): string =>
  name.length > 1 && name.endsWith("-") ? `${name.slice(0, -1)}a` : name

/** Names that must be DNS subdomains (Pods, Nodes, Deployments, ReplicaSets, ...). */
export const nameIsDNSSubdomain: NameValidator = (name, prefix) =>
  isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name)
/** Names that must be DNS labels (Namespaces). */
export const nameIsDNSLabel: NameValidator = (name, prefix) =>
  isDNS1123Label(prefix ? maskTrailingDash(name) : name)
/** Names that must be RFC 1035 labels (Services). */
export const nameIsDNS1035Label: NameValidator = (name, prefix) =>
  isDNS1035Label(prefix ? maskTrailingDash(name) : name)

export const isNegativeErrorMsg = "must be greater than or equal to 0"

/** `ValidateNonnegativeField`. */
export const validateNonnegativeField = (value: number, field: string): Array<FieldError> =>
  value < 0 ? [invalid(field, value, isNegativeErrorMsg)] : []

const sortedKeys = (map: { readonly [key: string]: unknown } | undefined): Array<string> =>
  map === undefined ? [] : Object.keys(map).sort()

/** `ValidateLabelName`: a qualified name. */
export const validateLabelName = (name: string, field: string): Array<FieldError> =>
  isQualifiedName(name).map((msg) => invalid(field, name, msg))

/** `ValidateLabels`: qualified keys and valid values; errors name the map, not the key. */
export const validateLabels = (
  labels: { readonly [key: string]: string } | undefined,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  for (const k of sortedKeys(labels)) {
    errors.push(...validateLabelName(k, field))
    const v = labels?.[k] ?? ""
    for (const msg of isValidLabelValue(v)) errors.push(invalid(field, v, msg))
  }
  return errors
}

/** Kubernetes' limit on the total size of an object's annotations, keys plus values. */
export const totalAnnotationSizeLimitB = 256 * (1 << 10)

/** `ValidateAnnotations`: keys are qualified names in any case; 256 KiB in total. */
export const validateAnnotations = (
  annotations: { readonly [key: string]: string } | undefined,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  let size = 0
  for (const k of sortedKeys(annotations)) {
    for (const msg of isQualifiedName(k.toLowerCase())) errors.push(invalid(field, k, msg))
    size += utf8Length(k) + utf8Length(annotations?.[k] ?? "")
  }
  if (size > totalAnnotationSizeLimitB) errors.push(tooLong(field, totalAnnotationSizeLimitB))
  return errors
}

const validateOwnerReferences = (
  refs: ObjectMeta["ownerReferences"],
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  let firstController = ""
  for (const ref of refs ?? []) {
    const slash = ref.apiVersion.indexOf("/")
    const version = slash < 0 ? ref.apiVersion : ref.apiVersion.slice(slash + 1)
    if (version === "") {
      errors.push(invalid(child(field, "apiVersion"), ref.apiVersion, "version must not be empty"))
    }
    if (ref.kind === "") errors.push(invalid(child(field, "kind"), ref.kind, "must not be empty"))
    if (ref.name === "") errors.push(invalid(child(field, "name"), ref.name, "must not be empty"))
    if (ref.uid === "") errors.push(invalid(child(field, "uid"), ref.uid, "must not be empty"))
    if (ref.apiVersion === "v1" && ref.kind === "Event") {
      errors.push(invalid(field, ref, "/v1, Kind=Event is disallowed from being an owner"))
    }
    if (ref.controller === true) {
      const current = `${ref.kind}/${ref.name}`
      if (firstController !== "") {
        errors.push(
          invalid(
            field,
            refs,
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${current}`,
          ),
        )
      } else {
        firstController = current
      }
    }
  }
  return errors
}

const validateFinalizers = (
  finalizers: ReadonlyArray<string> | undefined,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  for (const f of finalizers ?? []) {
    for (const msg of isQualifiedName(f)) errors.push(invalid(field, f, msg))
  }
  if (finalizers?.includes("orphan") && finalizers.includes("foregroundDeletion")) {
    errors.push(
      invalid(field, finalizers, "finalizer orphan and foregroundDeletion cannot be both set"),
    )
  }
  return errors
}

/** Longest field manager name (apimachinery's `FieldManagerMaxLength`). */
export const fieldManagerMaxLength = 128

/** Longest managedFields subresource name (`MaxSubresourceNameLength`). */
const maxSubresourceNameLength = 256

/** Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u

/**
 * apimachinery's `ValidateFieldManager`: at most 128 bytes, every character
 * printable (the first one that is not is named with its byte position, as
 * Go's `%#U` prints it).
 */
export const validateFieldManager = (manager: string, field: string): Array<FieldError> => {
  const errors: Array<FieldError> = []
  if (utf8Length(manager) > fieldManagerMaxLength)
    errors.push(tooLong(field, fieldManagerMaxLength))
  let position = 0
  for (const ch of manager) {
    if (!printable.test(ch)) {
      const code = (ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")
      errors.push(invalid(field, manager, `invalid character U+${code} (at position ${position})`))
    }
    position += utf8Length(ch)
  }
  return errors
}

const validateManagedFields = (
  entries: ObjectMeta["managedFields"],
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  ;(entries ?? []).forEach((entry, i) => {
    const at = index(field, i)
    if (entry.operation !== "Apply" && entry.operation !== "Update") {
      errors.push(
        invalid(child(at, "operation"), entry.operation ?? "", "must be `Apply` or `Update`"),
      )
    }
    if (
      entry.fieldsType !== undefined &&
      entry.fieldsType !== "" &&
      entry.fieldsType !== "FieldsV1"
    ) {
      errors.push(invalid(child(at, "fieldsType"), entry.fieldsType, "must be `FieldsV1`"))
    }
    // ValidateManagedFields' order: operation, fieldsType, manager, subresource.
    errors.push(...validateFieldManager(entry.manager ?? "", child(at, "manager")))
    if (utf8Length(entry.subresource ?? "") > maxSubresourceNameLength)
      errors.push(tooLong(child(at, "subresource"), maxSubresourceNameLength))
  })
  return errors
}

/**
 * `ValidateObjectMeta` on create: the name (or generateName) by the kind's
 * rule, the namespace (required for namespaced kinds, forbidden otherwise),
 * generation, labels, annotations, owner references, finalizers, managedFields.
 */
export const validateObjectMeta = (
  meta: ObjectMeta,
  namespaced: boolean,
  nameFn: NameValidator,
  field = "metadata",
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  const generateName = meta.generateName ?? ""
  if (generateName !== "") {
    for (const msg of nameFn(generateName, true)) {
      errors.push(invalid(child(field, "generateName"), generateName, msg))
    }
  }
  const name = meta.name ?? ""
  if (name === "") {
    errors.push(required(child(field, "name"), "name or generateName is required"))
  } else {
    for (const msg of nameFn(name, false)) errors.push(invalid(child(field, "name"), name, msg))
  }
  const namespace = meta.namespace ?? ""
  if (namespaced) {
    if (namespace === "") {
      errors.push(required(child(field, "namespace")))
    } else {
      for (const msg of nameIsDNSLabel(namespace, false)) {
        errors.push(invalid(child(field, "namespace"), namespace, msg))
      }
    }
  } else if (namespace !== "") {
    errors.push(forbidden(child(field, "namespace"), "not allowed on this type"))
  }
  errors.push(...validateNonnegativeField(meta.generation ?? 0, child(field, "generation")))
  errors.push(...validateLabels(meta.labels, child(field, "labels")))
  errors.push(...validateAnnotations(meta.annotations, child(field, "annotations")))
  errors.push(...validateOwnerReferences(meta.ownerReferences, child(field, "ownerReferences")))
  errors.push(...validateFinalizers(meta.finalizers, child(field, "finalizers")))
  errors.push(...validateManagedFields(meta.managedFields, child(field, "managedFields")))
  return errors
}

export const fieldImmutableErrorMsg = "field is immutable"

// Equal primitives (the usual case: names, uids, timestamps) need no stringifying.
const sameJson = (a: unknown, b: unknown): boolean =>
  a === b || JSON.stringify(a) === JSON.stringify(b)

/** `ValidateImmutableField`. */
export const validateImmutableField = (
  next: unknown,
  previous: unknown,
  field: string,
): Array<FieldError> =>
  sameJson(next, previous) ? [] : [invalid(field, next, fieldImmutableErrorMsg)]

/**
 * `ValidateObjectMetaUpdate`: name, namespace, uid, creation and deletion
 * timestamps are immutable; resourceVersion is required; generation never
 * goes down; no new finalizers once deletion started.
 */
export const validateObjectMetaUpdate = (
  next: ObjectMeta,
  previous: ObjectMeta,
  field = "metadata",
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  if (previous.deletionTimestamp !== undefined) {
    const old = new Set(previous.finalizers ?? [])
    const added = (next.finalizers ?? []).filter((f) => !old.has(f))
    if (added.length > 0) {
      errors.push(
        forbidden(
          child(field, "finalizers"),
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${[
            ...new Set(added),
          ]
            .sort()
            .map((f) => JSON.stringify(f))
            .join(", ")}}`,
        ),
      )
    }
  }
  if ((next.resourceVersion ?? "") === "") {
    errors.push(
      invalid(
        child(field, "resourceVersion"),
        next.resourceVersion ?? "",
        "must be specified for an update",
      ),
    )
  }
  if ((next.generation ?? 0) < (previous.generation ?? 0)) {
    errors.push(
      invalid(child(field, "generation"), next.generation ?? 0, "must not be decremented"),
    )
  }
  for (const name of [
    "name",
    "namespace",
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
  ] as const) {
    errors.push(
      ...validateImmutableField(next[name] ?? "", previous[name] ?? "", child(field, name)),
    )
  }
  errors.push(...validateLabels(next.labels, child(field, "labels")))
  errors.push(...validateAnnotations(next.annotations, child(field, "annotations")))
  errors.push(...validateOwnerReferences(next.ownerReferences, child(field, "ownerReferences")))
  errors.push(...validateManagedFields(next.managedFields, child(field, "managedFields")))
  return errors
}

/** `ValidateLabelSelector`: operators, keys, values of every requirement, and matchLabels. */
export const validateLabelSelector = (
  selector: LabelSelector | undefined,
  field: string,
): Array<FieldError> => {
  if (selector === undefined) return []
  const errors = validateLabels(selector.matchLabels, child(field, "matchLabels"))
  ;(selector.matchExpressions ?? []).forEach((expression, i) => {
    const at = index(child(field, "matchExpressions"), i)
    const values = expression.values ?? []
    switch (expression.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0) {
          errors.push(
            required(child(at, "values"), "must be specified when `operator` is 'In' or 'NotIn'"),
          )
        }
        break
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0) {
          errors.push(
            forbidden(
              child(at, "values"),
              "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
          )
        }
        break
      default:
        errors.push(
          invalid(child(at, "operator"), expression.operator, "not a valid selector operator"),
        )
    }
    errors.push(...validateLabelName(expression.key, child(at, "key")))
    values.forEach((value, j) => {
      for (const msg of isValidLabelValue(value)) {
        errors.push(invalid(index(child(at, "values"), j), value, msg))
      }
    })
  })
  return errors
}

/** Reports each repeated value once per repetition, as Kubernetes' `Duplicate` errors do. */
export const duplicatesOf = (
  values: ReadonlyArray<string>,
  fieldOf: (i: number) => string,
): Array<FieldError> => {
  const seen = new Set<string>()
  const errors: Array<FieldError> = []
  values.forEach((value, i) => {
    if (value === "") return
    if (seen.has(value)) errors.push(duplicate(fieldOf(i), value))
    seen.add(value)
  })
  return errors
}
