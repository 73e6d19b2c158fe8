/**
 * Writes: create, update (PUT), patch (strategic merge, merge, JSON patch,
 * server-side apply), delete and deletecollection, and the subresources
 * (`status`, `scale`, `binding`, `log`, `finalize`). Each write decodes its
 * body once, then runs a pure preparation (`core/objects.ts`,
 * `core/managed.ts`, `core/patch.ts`) inside the store's optimistic update
 * loop, so a concurrent writer makes it re-read and re-apply rather than
 * overwrite.
 */
import {
  applyDefaults,
  autoscalingv1,
  type DecodeError,
  decodeWith,
  type FieldError,
  type FieldValidation,
  field,
  invalidStatus,
  type KubeObject,
  type LabelSelector,
  labelSelectorAsSelector,
  lookupKind,
  toPreferredVersion,
  validate,
  validateUpdate,
  validationStatus,
} from "@flotilla/api"
import type { Compare, RequestOp } from "@flotilla/store"
import { Effect, Random, Result, Schema, Stream } from "effect"
import {
  candidateIP,
  candidateNodePort,
  ipAllocationKey,
  ipInRange,
  kubernetesServiceIP,
  portAllocationKey,
} from "./core/allocation.ts"
import {
  checkDuplicates,
  decodeForResource,
  mediaType,
  parseObjectBody,
  parseText,
  typeMetaError,
} from "./core/body.ts"
import { clone, isObject, metadataOf, type Obj, objectAt, rfc3339, stringAt } from "./core/json.ts"
import { keyBytes, keyPrefix, objectKey } from "./core/keys.ts"
import {
  apply,
  conflictMessage,
  describeManager,
  type Manager,
  trackUpdate,
} from "./core/managed.ts"
import {
  generatedName,
  nameSuffix,
  planDelete,
  prepareForCreate,
  prepareForFinalize,
  prepareForStatusUpdate,
  prepareForUpdate,
  sameObject,
  shouldRemoveAfterUpdate,
} from "./core/objects.ts"
import { jsonMergePatch, jsonPatch, type PatchError, strategicMergePatch } from "./core/patch.ts"
import {
  checkPodLogOptions,
  decodeListOptions,
  decodeWriteOptions,
  validateListOptions,
  type WriteOptions,
} from "./core/request.ts"
import { servedApiVersions } from "./core/resources.ts"
import { compileSelectors } from "./core/selectors.ts"
import {
  type ApiError,
  alreadyExists,
  apiError,
  badRequest,
  conflict,
  forbidden,
  methodNotSupported,
  modifiedConflict,
  notFound,
  pathNotFound,
  unsupportedMediaType,
} from "./core/status.ts"
import { scaleType, typeOf } from "./core/typemeta.ts"
import { warningHeader } from "./core/warnings.ts"
import {
  type ApiResponse,
  errorResponse,
  type HandlerOptions,
  jsonResponse,
  type LogReader,
  listObjects,
  type ResourceContext,
  renderObject,
  toServed,
} from "./handler.ts"
import type { ObjectStore, Stored, UpdateDecision, UpdateOutcome } from "./storage.ts"

export interface WriteDeps {
  readonly store: ObjectStore
  readonly options: HandlerOptions
}

/** Namespaces that exist from the start and may not be deleted. */
export const systemNamespaces: ReadonlyArray<string> = [
  "default",
  "kube-system",
  "kube-public",
  "kube-node-lease",
]

/** Resources an update (PUT or non-apply patch) may create when the object is missing. */
const createOnUpdate = new Set(["events", "endpoints", "leases"])

const fail = (e: ApiError) => Effect.fail(e)
const fromResult = <A>(r: Result.Result<A, ApiError>): Effect.Effect<A, ApiError> =>
  Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(r.failure)

const target = (ctx: ResourceContext, name: string) => ({
  resource: ctx.served.resource.name,
  group: ctx.served.group,
  name,
})

const keyFor = (ctx: ResourceContext, name: string) =>
  objectKey(ctx.served.resource.name, ctx.served.namespaced, ctx.route.namespace, name)

/** Two lowercase hex digits per byte value (a uid per create: no toString and padStart each). */
const byteHex = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"))

/**
 * A v4 UUID from Effect's Random (seedable in tests): sixteen bytes drawn in
 * one step from the fiber's generator (each `floor(next * 256)`).
 */
export const randomUID = Effect.map(Random.Random, (random) => uidFrom(random))

/** The uid `randomUID` draws, from a generator already in hand (the create path takes it once). */
const uidFrom = (random: Random.Random): string => {
  let uid = ""
  for (let i = 0; i < 16; i++) {
    let b = Math.floor(random.nextDoubleUnsafe() * 256)
    if (i === 6) b = (b & 0x0f) | 0x40
    if (i === 8) b = (b & 0x3f) | 0x80
    if (i === 4 || i === 6 || i === 8 || i === 10) uid += "-"
    uid += byteHex[b] as string
  }
  return uid
}

/** A generateName suffix, five draws from the generator. */
const suffixFrom = (random: Random.Random): string => {
  const values: Array<number> = []
  for (let i = 0; i < 5; i++) values.push(random.nextDoubleUnsafe())
  return nameSuffix(values)
}

/** A response with the request's warnings as its `Warning` header (`299 - "unknown field ..."`). */
const withWarnings = (response: ApiResponse, warnings: ReadonlyArray<string>): ApiResponse => {
  const warning = warningHeader(warnings)
  return warning === undefined || response._tag !== "Body"
    ? response
    : { ...response, headers: { warning } }
}

/**
 * Defaults an object in the version it arrived in and converts it to the
 * storage version. The object model's decoded values are already in the wire
 * shape (its schemas only check; `test/storage-shape.test.ts` holds them to
 * that), so no encoding pass is needed on the write path.
 */
export const toStorageJson = (object: KubeObject): Result.Result<Obj, ApiError> => {
  const converted = toPreferredVersion(applyDefaults(object))
  if (Result.isFailure(converted)) return Result.fail(badRequest(converted.failure.message))
  return Result.succeed(converted.success as unknown as Obj)
}

const invalid = (object: Obj, errors: ReturnType<typeof validate>): ApiError =>
  apiError(validationStatus(object as unknown as KubeObject, errors))

const checkCreate = (object: Obj): Result.Result<Obj, ApiError> => {
  const errors = validate(object as unknown as KubeObject)
  return errors.length > 0 ? Result.fail(invalid(object, errors)) : Result.succeed(object)
}

const checkUpdate = (object: Obj, old: Obj): Result.Result<Obj, ApiError> => {
  const errors = validateUpdate(object as unknown as KubeObject, old as unknown as KubeObject)
  return errors.length > 0 ? Result.fail(invalid(object, errors)) : Result.succeed(object)
}

const namespaceRead = { serializable: true } as const

/** Creates are refused in a namespace that does not exist or is being deleted. */
const checkNamespace = (
  store: ObjectStore,
  ctx: ResourceContext,
  name: string,
): Effect.Effect<void, ApiError> => {
  if (!ctx.served.namespaced) return Effect.void
  // A local read: a namespace created a moment ago on another member may be missed, as
  // Kubernetes' namespace lister may miss it; deletion is checked the same way.
  return Effect.flatMap(
    store.get(objectKey("namespaces", false, "", ctx.route.namespace), namespaceRead),
    (ns) => {
      if (ns === undefined) {
        return fail(notFound({ resource: "namespaces", group: "", name: ctx.route.namespace }))
      }
      if (metadataOf(ns.object).deletionTimestamp !== undefined) {
        return fail(
          forbidden(
            target(ctx, name),
            `unable to create new content in namespace ${ctx.route.namespace} because it is being terminated`,
          ),
        )
      }
      return Effect.void
    },
  )
}

const managerOf = (ctx: ResourceContext, options: WriteOptions, subresource: string): Manager => ({
  manager: options.fieldManager,
  apiVersion: ctx.served.apiVersion,
  subresource,
  time: rfc3339(ctx.nowMs),
})

// ---------------------------------------------------------------------------
// Services: cluster IPs and node ports

interface Allocation {
  readonly object: Obj
  readonly compare: ReadonlyArray<Compare>
  readonly extra: ReadonlyArray<RequestOp>
  /** Values the request named itself: already taken is an error, not a reason to retry. */
  readonly absent: ReadonlyArray<{ readonly key: string; readonly error: ApiError }>
}

const allocationError = (svc: Obj, field: string, badValue: unknown, detail: string): ApiError =>
  apiError(
    validationStatus(svc as unknown as KubeObject, [
      { type: "FieldValueInvalid", field, badValue, detail },
    ]),
  )

const absent = (key: string): Compare => ({
  key: keyBytes(key),
  target: "CREATE",
  result: "EQUAL",
  create_revision: 0,
})
const claim = (key: string, owner: string): RequestOp => ({
  request_put: {
    key: keyBytes(key),
    value: new TextEncoder().encode(JSON.stringify({ service: owner })),
  },
})
const release = (key: string): RequestOp => ({ request_delete_range: { key: keyBytes(key) } })

const needsNodePorts = (type: string) => type === "NodePort" || type === "LoadBalancer"

const nodePortsOf = (svc: Obj | undefined): Set<number> => {
  const out = new Set<number>()
  if (svc === undefined) return out
  const ports = objectAt(svc, "spec").ports
  if (Array.isArray(ports)) {
    for (const p of ports)
      if (isObject(p) && typeof p.nodePort === "number" && p.nodePort > 0) out.add(p.nodePort)
  }
  return out
}

/**
 * Fills a Service's cluster IP and node ports (keeping the old ones on
 * update) and returns the transaction's claims and releases. `attempt`
 * picks the candidates; a lost race retries with the next.
 */
const allocateService = (
  svc: Obj,
  old: Obj | undefined,
  attempt: number,
): Result.Result<Allocation, ApiError> => {
  const out = clone(svc)
  const spec = { ...objectAt(out, "spec") }
  const oldSpec = old === undefined ? {} : objectAt(old, "spec")
  const owner = `${stringAt(metadataOf(svc), "namespace")}/${stringAt(metadataOf(svc), "name")}`
  const type = stringAt(spec, "type")
  const compare: Array<Compare> = []
  const extra: Array<RequestOp> = []
  const explicit: Array<{ readonly key: string; readonly error: ApiError }> = []
  const oldIP = stringAt(oldSpec, "clusterIP")
  let ip = stringAt(spec, "clusterIP")
  if (type === "ExternalName") {
    ip = ""
  } else if (ip === "" && oldIP !== "") {
    ip = oldIP
  } else if (oldIP !== "" && ip !== oldIP && stringAt(oldSpec, "type") !== "ExternalName") {
    return Result.fail(allocationError(svc, "spec.clusterIPs[0]", [ip], "may not change once set"))
  } else if (ip === "") {
    ip = candidateIP(owner, attempt)
    compare.push(absent(ipAllocationKey(ip)))
    extra.push(claim(ipAllocationKey(ip), owner))
  } else if (ip !== "None" && ip !== oldIP) {
    if (!ipInRange(ip) && ip !== kubernetesServiceIP) {
      return Result.fail(
        apiError(
          validationStatus(svc as unknown as KubeObject, [
            {
              type: "FieldValueInvalid",
              field: "spec.clusterIPs",
              badValue: [ip],
              detail:
                "failed to allocate IP " +
                ip +
                ": provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12",
            },
          ]),
        ),
      )
    }
    compare.push(absent(ipAllocationKey(ip)))
    extra.push(claim(ipAllocationKey(ip), owner))
    explicit.push({
      key: ipAllocationKey(ip),
      error: allocationError(
        svc,
        "spec.clusterIPs",
        [ip],
        `failed to allocate IP ${ip}: provided IP is already allocated`,
      ),
    })
  }
  if (oldIP !== "" && oldIP !== "None" && oldIP !== ip) extra.push(release(ipAllocationKey(oldIP)))
  if (ip === "") {
    delete spec.clusterIP
    delete spec.clusterIPs
  } else {
    spec.clusterIP = ip
    spec.clusterIPs = [ip]
    if (ip !== "None") {
      spec.ipFamilies = spec.ipFamilies ?? ["IPv4"]
      spec.ipFamilyPolicy = spec.ipFamilyPolicy ?? "SingleStack"
    }
  }
  const oldPorts = nodePortsOf(old)
  const kept = new Set<number>()
  if (Array.isArray(spec.ports)) {
    const oldList = Array.isArray(oldSpec.ports) ? oldSpec.ports.filter(isObject) : []
    spec.ports = spec.ports.map((p, i) => {
      if (!isObject(p)) return p
      const port = { ...p }
      if (!needsNodePorts(type)) {
        delete port.nodePort
        return port
      }
      let nodePort = typeof port.nodePort === "number" ? port.nodePort : 0
      const requested = nodePort
      if (nodePort === 0) {
        const previous = oldList.find(
          (o) => o.port === port.port && (o.protocol ?? "TCP") === (port.protocol ?? "TCP"),
        )
        if (
          previous !== undefined &&
          typeof previous.nodePort === "number" &&
          previous.nodePort > 0
        ) {
          nodePort = previous.nodePort
        }
      }
      if (nodePort === 0) {
        nodePort = candidateNodePort(owner, i, attempt)
      }
      if (!oldPorts.has(nodePort) && !kept.has(nodePort)) {
        compare.push(absent(portAllocationKey(nodePort)))
        extra.push(claim(portAllocationKey(nodePort), owner))
        if (requested !== 0) {
          explicit.push({
            key: portAllocationKey(nodePort),
            error: allocationError(
              svc,
              `spec.ports[${i}].nodePort`,
              nodePort,
              "provided port is already allocated",
            ),
          })
        }
      }
      kept.add(nodePort)
      port.nodePort = nodePort
      return port
    })
  }
  for (const p of oldPorts) if (!kept.has(p)) extra.push(release(portAllocationKey(p)))
  out.spec = spec
  return Result.succeed({ object: out, compare, extra, absent: explicit })
}

/** What deleting a Service releases. */
const serviceReleases = (svc: Obj): Array<RequestOp> => {
  const ops: Array<RequestOp> = []
  const ip = stringAt(objectAt(svc, "spec"), "clusterIP")
  if (ip !== "" && ip !== "None") ops.push(release(ipAllocationKey(ip)))
  for (const p of nodePortsOf(svc)) ops.push(release(portAllocationKey(p)))
  return ops
}

// ---------------------------------------------------------------------------
// Object pipeline

/** A put decision, with a Service's allocations when the object is a Service. */
const putDecision = (
  resource: string,
  object: Obj,
  old: Obj | undefined,
  attempt: number,
): Result.Result<UpdateDecision, ApiError> => {
  if (resource !== "services") return Result.succeed({ _tag: "Put", object })
  return Result.map(allocateService(object, old, attempt), (a) => ({
    _tag: "Put" as const,
    object: a.object,
    compare: a.compare,
    extra: a.extra,
    absent: a.absent,
  }))
}

/** Names and namespaces a decoded object for a create at this URL. */
/** The object's namespace, which must be the URL's (or unset, then the URL's is taken). */
const placeNamespace = (
  ctx: ResourceContext,
  metadata: { namespace?: string },
): Result.Result<void, ApiError> => {
  if (!ctx.served.namespaced) return Result.void
  const ns = metadata.namespace ?? ""
  if (ns !== "" && ns !== ctx.route.namespace) {
    return Result.fail(
      badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      ),
    )
  }
  metadata.namespace = ctx.route.namespace
  return Result.void
}

/** Names and namespaces a decoded object for a create at this URL. */
const placeForCreate = (
  ctx: ResourceContext,
  object: KubeObject,
  suffix: string,
): Result.Result<KubeObject, ApiError> => {
  const metadata = { ...object.metadata }
  const placed = placeNamespace(ctx, metadata)
  if (Result.isFailure(placed)) return Result.fail(placed.failure)
  const name = generatedName(metadata as Obj, suffix)
  if (name !== "") metadata.name = name
  return Result.succeed({ ...object, metadata })
}

/** Checks that a decoded object belongs at an update's URL (name and namespace). */
const placeForUpdate = (
  ctx: ResourceContext,
  object: KubeObject,
): Result.Result<KubeObject, ApiError> => {
  const metadata = { ...object.metadata }
  const name = metadata.name ?? ""
  if (name !== ctx.route.name) {
    return Result.fail(
      badRequest(
        `the name of the object (${name}) does not match the name on the URL (${ctx.route.name})`,
      ),
    )
  }
  const placed = placeNamespace(ctx, metadata)
  if (Result.isFailure(placed)) return Result.fail(placed.failure)
  return Result.succeed({ ...object, metadata })
}

/**
 * The shared tail of update, patch and apply: from the next object (storage
 * version, defaulted) and what is stored, decide what to write.
 */
const decideUpdate = (
  ctx: ResourceContext,
  options: WriteOptions,
  next: Obj,
  current: Stored,
  attempt: number,
  subresource: string,
): Result.Result<UpdateDecision, ApiError> => {
  const resource = ctx.served.resource.name
  const rv = stringAt(metadataOf(next), "resourceVersion")
  // A resourceVersion that is no revision at all is invalid, not stale: a 409 would send the
  // client to fetch and retry what can never succeed (Kubernetes: InvalidError on parsing it).
  if (rv !== "" && !/^\d+$/.test(rv)) {
    return Result.fail(
      invalid(next, [field.invalid("metadata.resourceVersion", rv, "must be an unsigned integer")]),
    )
  }
  if (rv !== "" && rv !== String(current.modRevision)) {
    return Result.fail(modifiedConflict(target(ctx, ctx.route.name)))
  }
  const old = current.object
  // An unconditional update (no resourceVersion) updates whatever is there.
  if (rv === "")
    next = {
      ...next,
      metadata: { ...metadataOf(next), resourceVersion: String(current.modRevision) },
    }
  const prepared =
    subresource === "status"
      ? prepareForStatusUpdate(next, old)
      : subresource === "finalize"
        ? prepareForFinalize(next, old)
        : prepareForUpdate(resource, next, old)
  const checked = checkUpdate(prepared, old)
  if (Result.isFailure(checked)) return Result.fail(checked.failure)
  const tracked = trackUpdate(old, prepared, typeOf(resource), managerOf(ctx, options, subresource))
  if (sameObject(tracked, old)) return Result.succeed({ _tag: "Noop", object: old })
  if (shouldRemoveAfterUpdate(resource, tracked)) {
    return Result.succeed({
      _tag: "Delete",
      extra: resource === "services" ? serviceReleases(old) : [],
    })
  }
  return putDecision(resource, tracked, old, attempt)
}

/** The decision of a write that creates (update or apply of a missing object). */
const decideCreate = (
  ctx: ResourceContext,
  options: WriteOptions,
  next: Obj,
  uid: string,
  attempt: number,
  operation: "Update" | "Apply",
): Result.Result<UpdateDecision, ApiError> => {
  const resource = ctx.served.resource.name
  if (stringAt(metadataOf(next), "resourceVersion") !== "") {
    return Result.fail(notFound(target(ctx, ctx.route.name)))
  }
  const prepared = prepareForCreate(resource, next, { nowMs: ctx.nowMs, uid })
  const checked = checkCreate(prepared)
  if (Result.isFailure(checked)) return Result.fail(checked.failure)
  const tracked =
    operation === "Apply"
      ? prepared
      : trackUpdate(undefined, prepared, typeOf(resource), managerOf(ctx, options, ""))
  return putDecision(resource, tracked, undefined, attempt)
}

/** The answer to a write: the object as written (201 when it was created), with the request's warnings. */
const outcomeResponse = (
  ctx: ResourceContext,
  outcome: UpdateOutcome,
  warnings: ReadonlyArray<string>,
): ApiResponse => {
  const object = outcome._tag === "Noop" ? outcome.object : outcome.stored.object
  const status = outcome._tag === "Put" && outcome.created ? 201 : 200
  return withWarnings(renderObject(ctx, object, status), warnings)
}

// ---------------------------------------------------------------------------
// create

/** The request's body decoded as the served kind, with repeated keys reported by fieldValidation. */
const decodeObjectBody = (ctx: ResourceContext, options: WriteOptions) =>
  Result.flatMap(
    parseObjectBody(ctx.request.body, ctx.request.headers["content-type"], options.fieldValidation),
    (body) => decodeForResource(ctx.served, body.value, options.fieldValidation, body.duplicates),
  )

/**
 * A request's body decoded, placed at its URL (`place`: named and
 * namespaced for a create, checked for an update), defaulted and converted
 * to the storage version: plain code, no Effect step per stage.
 */
const decodePlaced = (
  ctx: ResourceContext,
  options: WriteOptions,
  place: (object: KubeObject) => Result.Result<KubeObject, ApiError>,
): Result.Result<{ readonly next: Obj; readonly warnings: ReadonlyArray<string> }, ApiError> => {
  const decoded = decodeObjectBody(ctx, options)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const placed = place(decoded.success.object)
  if (Result.isFailure(placed)) return Result.fail(placed.failure)
  const next = toStorageJson(placed.success)
  if (Result.isFailure(next)) return Result.fail(next.failure)
  return Result.succeed({ next: next.success, warnings: decoded.success.warnings })
}

/**
 * A create's object, decoded, named, defaulted, converted and validated
 * (the generator drawn from in the order it always was: the name's suffix,
 * then the uid).
 */
const prepareCreate = (
  ctx: ResourceContext,
  options: WriteOptions,
  random: Random.Random,
): Result.Result<{ readonly next: Obj; readonly warnings: ReadonlyArray<string> }, ApiError> => {
  const body = decodePlaced(ctx, options, (object) =>
    placeForCreate(ctx, object, suffixFrom(random)),
  )
  if (Result.isFailure(body)) return body
  const uid = uidFrom(random)
  const prepared = checkCreate(
    prepareForCreate(ctx.served.resource.name, body.success.next, { nowMs: ctx.nowMs, uid }),
  )
  if (Result.isFailure(prepared)) return Result.fail(prepared.failure)
  return Result.succeed({ next: prepared.success, warnings: body.success.warnings })
}

const create = (
  deps: WriteDeps,
  ctx: ResourceContext,
  options: WriteOptions,
): Effect.Effect<ApiResponse, ApiError> =>
  Effect.flatMap(Random.Random, (random) => {
    const resource = ctx.served.resource.name
    const ready = prepareCreate(ctx, options, random)
    if (Result.isFailure(ready)) return fail(ready.failure)
    const { next: prepared, warnings } = ready.success
    const name = stringAt(metadataOf(prepared), "name")
    return Effect.flatMap(checkNamespace(deps.store, ctx, name), () => {
      const tracked = trackUpdate(
        undefined,
        prepared,
        typeOf(resource),
        managerOf(ctx, options, ""),
      )
      const key = keyFor(ctx, name)
      if (options.dryRun) {
        return Effect.flatMap(deps.store.get(key), (existing) => {
          if (existing !== undefined) return fail(alreadyExists(target(ctx, name)))
          if (resource !== "services")
            return Effect.succeed(withWarnings(renderObject(ctx, tracked, 201), warnings))
          const dry = allocateService(tracked, undefined, 0)
          if (Result.isFailure(dry)) return fail(dry.failure)
          return Effect.succeed(withWarnings(renderObject(ctx, dry.success.object, 201), warnings))
        })
      }
      if (resource !== "services") {
        return Effect.flatMap(deps.store.create(key, tracked), (stored) =>
          stored === undefined
            ? fail(alreadyExists(target(ctx, name)))
            : Effect.succeed(withWarnings(renderObject(ctx, stored.object, 201), warnings)),
        )
      }
      return Effect.map(
        deps.store.guaranteedUpdate(key, (current, attempt) =>
          current !== undefined
            ? fail(alreadyExists(target(ctx, name)))
            : fromResult(putDecision(resource, tracked, undefined, attempt)),
        ),
        (outcome) => outcomeResponse(ctx, outcome, warnings),
      )
    })
  })

// ---------------------------------------------------------------------------
// update

const update = (
  deps: WriteDeps,
  ctx: ResourceContext,
  options: WriteOptions,
  subresource: string,
): Effect.Effect<ApiResponse, ApiError> => {
  const resource = ctx.served.resource.name
  const body = decodePlaced(ctx, options, (object) => placeForUpdate(ctx, object))
  if (Result.isFailure(body)) return fail(body.failure)
  const { next, warnings } = body.success
  const key = keyFor(ctx, ctx.route.name)
  if (options.dryRun) return dryRunUpdate(deps, ctx, options, next, subresource, warnings)
  return Effect.map(
    deps.store.guaranteedUpdate(key, (current, attempt) => {
      if (current === undefined) {
        if (!createOnUpdate.has(resource) || subresource !== "")
          return fail(notFound(target(ctx, ctx.route.name)))
        return Effect.andThen(
          checkNamespace(deps.store, ctx, ctx.route.name),
          // A uid only for a create (drawn per attempt, not for every update).
          Effect.flatMap(randomUID, (uid) =>
            fromResult(decideCreate(ctx, options, next, uid, attempt, "Update")),
          ),
        )
      }
      return fromResult(decideUpdate(ctx, options, next, current, attempt, subresource))
    }),
    (outcome) => outcomeResponse(ctx, outcome, warnings),
  )
}

const dryRunUpdate = (
  deps: WriteDeps,
  ctx: ResourceContext,
  options: WriteOptions,
  next: Obj,
  subresource: string,
  warnings: ReadonlyArray<string>,
) =>
  Effect.gen(function* () {
    const current = yield* deps.store.get(keyFor(ctx, ctx.route.name))
    if (current === undefined) return yield* fail(notFound(target(ctx, ctx.route.name)))
    const decision = yield* fromResult(decideUpdate(ctx, options, next, current, 0, subresource))
    const object =
      decision._tag === "Put" || decision._tag === "Noop" ? decision.object : current.object
    return withWarnings(renderObject(ctx, object), warnings)
  })

// ---------------------------------------------------------------------------
// patch

const patchTypes = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
  "application/apply-patch+cbor",
] as const

const patchError = (e: PatchError): ApiError =>
  e.tooLarge
    ? apiError({
        apiVersion: "v1",
        kind: "Status",
        metadata: {},
        status: "Failure",
        message: `Request entity too large: ${e.message}`,
        reason: "RequestEntityTooLarge",
        code: 413,
      })
    : e.invalid
      ? apiError({
          apiVersion: "v1",
          kind: "Status",
          metadata: {},
          status: "Failure",
          message: e.message,
          reason: "Invalid",
          details: {},
          code: 422,
        })
      : badRequest(e.message)

/** Applies a non-apply patch to a served-version object. */
const applyPatch = (type: string, live: Obj, patch: unknown, resource: string, isScale: boolean) =>
  Result.mapError(
    type === "application/json-patch+json"
      ? jsonPatch(live, patch)
      : type === "application/merge-patch+json"
        ? jsonMergePatch(live, patch)
        : strategicMergePatch(live, patch, isScale ? scaleType : typeOf(resource)),
    patchError,
  )

/** Decodes a patched or applied object of the served kind, defaults and converts it. */
const admit = (ctx: ResourceContext, object: unknown, fieldValidation: FieldValidation) =>
  Effect.gen(function* () {
    if (!isObject(object)) return yield* fail(badRequest("the patched object is not a JSON object"))
    const decoded = yield* fromResult(decodeForResource(ctx.served, object, fieldValidation))
    const placed = yield* fromResult(placeForUpdate(ctx, decoded.object))
    const next = yield* fromResult(toStorageJson(placed))
    return { next, warnings: decoded.warnings }
  })

const patch = (deps: WriteDeps, ctx: ResourceContext, options: WriteOptions, subresource: string) =>
  Effect.gen(function* () {
    const type = mediaType(ctx.request.headers["content-type"])
    if (
      !(patchTypes as ReadonlyArray<string>).includes(type) ||
      type === "application/apply-patch+cbor"
    ) {
      return yield* fail(unsupportedMediaType(type, patchTypes.slice(0, 4)))
    }
    const parsed = yield* fromResult(
      parseText(
        ctx.request.body,
        type === "application/apply-patch+yaml" ? type : "application/json",
        // A JSON patch is a list of operations: only merge patches are checked for repeated keys.
        type === "application/json-patch+json" ? "Ignore" : options.fieldValidation,
      ),
    )
    const patchValue = parsed.value
    if (type === "application/apply-patch+yaml")
      return yield* applyRequest(deps, ctx, options, patchValue, subresource, parsed.duplicates)
    const patchWarnings = yield* fromResult(
      checkDuplicates(parsed.duplicates, options.fieldValidation),
    )
    const resource = ctx.served.resource.name
    const key = keyFor(ctx, ctx.route.name)
    let warnings: ReadonlyArray<string> = patchWarnings
    const decide = (current: Stored | undefined, attempt: number) =>
      Effect.gen(function* () {
        if (current === undefined) return yield* fail(notFound(target(ctx, ctx.route.name)))
        const live = toServed(ctx.served, current.object)
        const patched = yield* fromResult(applyPatch(type, live, patchValue, resource, false))
        const admitted = yield* admit(ctx, patched, options.fieldValidation)
        warnings =
          patchWarnings.length === 0 ? admitted.warnings : [...patchWarnings, ...admitted.warnings]
        return yield* fromResult(
          decideUpdate(ctx, options, admitted.next, current, attempt, subresource),
        )
      })
    if (options.dryRun) {
      const current = yield* deps.store.get(key)
      const decision = yield* decide(current, 0)
      const object =
        decision._tag === "Put" || decision._tag === "Noop"
          ? decision.object
          : (current?.object ?? {})
      return withWarnings(renderObject(ctx, object), warnings)
    }
    const outcome = yield* deps.store.guaranteedUpdate(key, decide)
    return outcomeResponse(ctx, outcome, warnings)
  })

// ---------------------------------------------------------------------------
// server-side apply

const applyRequest = (
  deps: WriteDeps,
  ctx: ResourceContext,
  options: WriteOptions,
  patchValue: unknown,
  subresource: string,
  duplicates: ReadonlyArray<string>,
) =>
  Effect.gen(function* () {
    const resource = ctx.served.resource.name
    if (
      ctx.request.query.get("fieldManager") === null ||
      ctx.request.query.get("fieldManager") === ""
    ) {
      return yield* fail(
        badRequest("PATCH /apis: fieldManager is required for apply requests", [
          {
            reason: "FieldValueRequired",
            message: "is required for apply patch",
            field: "fieldManager",
          },
        ]),
      )
    }
    if (!isObject(patchValue))
      return yield* fail(badRequest("the applied configuration must be an object"))
    // An applied configuration states intent, not ownership (Kubernetes' FieldManager.Apply).
    const appliedMeta = patchValue.metadata
    if (
      isObject(appliedMeta) &&
      appliedMeta.managedFields !== undefined &&
      appliedMeta.managedFields !== null
    ) {
      return yield* fail(
        badRequest("metadata.managedFields must be nil", [
          {
            reason: "FieldValueForbidden",
            message: "must be nil",
            field: "metadata.managedFields",
          },
        ]),
      )
    }
    // The configuration names the version it is applied at (it is not converted).
    const appliedVersion = typeof patchValue.apiVersion === "string" ? patchValue.apiVersion : ""
    if (appliedVersion !== ctx.served.apiVersion) {
      return yield* fail(
        badRequest(
          `Incorrect version specified in apply patch. Specified patch version: ${appliedVersion}, expected: ${ctx.served.apiVersion}`,
          [
            {
              reason: "FieldValueInvalid",
              message: `must be ${ctx.served.apiVersion}`,
              field: "apiVersion",
            },
          ],
        ),
      )
    }
    // The configuration is decoded strictly as the served kind (unknown fields are errors).
    const decoded = yield* fromResult(
      decodeForResource(ctx.served, patchValue, options.fieldValidation, duplicates),
    )
    const configuration = yield* fromResult(
      Result.map(placeForUpdate(ctx, decoded.object), (o) => {
        // The configuration as sent (decoding fills Go's zero values, which were not applied).
        const raw = { ...patchValue, apiVersion: ctx.served.apiVersion, kind: ctx.served.kind }
        const metadata: Obj = { ...objectAt(raw, "metadata"), name: o.metadata?.name ?? "" }
        if (ctx.served.namespaced) metadata.namespace = ctx.route.namespace
        return { ...raw, metadata } as Obj
      }),
    )
    const who = managerOf(ctx, options, subresource)
    const key = keyFor(ctx, ctx.route.name)
    const decide = (current: Stored | undefined, attempt: number) =>
      Effect.gen(function* () {
        const live = current === undefined ? undefined : toServed(ctx.served, current.object)
        if (current === undefined && subresource !== "")
          return yield* fail(notFound(target(ctx, ctx.route.name)))
        const result = apply(live, configuration, typeOf(resource), who, options.force === true)
        if (result._tag === "Conflicts") {
          return yield* fail(
            apiError({
              apiVersion: "v1",
              kind: "Status",
              metadata: {},
              status: "Failure",
              message: conflictMessage(result.conflicts),
              reason: "Conflict",
              details: {
                name: ctx.route.name,
                group: ctx.served.group,
                kind: ctx.served.resource.name,
                causes: result.conflicts.map((c) => ({
                  reason: "FieldManagerConflict",
                  message: `conflict with ${describeManager(c)}`,
                  field: c.path,
                })),
              },
              code: 409,
            }),
          )
        }
        const admitted = yield* admit(ctx, result.object, "Ignore")
        if (current === undefined) {
          yield* checkNamespace(deps.store, ctx, ctx.route.name)
          const uid = yield* randomUID
          return yield* fromResult(decideCreate(ctx, options, admitted.next, uid, attempt, "Apply"))
        }
        // Apply's managedFields are already right: keep them through the update tail.
        return yield* fromResult(decideApplied(ctx, admitted.next, current, attempt, subresource))
      })
    if (options.dryRun) {
      const current = yield* deps.store.get(key)
      const decision = yield* decide(current, 0)
      const object =
        decision._tag === "Put" || decision._tag === "Noop"
          ? decision.object
          : (current?.object ?? {})
      return withWarnings(
        renderObject(ctx, object, current === undefined ? 201 : 200),
        decoded.warnings,
      )
    }
    const outcome = yield* deps.store.guaranteedUpdate(key, decide)
    return outcomeResponse(ctx, outcome, decoded.warnings)
  })

/** The update tail for an applied object, whose managedFields apply() already wrote. */
const decideApplied = (
  ctx: ResourceContext,
  next: Obj,
  current: Stored,
  attempt: number,
  subresource: string,
): Result.Result<UpdateDecision, ApiError> => {
  const resource = ctx.served.resource.name
  const old = current.object
  next = {
    ...next,
    metadata: { ...metadataOf(next), resourceVersion: String(current.modRevision) },
  }
  const base =
    subresource === "status"
      ? prepareForStatusUpdate(next, old)
      : prepareForUpdate(resource, next, old)
  const prepared = {
    ...base,
    metadata: { ...metadataOf(base), managedFields: metadataOf(next).managedFields },
  }
  if (prepared.metadata.managedFields === undefined) delete (prepared.metadata as Obj).managedFields
  const checked = checkUpdate(prepared, old)
  if (Result.isFailure(checked)) return Result.fail(checked.failure)
  if (sameObject(prepared, old)) return Result.succeed({ _tag: "Noop", object: old })
  return putDecision(resource, prepared, old, attempt)
}

// ---------------------------------------------------------------------------
// delete

const DeleteOptionsBody = lookupKind("v1", "DeleteOptions")

/**
 * A body of a fixed kind (DeleteOptions, Binding) must not name another kind
 * or version: 400s in the words of the object decoders (`decodeForResource`).
 */
const checkTypeMeta = (
  body: Obj,
  kind: string,
  apiVersion: string,
  versions: ReadonlySet<string> = new Set([apiVersion]),
): ApiError | undefined => {
  const typeError = typeMetaError(body)
  if (typeError !== undefined) return typeError
  if (typeof body.kind === "string" && body.kind !== "" && body.kind !== kind) {
    return badRequest(
      `the kind in the data (${body.kind}) does not match the expected kind (${kind}) of the request`,
    )
  }
  if (
    typeof body.apiVersion === "string" &&
    body.apiVersion !== "" &&
    !versions.has(body.apiVersion)
  ) {
    return badRequest(
      `the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersion})`,
    )
  }
  return undefined
}

/** A body of a fixed kind that did not decode: `<Kind> in version "v1" cannot be handled as a <Kind>: ...` with causes. */
const cannotHandle = (kind: string, error: DecodeError): ApiError =>
  badRequest(
    `${kind} in version "v1" cannot be handled as a ${kind}: ${field.aggregateMessage(error.problems.map((p) => `${p.field}: ${p.message}`))}`,
    error.problems.map((p) => ({ reason: p.reason, message: p.message, field: p.field })),
  )

/** Group versions a DeleteOptions body may name (Kubernetes also accepts each group's own). */
const deleteOptionsVersions = new Set([
  "v1",
  "meta.k8s.io/v1",
  "meta.k8s.io/v1beta1",
  ...servedApiVersions,
])

const deleteOptionsInvalid = (errors: ReadonlyArray<FieldError>): ApiError =>
  apiError(invalidStatus({ group: "meta.k8s.io", kind: "DeleteOptions", name: "" }, errors))

const deleteOptionsOf = (ctx: ResourceContext) =>
  Effect.gen(function* () {
    const q = ctx.request.query
    let body: Obj = {}
    if (ctx.request.body.length > 0) {
      const parsed = (yield* fromResult(parseText(ctx.request.body, "application/json"))).value
      if (!isObject(parsed)) return yield* fail(badRequest("DeleteOptions must be a JSON object"))
      const typeMeta = checkTypeMeta(parsed, "DeleteOptions", "v1", deleteOptionsVersions)
      if (typeMeta !== undefined) return yield* fail(typeMeta)
      if (DeleteOptionsBody !== undefined) {
        const decoded = decodeWith(DeleteOptionsBody.schema, parsed)
        if (Result.isFailure(decoded))
          return yield* fail(cannotHandle("DeleteOptions", decoded.failure))
      }
      body = parsed
    }
    const graceQuery = q.get("gracePeriodSeconds")
    let grace = typeof body.gracePeriodSeconds === "number" ? body.gracePeriodSeconds : undefined
    if (graceQuery !== null && graceQuery !== "") {
      if (!/^-?\d+$/.test(graceQuery))
        return yield* fail(badRequest(`invalid value for gracePeriodSeconds: ${graceQuery}`))
      grace = Number(graceQuery)
    }
    // Negative grace periods mean one second (rest.BeforeDelete).
    if (grace !== undefined && grace < 0) grace = 1
    const policy =
      q.get("propagationPolicy") ??
      (typeof body.propagationPolicy === "string" ? body.propagationPolicy : undefined)
    const orphanQuery = q.get("orphanDependents")
    const orphanDependents =
      orphanQuery !== null && orphanQuery !== ""
        ? orphanQuery !== "false" && orphanQuery !== "0"
        : typeof body.orphanDependents === "boolean"
          ? body.orphanDependents
          : undefined
    // ValidateDeleteOptions: a 422 on DeleteOptions naming each bad field.
    const errors: Array<FieldError> = []
    if (orphanDependents !== undefined && policy !== undefined) {
      errors.push(
        field.invalid(
          "propagationPolicy",
          policy,
          "orphanDependents and deletionPropagation cannot be both set",
        ),
      )
    }
    if (policy !== undefined && !["Orphan", "Background", "Foreground"].includes(policy)) {
      errors.push(
        field.notSupported("propagationPolicy", policy, [
          "Foreground",
          "Background",
          "Orphan",
          "nil",
        ]),
      )
    }
    const bodyDryRun = Array.isArray(body.dryRun) ? body.dryRun : []
    if (!bodyDryRun.every((d) => d === "All")) {
      errors.push(field.notSupported("dryRun", bodyDryRun, ["All"]))
    }
    if (errors.length > 0) return yield* fail(deleteOptionsInvalid(errors))
    const preconditions = isObject(body.preconditions) ? body.preconditions : {}
    return {
      gracePeriodSeconds: grace,
      propagationPolicy: policy ?? undefined,
      orphanDependents,
      uid: typeof preconditions.uid === "string" ? preconditions.uid : undefined,
      resourceVersion:
        typeof preconditions.resourceVersion === "string"
          ? preconditions.resourceVersion
          : undefined,
      dryRun: bodyDryRun.length > 0,
    }
  })

type DeleteOptionsDecoded = Effect.Success<ReturnType<typeof deleteOptionsOf>>

const deleteOne = (
  deps: WriteDeps,
  ctx: ResourceContext,
  name: string,
  opts: DeleteOptionsDecoded,
  dryRun: boolean,
) =>
  Effect.gen(function* () {
    const resource = ctx.served.resource.name
    if (resource === "namespaces" && systemNamespaces.includes(name)) {
      return yield* fail(
        forbidden({ resource, group: "", name }, "this namespace may not be deleted"),
      )
    }
    const key = keyFor(ctx, name)
    const decide = (current: Stored | undefined) =>
      Effect.gen(function* () {
        if (current === undefined) return yield* fail(notFound(target(ctx, name)))
        const meta = metadataOf(current.object)
        if (opts.uid !== undefined && opts.uid !== stringAt(meta, "uid")) {
          return yield* fail(
            conflict(
              target(ctx, name),
              `Precondition failed: UID in precondition: ${opts.uid}, UID in object meta: ${stringAt(meta, "uid")}`,
            ),
          )
        }
        if (
          opts.resourceVersion !== undefined &&
          opts.resourceVersion !== String(current.modRevision)
        ) {
          return yield* fail(
            conflict(
              target(ctx, name),
              `Precondition failed: ResourceVersion in precondition: ${opts.resourceVersion}, ResourceVersion in object meta: ${current.modRevision}`,
            ),
          )
        }
        const plan = planDelete(resource, current.object, opts, ctx.nowMs)
        switch (plan._tag) {
          case "Delete":
            return {
              _tag: "Delete",
              extra: resource === "services" ? serviceReleases(current.object) : [],
            } as UpdateDecision
          case "Mark":
            return { _tag: "Put", object: plan.object } as UpdateDecision
          case "Unchanged":
            return { _tag: "Noop", object: current.object } as UpdateDecision
        }
      })
    if (dryRun) {
      const current = yield* deps.store.get(key)
      const decision = yield* decide(current)
      return {
        object:
          decision._tag === "Delete"
            ? (current as Stored).object
            : decision._tag === "Put" || decision._tag === "Noop"
              ? decision.object
              : {},
        pending: decision._tag !== "Delete",
      }
    }
    const outcome = yield* deps.store.guaranteedUpdate(key, (current) => decide(current))
    if (outcome._tag === "Deleted") return { object: outcome.stored.object, pending: false }
    if (outcome._tag === "Put") return { object: outcome.stored.object, pending: true }
    return { object: outcome.object, pending: true }
  })

const deleteRequest = (deps: WriteDeps, ctx: ResourceContext, options: WriteOptions) =>
  Effect.gen(function* () {
    const opts = yield* deleteOptionsOf(ctx)
    const result = yield* deleteOne(deps, ctx, ctx.route.name, opts, options.dryRun || opts.dryRun)
    return renderObject(ctx, result.object, result.pending ? 202 : 200)
  })

const deleteCollection = (deps: WriteDeps, ctx: ResourceContext, options: WriteOptions) =>
  Effect.gen(function* () {
    const listOptions = decodeListOptions(ctx.request.query)
    if (!listOptions.ok) return yield* fail(listOptions.error)
    const invalid = validateListOptions(listOptions.value, false)
    if (invalid !== undefined) return yield* fail(invalid)
    const predicate = compileSelectors(
      ctx.served.resource.name,
      ctx.served.kind,
      listOptions.value.labelSelector,
      listOptions.value.fieldSelector,
    )
    if (Result.isFailure(predicate)) return yield* fail(badRequest(predicate.failure))
    const opts = yield* deleteOptionsOf(ctx)
    const prefix = keyPrefix(
      ctx.served.resource.name,
      ctx.served.namespaced ? ctx.route.namespace : "",
    )
    const listed = yield* listObjects(
      deps.store,
      prefix,
      { ...listOptions.value, limit: 0, continue: "" },
      predicate.success,
    )
    const deleted: Array<Obj> = []
    for (const object of listed.items) {
      const name = stringAt(metadataOf(object), "name")
      const result = yield* deleteOne(deps, ctx, name, opts, options.dryRun || opts.dryRun).pipe(
        Effect.catch((e: ApiError) =>
          e.status.code === 404 ? Effect.succeed(undefined) : Effect.fail(e),
        ),
      )
      if (result !== undefined) deleted.push(toServed(ctx.served, result.object))
    }
    return jsonResponse(200, {
      kind: ctx.served.listKind,
      apiVersion: ctx.served.apiVersion,
      metadata: { resourceVersion: String(listed.revision) },
      items: deleted,
    })
  })

// ---------------------------------------------------------------------------
// scale

const scaleOf = (object: Obj): Obj => {
  const meta = metadataOf(object)
  const spec = objectAt(object, "spec")
  const selector = spec.selector
  const parsed = isObject(selector)
    ? labelSelectorAsSelector(selector as unknown as LabelSelector)
    : undefined
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      uid: meta.uid,
      resourceVersion: meta.resourceVersion,
      creationTimestamp: meta.creationTimestamp,
    },
    spec: { replicas: typeof spec.replicas === "number" ? spec.replicas : 0 },
    status: {
      replicas:
        typeof objectAt(object, "status").replicas === "number"
          ? objectAt(object, "status").replicas
          : 0,
      ...(parsed !== undefined && Result.isSuccess(parsed)
        ? { selector: parsed.success.toString() }
        : {}),
    },
  }
}

const scaleResponse = (object: Obj, status = 200) => jsonResponse(status, scaleOf(object))

const decodeScale = (
  value: unknown,
  fieldValidation: FieldValidation,
): Result.Result<Obj, ApiError> => {
  if (!isObject(value)) return Result.fail(badRequest("a Scale must be a JSON object"))
  const decoded = decodeWith(
    autoscalingv1.Scale as unknown as Schema.Codec<unknown, unknown>,
    value,
    { fieldValidation },
  )
  if (Result.isFailure(decoded)) return Result.fail(cannotHandle("Scale", decoded.failure))
  const replicas = objectAt(value, "spec").replicas
  if (typeof replicas === "number" && replicas < 0) {
    return Result.fail(
      apiError(
        validationStatus(
          {
            apiVersion: "autoscaling/v1",
            kind: "Scale",
            metadata: metadataOf(value),
          } as KubeObject,
          [
            {
              type: "FieldValueInvalid",
              field: "spec.replicas",
              badValue: replicas,
              detail: "must be greater than or equal to 0",
            },
          ],
        ),
      ),
    )
  }
  return Result.succeed(value)
}

/**
 * A Scale written (whole or patched) names the object at the URL, as
 * Kubernetes' `checkName` requires of every update and patch; a uid, when
 * given, is a precondition (the scale subresources' `UpdatedObject`).
 */
const checkScaleIdentity = (
  ctx: ResourceContext,
  scale: Obj,
  live: Obj,
): Result.Result<void, ApiError> => {
  const name = stringAt(scale, "name")
  if (name !== ctx.route.name) {
    return Result.fail(
      badRequest(
        `the name of the object (${name}) does not match the name on the URL (${ctx.route.name})`,
      ),
    )
  }
  const namespace = stringAt(scale, "namespace")
  if (namespace !== "" && namespace !== ctx.route.namespace) {
    return Result.fail(
      badRequest(
        `the namespace of the object (${namespace}) does not match the namespace on the URL (${ctx.route.namespace})`,
      ),
    )
  }
  const uid = stringAt(scale, "uid")
  const liveUid = stringAt(live, "uid")
  if (uid !== "" && uid !== liveUid) {
    return Result.fail(
      conflict(
        { resource: `${ctx.served.resource.name}/scale`, group: ctx.served.group, name },
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${liveUid}`,
      ),
    )
  }
  return Result.void
}

const scaleWrite = (deps: WriteDeps, ctx: ResourceContext, options: WriteOptions) =>
  Effect.gen(function* () {
    const key = keyFor(ctx, ctx.route.name)
    const isPatch = ctx.route.verb === "patch"
    const type = mediaType(ctx.request.headers["content-type"])
    let requested: unknown
    if (isPatch) {
      if (!(patchTypes as ReadonlyArray<string>).slice(0, 3).includes(type)) {
        return yield* fail(unsupportedMediaType(type, patchTypes.slice(0, 3)))
      }
      requested = (yield* fromResult(parseText(ctx.request.body, "application/json"))).value
    } else {
      requested = (yield* fromResult(
        parseObjectBody(ctx.request.body, ctx.request.headers["content-type"]),
      )).value
    }
    const decide = (current: Stored | undefined, attempt: number) =>
      Effect.gen(function* () {
        if (current === undefined) return yield* fail(notFound(target(ctx, ctx.route.name)))
        const live = scaleOf(current.object)
        const next = isPatch
          ? yield* fromResult(applyPatch(type, live, requested, "", true))
          : requested
        const scale = yield* fromResult(decodeScale(next, options.fieldValidation))
        yield* fromResult(checkScaleIdentity(ctx, metadataOf(scale), metadataOf(current.object)))
        const rv = stringAt(metadataOf(scale), "resourceVersion")
        if (rv !== "" && !/^\d+$/.test(rv)) {
          return yield* fail(
            invalid(scale, [
              field.invalid("metadata.resourceVersion", rv, "must be an unsigned integer"),
            ]),
          )
        }
        if (rv !== "" && rv !== String(current.modRevision)) {
          return yield* fail(modifiedConflict(target(ctx, ctx.route.name)))
        }
        const replicas = objectAt(scale, "spec").replicas
        const updated = clone(current.object)
        updated.spec = {
          ...objectAt(updated, "spec"),
          replicas: typeof replicas === "number" ? replicas : 0,
        }
        const updatedMeta = { ...metadataOf(updated) }
        delete updatedMeta.resourceVersion
        updated.metadata = updatedMeta
        return yield* fromResult(decideUpdate(ctx, options, updated, current, attempt, "scale"))
      })
    if (options.dryRun) {
      const current = yield* deps.store.get(key)
      const decision = yield* decide(current, 0)
      return scaleResponse(
        decision._tag === "Put" || decision._tag === "Noop"
          ? decision.object
          : (current?.object ?? {}),
      )
    }
    const outcome = yield* deps.store.guaranteedUpdate(key, decide)
    return scaleResponse(outcome._tag === "Noop" ? outcome.object : outcome.stored.object)
  })

// ---------------------------------------------------------------------------
// binding

const Binding = Schema.Struct({
  apiVersion: Schema.optionalKey(Schema.String),
  kind: Schema.optionalKey(Schema.String),
  metadata: Schema.optionalKey(
    Schema.Struct({
      name: Schema.optionalKey(Schema.String),
      namespace: Schema.optionalKey(Schema.String),
      uid: Schema.optionalKey(Schema.String),
      resourceVersion: Schema.optionalKey(Schema.String),
      annotations: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
      labels: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
    }),
  ),
  target: Schema.Struct({
    kind: Schema.optionalKey(Schema.String),
    name: Schema.optionalKey(Schema.String),
    namespace: Schema.optionalKey(Schema.String),
    apiVersion: Schema.optionalKey(Schema.String),
    uid: Schema.optionalKey(Schema.String),
  }),
})

const binding = (deps: WriteDeps, ctx: ResourceContext, options: WriteOptions) =>
  Effect.gen(function* () {
    const body = (yield* fromResult(
      parseObjectBody(ctx.request.body, ctx.request.headers["content-type"]),
    )).value
    const typeMeta = checkTypeMeta(body, "Binding", "v1")
    if (typeMeta !== undefined) return yield* fail(typeMeta)
    const decoded = decodeWith(
      Binding as unknown as Schema.Codec<Schema.Schema.Type<typeof Binding>, unknown>,
      body,
      {
        fieldValidation: options.fieldValidation,
      },
    )
    if (Result.isFailure(decoded)) return yield* fail(cannotHandle("Binding", decoded.failure))
    const b = decoded.success.value
    const bindingName = b.metadata?.name ?? ctx.route.name
    if (bindingName !== ctx.route.name) {
      return yield* fail(
        badRequest(
          `the name of the object (${bindingName}) does not match the name on the URL (${ctx.route.name})`,
        ),
      )
    }
    const bindingNamespace = b.metadata?.namespace ?? ""
    if (bindingNamespace !== "" && bindingNamespace !== ctx.route.namespace) {
      return yield* fail(
        badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        ),
      )
    }
    const node = b.target.name ?? ""
    // ValidatePodBinding: a Node (or no kind), and a name.
    const bindingErrors: Array<FieldError> = []
    const targetKind = b.target.kind ?? ""
    if (targetKind !== "" && targetKind !== "Node")
      bindingErrors.push(field.notSupported("target.kind", targetKind, ["Node", "<empty>"]))
    if (node === "") bindingErrors.push(field.required("target.name", ""))
    if (bindingErrors.length > 0) {
      return yield* fail(
        apiError(
          validationStatus(
            { apiVersion: "v1", kind: "Binding", metadata: { name: ctx.route.name } } as KubeObject,
            bindingErrors,
          ),
        ),
      )
    }
    const key = keyFor(ctx, ctx.route.name)
    const now = rfc3339(ctx.nowMs)
    const decide = (current: Stored | undefined) =>
      Effect.gen(function* () {
        if (current === undefined) return yield* fail(notFound(target(ctx, ctx.route.name)))
        const pod = clone(current.object)
        const meta = metadataOf(pod)
        const t = target(ctx, ctx.route.name)
        if (b.metadata?.uid !== undefined && b.metadata.uid !== stringAt(meta, "uid")) {
          return yield* fail(
            conflict(
              t,
              `Precondition failed: UID in precondition: ${b.metadata.uid}, UID in object meta: ${stringAt(meta, "uid")}`,
            ),
          )
        }
        if (meta.deletionTimestamp !== undefined) {
          return yield* fail(
            conflict(t, `pod ${ctx.route.name} is being deleted, cannot be assigned to a host`),
          )
        }
        const spec = objectAt(pod, "spec")
        const assigned = stringAt(spec, "nodeName")
        if (assigned !== "") {
          return yield* fail(
            conflict(t, `pod ${ctx.route.name} is already assigned to node "${assigned}"`),
          )
        }
        pod.spec = { ...spec, nodeName: node }
        if (b.metadata?.annotations !== undefined) {
          pod.metadata = {
            ...meta,
            annotations: {
              ...(isObject(meta.annotations) ? meta.annotations : {}),
              ...b.metadata.annotations,
            },
          }
        }
        const status = objectAt(pod, "status")
        const conditions = Array.isArray(status.conditions)
          ? status.conditions.filter(isObject)
          : []
        const scheduled = {
          type: "PodScheduled",
          status: "True",
          lastProbeTime: null,
          lastTransitionTime: now,
        }
        const others = conditions.filter((c) => c.type !== "PodScheduled")
        pod.status = { ...status, conditions: [...others, scheduled] }
        const tracked = trackUpdate(
          current.object,
          pod,
          typeOf("pods"),
          managerOf(ctx, options, "binding"),
        )
        return { _tag: "Put", object: tracked } as UpdateDecision
      })
    if (!options.dryRun) yield* deps.store.guaranteedUpdate(key, decide)
    else yield* Effect.flatMap(deps.store.get(key), (c) => decide(c))
    return jsonResponse(201, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      code: 201,
    })
  })

// ---------------------------------------------------------------------------
// log

/** Log options the kubelet understands, passed through. */
const logParameters = [
  "follow",
  "previous",
  "sinceSeconds",
  "sinceTime",
  "timestamps",
  "tailLines",
  "limitBytes",
]

/**
 * Reads a container's log from the kubelet of the pod's node, as the API
 * server proxies it: `GET http://<node InternalIP>:<kubeletEndpoint port>/containerLogs/<ns>/<pod>/<container>`
 * (the node's address and `status.daemonEndpoints.kubeletEndpoint.Port`,
 * 10250 by default), streamed through as it comes (`follow=true` keeps it open).
 */
const kubeletLogs =
  (store: ObjectStore): LogReader =>
  (pod, container, query) =>
    Effect.gen(function* () {
      const nodeName = stringAt(objectAt(pod, "spec"), "nodeName")
      const node = yield* store.get(objectKey("nodes", false, "", nodeName))
      const status = node === undefined ? {} : objectAt(node.object, "status")
      const addresses = Array.isArray(status.addresses) ? status.addresses.filter(isObject) : []
      const internal = addresses.find((a) => a.type === "InternalIP")
      const host =
        stringAt(internal, "address") || stringAt(objectAt(pod, "status"), "hostIP") || "127.0.0.1"
      const endpoint = objectAt(objectAt(status, "daemonEndpoints"), "kubeletEndpoint")
      const port = typeof endpoint.Port === "number" && endpoint.Port > 0 ? endpoint.Port : 10250
      const meta = metadataOf(pod)
      const params = new URLSearchParams()
      for (const k of logParameters) {
        const v = query.get(k)
        if (v !== null) params.set(k, v)
      }
      const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/containerLogs/${stringAt(meta, "namespace")}/${stringAt(meta, "name")}/${container}?${params}`
      const controller = new AbortController()
      const response = yield* Effect.tryPromise({
        try: () => fetch(url, { signal: controller.signal }),
        catch: (e) => badRequest(`Get "${url}": ${e instanceof Error ? e.message : String(e)}`),
      })
      if (!response.ok || response.body === null) {
        const text = yield* Effect.promise(() => response.text().catch(() => ""))
        return yield* fail(
          badRequest(text.trim() || `the kubelet of node ${nodeName} answered ${response.status}`),
        )
      }
      const body = response.body
      return Stream.fromReadableStream({
        evaluate: () => body,
        onError: () => undefined as never,
      }).pipe(
        Stream.decodeText(),
        Stream.ensuring(Effect.sync(() => controller.abort())),
        Stream.catchCause(() => Stream.empty),
      )
    })

const logs = (deps: WriteDeps, ctx: ResourceContext) =>
  Effect.gen(function* () {
    const invalid = checkPodLogOptions(ctx.request.query, ctx.route.name)
    if (invalid !== undefined) return yield* fail(invalid)
    const current = yield* deps.store.get(keyFor(ctx, ctx.route.name))
    if (current === undefined) return yield* fail(notFound(target(ctx, ctx.route.name)))
    const pod = current.object
    const containers = (
      Array.isArray(objectAt(pod, "spec").containers)
        ? (objectAt(pod, "spec").containers as Array<unknown>)
        : []
    )
      .filter(isObject)
      .map((c) => stringAt(c, "name"))
    let container = ctx.request.query.get("container") ?? ""
    if (container === "") {
      if (containers.length !== 1) {
        return yield* fail(
          badRequest(
            `a container name must be specified for pod ${ctx.route.name}, choose one of: [${containers.join(" ")}]`,
          ),
        )
      }
      container = containers[0] as string
    } else if (!containers.includes(container)) {
      return yield* fail(
        badRequest(`container ${container} is not valid for pod ${ctx.route.name}`),
      )
    }
    if (stringAt(objectAt(pod, "spec"), "nodeName") === "") {
      return yield* fail(badRequest(`pod ${ctx.route.name} does not have a host assigned`))
    }
    const reader = deps.options.logs ?? kubeletLogs(deps.store)
    const text = yield* reader(pod, container, ctx.request.query)
    return (
      typeof text === "string"
        ? { _tag: "Body", status: 200, contentType: "text/plain", body: text }
        : { _tag: "Stream", status: 200, contentType: "text/plain", body: text }
    ) as ApiResponse
  })

// ---------------------------------------------------------------------------

/**
 * Every write (and the subresource reads other than status). Called inside
 * the request's effect (the handler's), so a throw here is a defect of it.
 */
export const writeRequest = (
  deps: WriteDeps,
  ctx: ResourceContext,
): Effect.Effect<ApiResponse, ApiError> => {
  const decoded = decodeWriteOptions(ctx.request.query, ctx.request.headers["user-agent"] ?? "")
  if (!decoded.ok) return Effect.succeed(errorResponse(decoded.error))
  const options = decoded.value
  const { verb, subresource } = ctx.route
  const resource = ctx.served.resource.name
  const unsupported = () =>
    fail(
      methodNotSupported(
        subresource === "" ? resource : `${resource}/${subresource}`,
        ctx.served.group,
        verb,
      ),
    )
  switch (subresource) {
    case "":
      switch (verb) {
        case "create":
          if (ctx.route.name !== "") return unsupported()
          return create(deps, ctx, options)
        case "update":
          return update(deps, ctx, options, "")
        case "patch":
          return patch(deps, ctx, options, "")
        case "delete":
          return deleteRequest(deps, ctx, options)
        case "deletecollection":
          return deleteCollection(deps, ctx, options)
        default:
          return unsupported()
      }
    case "status":
      if (verb === "update") return update(deps, ctx, options, "status")
      if (verb === "patch") return patch(deps, ctx, options, "status")
      return unsupported()
    case "finalize":
      if (verb === "update") return update(deps, ctx, options, "finalize")
      return unsupported()
    case "scale":
      if (verb === "get") {
        return Effect.map(deps.store.get(keyFor(ctx, ctx.route.name)), (current) =>
          current === undefined
            ? errorResponse(notFound(target(ctx, ctx.route.name)))
            : scaleResponse(current.object),
        )
      }
      if (verb === "update" || verb === "patch") return scaleWrite(deps, ctx, options)
      return unsupported()
    case "binding":
      if (verb === "create") return binding(deps, ctx, options)
      return unsupported()
    case "log":
      if (verb === "get") return logs(deps, ctx)
      return unsupported()
    default:
      return Effect.succeed(errorResponse(pathNotFound()))
  }
}
