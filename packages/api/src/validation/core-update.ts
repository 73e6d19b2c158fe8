/**
 * Update rules of core/v1 kinds whose spec is partly fixed once set.
 *
 * `ValidatePodUpdate`: which fields of a pod may change once it exists.
 * Kubernetes lets an update change only container and init container images,
 * lower (never remove) `activeDeadlineSeconds`, add tolerations (or change
 * an existing one's `tolerationSeconds`), and set a negative
 * `terminationGracePeriodSeconds` to 1; everything else in the spec is fixed
 * at creation (placement goes through the `binding` subresource, not an
 * update). Mirror-pod annotations may not be added, changed or removed. As in
 * Kubernetes v1.32 with `InPlacePodVerticalScaling` off (its default), resources
 * are immutable too.
 */
import { Result } from "effect"
import type * as CoreV1 from "../core/v1.ts"
import { child, type FieldError, forbidden, index, invalid, key } from "../errors.ts"
import { jsonEqual } from "../json.ts"
import { inclusiveRangeError } from "../names.ts"
import { parseQuantity } from "../quantity.ts"
import { podSpecRuleErrors, validateNode } from "./core.ts"
import { validateObjectMetaUpdate } from "./meta.ts"

/** `v1.MirrorPodAnnotationKey`: marks a pod the kubelet mirrors from a static manifest. */
export const mirrorPodAnnotationKey = "kubernetes.io/config.mirror"

/** The message of Kubernetes' Forbidden error for any other spec change (a diff follows it). */
export const podUpdateForbiddenMessage =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

const maxInt32 = 2147483647

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Go's semantic equality leaves nil and empty lists and maps equal; absent is nil here. */
const isEmpty = (value: unknown): boolean =>
  value === undefined ||
  (Array.isArray(value) && value.length === 0) ||
  (isRecord(value) && Object.keys(value).length === 0)

/** Keys whose values are resource lists: quantities compare by value (`1` equals `1000m`). */
const resourceLists = new Set(["requests", "limits", "overhead"])

/**
 * The paths where two values differ, as `apiequality.Semantic.DeepEqual`
 * sees them: key order does not matter, nil equals empty, quantities compare
 * by value. Stops after `limit` differences. `segments` is the path below
 * `root` (names, list indexes, resource-list keys as `[k]`); it is rendered
 * only for a difference, so walking equal subtrees builds no strings.
 */
const differences = (
  a: unknown,
  b: unknown,
  resourceList: boolean,
  walk: DifferencesWalk,
): void => {
  if (walk.out.length >= walk.limit) return
  if (a === b) return
  if (isEmpty(a) && isEmpty(b)) return
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) {
      walk.segments.push(i)
      differences(a[i], b[i], false, walk)
      walk.segments.pop()
    }
    return
  }
  if (isRecord(a) && isRecord(b)) {
    // The union of the keys, a's first: the order a Set of both would give.
    // (for-in over own keys: no key arrays, this runs on every pod update.)
    for (const k in a) {
      if (!Object.hasOwn(a, k)) continue
      if (walk.out.length >= walk.limit) return
      differencesAt(a, b, k, resourceList, walk)
    }
    for (const k in b) {
      if (!Object.hasOwn(b, k) || Object.hasOwn(a, k)) continue
      if (walk.out.length >= walk.limit) return
      differencesAt(a, b, k, resourceList, walk)
    }
    return
  }
  walk.out.push({ path: renderPath(walk.root, walk.segments), before: a, after: b })
}

/** Where `differences` is: the rendered root, the segments below it, what it found, and when to stop. */
interface DifferencesWalk {
  readonly root: string
  readonly segments: Array<string | number>
  readonly out: Array<{ path: string; before: unknown; after: unknown }>
  readonly limit: number
}

/** `differences` under one key of two records. */
const differencesAt = (
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  k: string,
  resourceList: boolean,
  walk: DifferencesWalk,
): void => {
  if (resourceList) {
    if (!sameQuantity(a[k], b[k]))
      walk.out.push({
        path: key(renderPath(walk.root, walk.segments), k),
        before: a[k],
        after: b[k],
      })
  } else {
    walk.segments.push(k)
    differences(a[k], b[k], resourceLists.has(k), walk)
    walk.segments.pop()
  }
}

/** `spec.containers[0].image` from `spec` and `["containers", 0, "image"]`. */
const renderPath = (root: string, segments: ReadonlyArray<string | number>): string => {
  let path = root
  for (const s of segments) path = typeof s === "number" ? index(path, s) : child(path, s)
  return path
}

const sameQuantity = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== "string" || typeof b !== "string") return false
  const qa = parseQuantity(a)
  const qb = parseQuantity(b)
  return Result.isSuccess(qa) && Result.isSuccess(qb) && qa.success.cmp(qb.success) === 0
}

const render = (value: unknown): string =>
  value === undefined ? "<absent>" : JSON.stringify(value)

/** Kubernetes prints a `cmp.Diff` of the specs; this prints the changed fields, old then new. */
const specDiff = (
  changes: ReadonlyArray<{ path: string; before: unknown; after: unknown }>,
): string =>
  changes.map((c) => `- ${c.path}: ${render(c.before)}\n+ ${c.path}: ${render(c.after)}`).join("\n")

/** `ValidatePodSpecificAnnotationUpdates`: the mirror-pod annotation never changes. */
const validateMirrorAnnotationUpdate = (
  next: Readonly<Record<string, string>> | undefined,
  previous: Readonly<Record<string, string>> | undefined,
  field: string,
): Array<FieldError> => {
  const errors: Array<FieldError> = []
  const now = next ?? {}
  const before = previous ?? {}
  for (const k of Object.keys(before)) {
    if (now[k] === before[k] || !k.startsWith(mirrorPodAnnotationKey)) continue
    errors.push(forbidden(key(field, k), "may not remove or update mirror pod annotation"))
  }
  for (const k of Object.keys(now)) {
    if (k in before || !k.startsWith(mirrorPodAnnotationKey)) continue
    errors.push(forbidden(key(field, k), "may not add mirror pod annotation"))
  }
  return errors
}

/** `ValidateContainerUpdates`: a pod keeps its number of containers. */
const sameContainerCount = (
  next: ReadonlyArray<CoreV1.Container> | undefined,
  previous: ReadonlyArray<CoreV1.Container> | undefined,
  field: string,
): Array<FieldError> =>
  (next ?? []).length === (previous ?? []).length
    ? []
    : [forbidden(field, "pod updates may not add or remove containers")]

const tolerationWithoutSeconds = (t: CoreV1.Toleration) =>
  `${t.key ?? ""}\u0000${t.operator ?? ""}\u0000${t.value ?? ""}\u0000${t.effect ?? ""}`

/** `validateOnlyAddedTolerations`: every old toleration is still there, up to its tolerationSeconds. */
const validateOnlyAddedTolerations = (
  next: ReadonlyArray<CoreV1.Toleration> | undefined,
  previous: ReadonlyArray<CoreV1.Toleration> | undefined,
  field: string,
): Array<FieldError> => {
  const present = new Set((next ?? []).map(tolerationWithoutSeconds))
  for (const old of previous ?? []) {
    if (!present.has(tolerationWithoutSeconds(old))) {
      return [
        forbidden(field, "existing toleration can not be modified except its tolerationSeconds"),
      ]
    }
  }
  return []
}

/**
 * `ValidatePodUpdate`: the metadata update rules, the spec rules of a create,
 * and the rules above. Errors in the order Kubernetes reports them; like
 * Kubernetes it stops early after a container count or deadline error.
 */
export const validatePodUpdate = (next: CoreV1.Pod, previous: CoreV1.Pod): Array<FieldError> => {
  const errors = validateObjectMetaUpdate(next.metadata, previous.metadata)
  // The create rules of the spec; the create rules of the metadata are left
  // out (their errors, all under `metadata.`, are not reported on update).
  // A spec equal to the stored one, found valid when it was written, is not walked again.
  errors.push(
    ...podSpecRuleErrors(next, previous.spec).filter((e) => !e.field.startsWith("metadata.")),
  )
  errors.push(
    ...validateMirrorAnnotationUpdate(
      next.metadata.annotations,
      previous.metadata.annotations,
      "metadata.annotations",
    ),
  )
  for (const name of ["containers", "initContainers"] as const) {
    const countErrors = sameContainerCount(next.spec[name], previous.spec[name], `spec.${name}`)
    if (countErrors.length > 0) return [...errors, ...countErrors]
  }

  // activeDeadlineSeconds: set from nil, or lowered; never removed.
  const deadline = next.spec.activeDeadlineSeconds
  const oldDeadline = previous.spec.activeDeadlineSeconds
  const deadlineField = "spec.activeDeadlineSeconds"
  if (deadline !== undefined) {
    if (deadline < 0 || deadline > maxInt32) {
      return [...errors, invalid(deadlineField, deadline, inclusiveRangeError(0, maxInt32))]
    }
    if (oldDeadline !== undefined && oldDeadline < deadline) {
      return [
        ...errors,
        invalid(deadlineField, deadline, "must be less than or equal to previous value"),
      ]
    }
  } else if (oldDeadline !== undefined) {
    errors.push(
      invalid(deadlineField, null, "must not update from a positive integer to nil value"),
    )
  }

  // An unchanged spec (most updates: metadata, or status through its own
  // path) keeps its tolerations and changes nothing else: nothing to compare.
  if (jsonEqual(next.spec, previous.spec)) return errors

  errors.push(
    ...validateOnlyAddedTolerations(
      next.spec.tolerations,
      previous.spec.tolerations,
      "spec.tolerations",
    ),
  )

  // Everything else must be unchanged: put the fields that may change back to
  // their old values and compare what is left.
  const withOldImages = (
    containers: ReadonlyArray<CoreV1.Container> | undefined,
    old: ReadonlyArray<CoreV1.Container> | undefined,
  ) =>
    containers?.map((c, i) => {
      const image = old?.[i]?.image
      const { image: _, ...rest } = c
      return image === undefined ? rest : { ...rest, image }
    })
  const grace = next.spec.terminationGracePeriodSeconds
  const oldGrace = previous.spec.terminationGracePeriodSeconds
  const munged: Record<string, unknown> = {
    ...next.spec,
    containers: withOldImages(next.spec.containers, previous.spec.containers),
    initContainers: withOldImages(next.spec.initContainers, previous.spec.initContainers),
    activeDeadlineSeconds: oldDeadline,
    tolerations: previous.spec.tolerations,
    terminationGracePeriodSeconds:
      oldGrace !== undefined && oldGrace < 0 && grace === 1 ? oldGrace : grace,
  }
  const changes: Array<{ path: string; before: unknown; after: unknown }> = []
  differences(previous.spec, munged, false, { root: "spec", segments: [], out: changes, limit: 20 })
  if (changes.length > 0) {
    errors.push(forbidden("spec", `${podUpdateForbiddenMessage}\n${specDiff(changes)}`))
  }
  return errors
}

/** The pod CIDRs of a v1 Node: `podCIDRs`, or the older single `podCIDR` (its first element). */
const podCIDRsOf = (spec: CoreV1.NodeSpec): ReadonlyArray<string> =>
  spec.podCIDRs ?? (spec.podCIDR === undefined || spec.podCIDR === "" ? [] : [spec.podCIDR])

/**
 * `ValidateNodeUpdate`: metadata update rules and the node rules, and the two
 * spec fields fixed once set: pod CIDRs and the provider ID (a controller
 * may set them from empty). Labels, taints, unschedulable and status change freely.
 */
export const validateNodeUpdate = (next: CoreV1.Node, previous: CoreV1.Node): Array<FieldError> => {
  const errors = validateObjectMetaUpdate(next.metadata, previous.metadata)
  errors.push(...validateNode(next).filter((e) => !e.field.startsWith("metadata.")))
  const oldCIDRs = podCIDRsOf(previous.spec)
  const newCIDRs = podCIDRsOf(next.spec)
  if (oldCIDRs.length > 0) {
    const message = 'node updates may not change podCIDR except from "" to valid'
    if (oldCIDRs.length !== newCIDRs.length) errors.push(forbidden("spec.podCIDRs", message))
    else {
      for (let i = 0; i < oldCIDRs.length; i++) {
        if (oldCIDRs[i] !== newCIDRs[i]) errors.push(forbidden("spec.podCIDRs", message))
      }
    }
  }
  const providerID = previous.spec.providerID ?? ""
  if (providerID !== "" && providerID !== (next.spec.providerID ?? "")) {
    errors.push(
      forbidden(
        "spec.providerID",
        'node updates may not change providerID except from "" to valid',
      ),
    )
  }
  return errors
}
