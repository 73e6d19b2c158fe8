/**
 * Object semantics of the registry, as Kubernetes' `rest.BeforeCreate`,
 * `rest.BeforeUpdate` and the per-resource strategies apply them: system
 * fields (uid, creationTimestamp, generation), what a create resets (status),
 * what an update keeps (status unless through `/status`, identity, deletion
 * state), generation bumps on spec changes, pods' QoS class, namespaces'
 * finalizer, and graceful deletion. Pure: the clock and random choices arrive
 * as inputs.
 */
import {
  clone,
  deepEqual,
  isObject,
  metadataOf,
  type Obj,
  objectAt,
  rfc3339,
  stringAt,
} from "./json.ts"

/** What a write needs from outside: the time, and a fresh uid for creates. */
export interface WriteContext {
  readonly nowMs: number
  readonly uid: string
}

/** Resources whose objects carry `metadata.generation`, bumped on each spec change. */
const generational = new Set(["deployments", "replicasets"])

/** Kubernetes' alphabet for generated name suffixes (no vowels, no confusable digits). */
export const nameSuffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

/** A 5-character suffix for `generateName` from 5 random numbers in [0, 1). */
export const nameSuffix = (random: ReadonlyArray<number>): string => {
  let s = ""
  for (let i = 0; i < 5; i++) {
    const r = random[i] ?? 0
    s += nameSuffixAlphabet[Math.floor(r * nameSuffixAlphabet.length) % nameSuffixAlphabet.length]
  }
  return s
}

/** The name a create uses: the given one, else `generateName` + suffix (truncated as Kubernetes does). */
export const generatedName = (metadata: Obj, suffix: string): string => {
  const name = stringAt(metadata, "name")
  if (name !== "") return name
  const base = stringAt(metadata, "generateName")
  if (base === "") return ""
  // maxGeneratedNameLength = 63 - 5.
  return `${base.length > 58 ? base.slice(0, 58) : base}${suffix}`
}

const resourceList = (r: unknown): Obj => (isObject(r) ? r : {})

/** `GetPodQOS`: Guaranteed, Burstable or BestEffort from the containers' requests and limits. */
export const podQOSClass = (pod: Obj): string => {
  const spec = objectAt(pod, "spec")
  const containers = [
    ...(Array.isArray(spec.containers) ? spec.containers : []),
    ...(Array.isArray(spec.initContainers) ? spec.initContainers : []),
  ].filter(isObject)
  let anySet = false
  let guaranteed = true
  for (const c of containers) {
    const resources = objectAt(c, "resources")
    const requests = resourceList(resources.requests)
    const limits = resourceList(resources.limits)
    const computeRequests = Object.keys(requests).filter((k) => k === "cpu" || k === "memory")
    const computeLimits = Object.keys(limits).filter((k) => k === "cpu" || k === "memory")
    if (computeRequests.length > 0 || computeLimits.length > 0) anySet = true
    if (computeLimits.length < 2) guaranteed = false
    for (const k of computeRequests) {
      if (requests[k] !== limits[k]) guaranteed = false
    }
  }
  if (!anySet) return "BestEffort"
  return guaranteed ? "Guaranteed" : "Burstable"
}

/**
 * The `DefaultTolerationSeconds` admission plugin: a pod that does not
 * tolerate `node.kubernetes.io/not-ready` or `node.kubernetes.io/unreachable`
 * with effect NoExecute gets a 300-second toleration of each, so the node
 * lifecycle controller evicts it five minutes after its node goes away.
 */
export const defaultTolerationSeconds = 300
export const withDefaultTolerations = (pod: Obj): Obj => {
  const spec = objectAt(pod, "spec")
  const tolerations = Array.isArray(spec.tolerations) ? spec.tolerations.filter(isObject) : []
  const tolerates = (key: string) =>
    tolerations.some(
      (t) =>
        (t.operator === "Exists" &&
          (t.key === undefined || t.key === "") &&
          (t.effect === undefined || t.effect === "" || t.effect === "NoExecute")) ||
        (t.key === key && (t.effect === undefined || t.effect === "" || t.effect === "NoExecute")),
    )
  const added: Array<Obj> = []
  for (const key of ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]) {
    if (!tolerates(key)) {
      added.push({
        key,
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: defaultTolerationSeconds,
      })
    }
  }
  return added.length === 0
    ? pod
    : { ...pod, spec: { ...spec, tolerations: [...tolerations, ...added] } }
}

/** The status a create starts from, per resource (Kubernetes' `PrepareForCreate`). */
const initialStatus = (resource: string, object: Obj): Obj | undefined => {
  switch (resource) {
    case "deployments":
    case "replicasets":
      return {}
    case "services":
      return { loadBalancer: {} }
    case "pods":
      return { phase: "Pending", qosClass: podQOSClass(object) }
    case "namespaces":
      return { phase: "Active" }
    default:
      // Nodes, events, endpoints, leases: kept as sent.
      return undefined
  }
}

/**
 * Fills a new object's system fields and resets what a create may not set.
 * `object` is already decoded, defaulted, converted and named.
 */
export const prepareForCreate = (resource: string, object: Obj, ctx: WriteContext): Obj => {
  // A shallow copy: only top-level fields are replaced below, never changed
  // in place, and nothing on the write path changes a nested value (stored
  // objects are frozen), so the result may share them with its input.
  const out = { ...(resource === "pods" ? withDefaultTolerations(object) : object) }
  const metadata = { ...metadataOf(out) }
  delete metadata.resourceVersion
  delete metadata.selfLink
  delete metadata.deletionTimestamp
  delete metadata.deletionGracePeriodSeconds
  metadata.uid = ctx.uid
  metadata.creationTimestamp = rfc3339(ctx.nowMs)
  if (generational.has(resource)) metadata.generation = 1
  else delete metadata.generation
  out.metadata = metadata
  const status = initialStatus(resource, out)
  if (status !== undefined) out.status = status
  if (resource === "namespaces") {
    const spec = objectAt(out, "spec")
    const finalizers = Array.isArray(spec.finalizers) ? spec.finalizers : []
    out.spec = {
      ...spec,
      finalizers: finalizers.includes("kubernetes") ? finalizers : [...finalizers, "kubernetes"],
    }
  }
  return out
}

/** Whether an update through the main resource may change `status` (it may not, except for these). */
const statusFromMainResource = new Set(["events", "endpoints", "leases"])

/**
 * `rest.BeforeUpdate` plus the strategy's `PrepareForUpdate` for the main
 * resource: identity, creation time and deletion state come from the old
 * object; status too (it changes only through `/status`); generation is
 * bumped when the spec changed.
 */
export const prepareForUpdate = (resource: string, next: Obj, old: Obj): Obj => {
  // DefaultTolerationSeconds admits updates too, so a replace with the
  // original manifest keeps the tolerations the create added.
  // Shallow copies, as in prepareForCreate: nested values are shared, never changed.
  const out = { ...(resource === "pods" ? withDefaultTolerations(next) : next) }
  const oldMeta = metadataOf(old)
  const metadata = { ...metadataOf(out) }
  if (stringAt(metadata, "uid") === "") metadata.uid = oldMeta.uid
  if (oldMeta.creationTimestamp !== undefined)
    metadata.creationTimestamp = oldMeta.creationTimestamp
  else delete metadata.creationTimestamp
  for (const k of ["deletionTimestamp", "deletionGracePeriodSeconds"]) {
    if (oldMeta[k] !== undefined) metadata[k] = oldMeta[k]
    else delete metadata[k]
  }
  delete metadata.selfLink
  if (generational.has(resource)) {
    const oldGeneration = typeof oldMeta.generation === "number" ? oldMeta.generation : 1
    metadata.generation = deepEqual(out.spec, old.spec) ? oldGeneration : oldGeneration + 1
  } else if (oldMeta.generation !== undefined) {
    metadata.generation = oldMeta.generation
  } else {
    delete metadata.generation
  }
  out.metadata = metadata
  if (!statusFromMainResource.has(resource)) {
    if (old.status !== undefined) out.status = old.status
    else delete out.status
  }
  if (resource === "namespaces") {
    // spec.finalizers changes only through /finalize.
    out.spec = old.spec
  }
  return out
}

/**
 * An update through `/status`: the old object with the new status. Labels
 * and annotations may change too, as Kubernetes' status strategies allow for
 * most kinds; the spec may not.
 */
export const prepareForStatusUpdate = (next: Obj, old: Obj): Obj => {
  const out = clone(old)
  out.status = clone(next.status ?? {})
  const nextMeta = metadataOf(next)
  const metadata = { ...metadataOf(out) }
  for (const k of ["labels", "annotations"]) {
    if (nextMeta[k] !== undefined) metadata[k] = clone(nextMeta[k])
    else delete metadata[k]
  }
  if (nextMeta.managedFields !== undefined) metadata.managedFields = clone(nextMeta.managedFields)
  out.metadata = metadata
  return out
}

/** An update through a namespace's `/finalize`: only `spec.finalizers` changes. */
export const prepareForFinalize = (next: Obj, old: Obj): Obj => {
  const out = clone(old)
  const spec = objectAt(next, "spec")
  out.spec = { ...objectAt(out, "spec"), finalizers: clone(spec.finalizers ?? []) }
  if (!Array.isArray(spec.finalizers) || spec.finalizers.length === 0) {
    const s = { ...objectAt(out, "spec") }
    delete s.finalizers
    out.spec = s
  }
  return out
}

/** Two stored objects are the same write when they differ at most in resourceVersion and managedFields times. */
export const sameObject = (a: Obj, b: Obj): boolean =>
  sameMembers(a, b, isMetadata, sameValue) &&
  // A missing metadata counts as an empty one.
  sameMembers(metadataOf(a), metadataOf(b), isResourceVersion, sameMetadataMember)

const isMetadata = (k: string) => k === "metadata"
const sameValue = (_: string, x: unknown, y: unknown) => deepEqual(x, y)
const isResourceVersion = (k: string) => k === "resourceVersion"
const isTime = (k: string) => k === "time"

const sameMetadataMember = (k: string, x: unknown, y: unknown): boolean => {
  if (k !== "managedFields" || !Array.isArray(x) || !Array.isArray(y)) return deepEqual(x, y)
  if (x.length !== y.length) return false
  for (let i = 0; i < x.length; i++) {
    const e = x[i]
    const f = y[i]
    const same = isObject(e) && isObject(f) ? sameMembers(e, f, isTime, sameValue) : deepEqual(e, f)
    if (!same) return false
  }
  return true
}

/**
 * `deepEqual` of two objects' own members but those `ignore` names, each
 * pair compared by `same`: what comparing copies without them gives, without
 * the copies (this runs on every update).
 */
const sameMembers = (
  a: Obj,
  b: Obj,
  ignore: (k: string) => boolean,
  same: (k: string, x: unknown, y: unknown) => boolean,
): boolean => {
  let count = 0
  for (const k in a) {
    if (!Object.hasOwn(a, k) || ignore(k)) continue
    count++
    if (!Object.hasOwn(b, k) || !same(k, a[k], b[k])) return false
  }
  for (const k in b) if (Object.hasOwn(b, k) && !ignore(k)) count--
  return count === 0
}

// ---------------------------------------------------------------------------
// Deletion

/** What a DELETE does to a live object. */
export type DeletePlan =
  /** Remove it now. */
  | { readonly _tag: "Delete" }
  /** Keep it, marked for deletion (finalizers pending or a graceful pod); write this object. */
  | { readonly _tag: "Mark"; readonly object: Obj }
  /** Already marked with nothing to change: answer with it as it is. */
  | { readonly _tag: "Unchanged" }

export interface DeleteRequest {
  readonly gracePeriodSeconds: number | undefined
  readonly propagationPolicy: string | undefined
  readonly orphanDependents: boolean | undefined
}

const withFinalizer = (finalizers: ReadonlyArray<unknown>, f: string): Array<unknown> =>
  finalizers.includes(f) ? [...finalizers] : [...finalizers, f]

/**
 * `rest.BeforeDelete` and the deletion strategies: pods bound to a node are
 * deleted gracefully (deletionTimestamp = now + grace, the kubelet finishes
 * the job); objects with finalizers are marked and removed when the last
 * finalizer goes; `Foreground` and `Orphan` propagation add their finalizers
 * for the garbage collector; anything else is removed at once.
 */
export const planDelete = (
  resource: string,
  live: Obj,
  request: DeleteRequest,
  nowMs: number,
): DeletePlan => {
  const metadata = metadataOf(live)
  const finalizers = Array.isArray(metadata.finalizers) ? metadata.finalizers : []
  let wanted = finalizers
  const policy =
    request.propagationPolicy ?? (request.orphanDependents === true ? "Orphan" : undefined)
  if (policy === "Foreground")
    wanted = withFinalizer(
      wanted.filter((f) => f !== "orphan"),
      "foregroundDeletion",
    )
  if (policy === "Orphan")
    wanted = withFinalizer(
      wanted.filter((f) => f !== "foregroundDeletion"),
      "orphan",
    )
  if (resource === "namespaces") {
    // The namespace controller empties it, then drops spec.finalizers through /finalize.
    const spec = objectAt(live, "spec")
    const pending = Array.isArray(spec.finalizers) && spec.finalizers.length > 0
    if (!pending && wanted.length === 0) return { _tag: "Delete" }
    if (metadata.deletionTimestamp !== undefined && deepEqual(wanted, finalizers)) {
      return { _tag: "Unchanged" }
    }
    return {
      _tag: "Mark",
      object: {
        ...live,
        metadata: {
          ...metadata,
          deletionTimestamp: metadata.deletionTimestamp ?? rfc3339(nowMs),
          deletionGracePeriodSeconds: 0,
          ...(wanted.length > 0 ? { finalizers: wanted } : {}),
        },
        status: { ...objectAt(live, "status"), phase: "Terminating" },
      },
    }
  }
  let grace = 0
  if (resource === "pods") {
    const spec = objectAt(live, "spec")
    const phase = stringAt(objectAt(live, "status"), "phase")
    const bound = stringAt(spec, "nodeName") !== ""
    const terminal = phase === "Succeeded" || phase === "Failed"
    const specGrace =
      typeof spec.terminationGracePeriodSeconds === "number"
        ? spec.terminationGracePeriodSeconds
        : 30
    grace = request.gracePeriodSeconds ?? specGrace
    // Kubernetes: a grace period of 0 means "now" only when asked for; 1 is the minimum otherwise.
    if (!bound || terminal) grace = 0
  }
  if (grace === 0 && wanted.length === 0) return { _tag: "Delete" }
  const existingDeletion = metadata.deletionTimestamp
  if (existingDeletion !== undefined) {
    // Already being deleted: a shorter grace period may shorten it; finalizers may be added.
    const current =
      typeof metadata.deletionGracePeriodSeconds === "number"
        ? metadata.deletionGracePeriodSeconds
        : 0
    if (grace >= current && deepEqual(wanted, finalizers)) return { _tag: "Unchanged" }
    if (grace === 0 && wanted.length === 0) return { _tag: "Delete" }
  }
  return {
    _tag: "Mark",
    object: {
      ...live,
      metadata: {
        ...metadata,
        deletionTimestamp: rfc3339(nowMs + grace * 1000),
        deletionGracePeriodSeconds: grace,
        ...(wanted.length > 0 ? { finalizers: wanted } : {}),
      },
    },
  }
}

/**
 * After an update of an object marked for deletion: once no finalizer is
 * left and no grace period is running, the object is removed (Kubernetes'
 * `deletionFinalizersForGarbageCollection` path in `GuaranteedUpdate`).
 */
export const shouldRemoveAfterUpdate = (resource: string, object: Obj): boolean => {
  const metadata = metadataOf(object)
  if (metadata.deletionTimestamp === undefined) return false
  // A namespace also waits for its spec.finalizers (the namespace controller's "kubernetes").
  const specFinalizers = objectAt(object, "spec").finalizers
  if (resource === "namespaces" && Array.isArray(specFinalizers) && specFinalizers.length > 0)
    return false
  const finalizers = Array.isArray(metadata.finalizers) ? metadata.finalizers : []
  const grace =
    typeof metadata.deletionGracePeriodSeconds === "number"
      ? metadata.deletionGracePeriodSeconds
      : 0
  return finalizers.length === 0 && grace === 0
}
