/**
 * Kubernetes' protobuf request bodies (`application/vnd.kubernetes.protobuf`):
 * the 4-byte magic `k8s\0`, then a `runtime.Unknown` (typeMeta, raw,
 * contentEncoding, contentType) whose `raw` is the object's message. kubectl's
 * typed client sends them for `kubectl create deployment|namespace|service`.
 * This decoder turns the messages of those kinds (and Pods and ReplicaSets)
 * into Kubernetes' JSON shape, field by field from the field numbers of
 * `k8s.io/api`'s `generated.proto`, so the rest of the server sees what a
 * JSON body would have carried. Go's protobuf encoder writes every non-pointer
 * field, so zero-valued scalars are dropped (as JSON's `omitempty` drops them)
 * unless the field is a pointer. Fields this decoder does not know are skipped.
 */
import type { Obj } from "./json.ts"

export const protobufContentType = "application/vnd.kubernetes.protobuf"
const magic = [0x6b, 0x38, 0x73, 0x00]

export class ProtobufError extends Error {}

// ---------------------------------------------------------------------------
// Wire format

class Reader {
  readonly buf: Uint8Array
  pos: number
  readonly end: number
  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf
    this.pos = pos
    this.end = end
  }
  get done(): boolean {
    return this.pos >= this.end
  }
  varint(): bigint {
    let result = 0n
    let shift = 0n
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufError("truncated varint")
      const b = this.buf[this.pos++] as number
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return result
      shift += 7n
    }
    throw new ProtobufError("varint longer than 10 bytes")
  }
  bytes(): Uint8Array {
    const n = Number(this.varint())
    if (n < 0 || this.pos + n > this.end)
      throw new ProtobufError("length-delimited field runs past its message")
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint()
        return
      case 1:
        this.pos += 8
        break
      case 2:
        this.bytes()
        return
      case 5:
        this.pos += 4
        break
      default:
        throw new ProtobufError(`unsupported wire type ${wireType}`)
    }
    if (this.pos > this.end) throw new ProtobufError("fixed-width field runs past its message")
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true })
const text = (b: Uint8Array): string => {
  try {
    return utf8.decode(b)
  } catch {
    throw new ProtobufError("string field is not valid UTF-8")
  }
}

// ---------------------------------------------------------------------------
// Descriptors

type Scalar = "string" | "int32" | "int64" | "bool"

/** How a field decodes. `pointer`: keep zero values (Go pointer fields). */
type Field =
  | {
      readonly name: string
      readonly type: Scalar
      readonly repeated?: boolean
      readonly pointer?: boolean
    }
  | {
      readonly name: string
      readonly type: "message"
      readonly message: () => Message
      readonly repeated?: boolean
      readonly inline?: boolean
    }
  | { readonly name: string; readonly type: "stringMap" }
  | { readonly name: string; readonly type: "quantityMap" }
  | { readonly name: string; readonly type: "time" }
  | { readonly name: string; readonly type: "quantity"; readonly pointer?: boolean }
  | { readonly name: string; readonly type: "intOrString" }

type Message = Readonly<Record<number, Field>>

const s = (name: string, pointer = false): Field => ({ name, type: "string", pointer })
const strings = (name: string): Field => ({ name, type: "string", repeated: true })
const i32 = (name: string, pointer = false): Field => ({ name, type: "int32", pointer })
const i64 = (name: string, pointer = false): Field => ({ name, type: "int64", pointer })
const b = (name: string, pointer = false): Field => ({ name, type: "bool", pointer })
const m = (name: string, message: () => Message, repeated = false): Field => ({
  name,
  type: "message",
  message,
  repeated,
})
const inline = (message: () => Message): Field => ({
  name: "",
  type: "message",
  message,
  inline: true,
})

const OwnerReference: Message = {
  1: s("kind"),
  3: s("name"),
  4: s("uid"),
  5: s("apiVersion"),
  6: b("controller", true),
  7: b("blockOwnerDeletion", true),
}

const ObjectMeta: Message = {
  1: s("name"),
  2: s("generateName"),
  3: s("namespace"),
  4: s("selfLink"),
  5: s("uid"),
  6: s("resourceVersion"),
  7: i64("generation"),
  8: { name: "creationTimestamp", type: "time" },
  9: { name: "deletionTimestamp", type: "time" },
  10: i64("deletionGracePeriodSeconds", true),
  11: { name: "labels", type: "stringMap" },
  12: { name: "annotations", type: "stringMap" },
  13: m("ownerReferences", () => OwnerReference, true),
  14: strings("finalizers"),
}

const LabelSelectorRequirement: Message = { 1: s("key"), 2: s("operator"), 3: strings("values") }
const LabelSelector: Message = {
  1: { name: "matchLabels", type: "stringMap" },
  2: m("matchExpressions", () => LabelSelectorRequirement, true),
}

const ContainerPort: Message = {
  1: s("name"),
  2: i32("hostPort"),
  3: i32("containerPort"),
  4: s("protocol"),
  5: s("hostIP"),
}
const ObjectFieldSelector: Message = { 1: s("apiVersion"), 2: s("fieldPath") }
const KeySelector: Message = {
  1: inline(() => ({ 1: s("name") })),
  2: s("key"),
  3: b("optional", true),
}
const EnvVarSource: Message = {
  1: m("fieldRef", () => ObjectFieldSelector),
  3: m("configMapKeyRef", () => KeySelector),
  4: m("secretKeyRef", () => KeySelector),
}
const EnvVar: Message = { 1: s("name"), 2: s("value"), 3: m("valueFrom", () => EnvVarSource) }
const ResourceRequirements: Message = {
  1: { name: "limits", type: "quantityMap" },
  2: { name: "requests", type: "quantityMap" },
}
const VolumeMount: Message = {
  1: s("name"),
  2: b("readOnly"),
  3: s("mountPath"),
  4: s("subPath"),
  5: s("mountPropagation", true),
  6: s("subPathExpr"),
}
const HTTPHeader: Message = { 1: s("name"), 2: s("value") }
const ProbeHandler: Message = {
  1: m("exec", () => ({ 1: strings("command") })),
  2: m("httpGet", () => ({
    1: s("path"),
    2: { name: "port", type: "intOrString" },
    3: s("host"),
    4: s("scheme"),
    5: m("httpHeaders", () => HTTPHeader, true),
  })),
  3: m("tcpSocket", () => ({ 1: { name: "port", type: "intOrString" }, 2: s("host") })),
}
const Probe: Message = {
  1: inline(() => ProbeHandler),
  2: i32("initialDelaySeconds"),
  3: i32("timeoutSeconds"),
  4: i32("periodSeconds"),
  5: i32("successThreshold"),
  6: i32("failureThreshold"),
  7: i64("terminationGracePeriodSeconds", true),
}
const Container: Message = {
  1: s("name"),
  2: s("image"),
  3: strings("command"),
  4: strings("args"),
  5: s("workingDir"),
  6: m("ports", () => ContainerPort, true),
  7: m("env", () => EnvVar, true),
  8: m("resources", () => ResourceRequirements),
  9: m("volumeMounts", () => VolumeMount, true),
  10: m("livenessProbe", () => Probe),
  11: m("readinessProbe", () => Probe),
  13: s("terminationMessagePath"),
  14: s("imagePullPolicy"),
  16: b("stdin"),
  17: b("stdinOnce"),
  18: b("tty"),
  20: s("terminationMessagePolicy"),
  22: m("startupProbe", () => Probe),
  24: s("restartPolicy", true),
}
const VolumeSource: Message = {
  1: m("hostPath", () => ({ 1: s("path"), 2: s("type", true) })),
  2: m("emptyDir", () => ({
    1: s("medium"),
    2: { name: "sizeLimit", type: "quantity", pointer: true },
  })),
}
const Volume: Message = { 1: s("name"), 2: inline(() => VolumeSource) }
const Toleration: Message = {
  1: s("key"),
  2: s("operator"),
  3: s("value"),
  4: s("effect"),
  5: i64("tolerationSeconds", true),
}
const PodSpec: Message = {
  1: m("volumes", () => Volume, true),
  2: m("containers", () => Container, true),
  3: s("restartPolicy"),
  4: i64("terminationGracePeriodSeconds", true),
  5: i64("activeDeadlineSeconds", true),
  6: s("dnsPolicy"),
  7: { name: "nodeSelector", type: "stringMap" },
  8: s("serviceAccountName"),
  9: s("serviceAccount"),
  10: s("nodeName"),
  11: b("hostNetwork"),
  12: b("hostPID"),
  13: b("hostIPC"),
  14: m("securityContext", () => ({})),
  15: m("imagePullSecrets", () => ({ 1: s("name") }), true),
  16: s("hostname"),
  17: s("subdomain"),
  19: s("schedulerName"),
  20: m("initContainers", () => Container, true),
  21: b("automountServiceAccountToken", true),
  22: m("tolerations", () => Toleration, true),
  23: m("hostAliases", () => ({ 1: s("ip"), 2: strings("hostnames") }), true),
  24: s("priorityClassName"),
  25: i32("priority", true),
  27: b("shareProcessNamespace", true),
  28: m("readinessGates", () => ({ 1: s("conditionType") }), true),
  29: s("runtimeClassName", true),
  30: b("enableServiceLinks", true),
  31: s("preemptionPolicy", true),
}
const PodTemplateSpec: Message = { 1: m("metadata", () => ObjectMeta), 2: m("spec", () => PodSpec) }

const RollingUpdateDeployment: Message = {
  1: { name: "maxUnavailable", type: "intOrString" },
  2: { name: "maxSurge", type: "intOrString" },
}
const DeploymentSpec: Message = {
  1: i32("replicas", true),
  2: m("selector", () => LabelSelector),
  3: m("template", () => PodTemplateSpec),
  4: m("strategy", () => ({ 1: s("type"), 2: m("rollingUpdate", () => RollingUpdateDeployment) })),
  5: i32("minReadySeconds"),
  6: i32("revisionHistoryLimit", true),
  7: b("paused"),
  9: i32("progressDeadlineSeconds", true),
}
const ReplicaSetSpec: Message = {
  1: i32("replicas", true),
  2: m("selector", () => LabelSelector),
  3: m("template", () => PodTemplateSpec),
  4: i32("minReadySeconds"),
}
const ServicePort: Message = {
  1: s("name"),
  2: s("protocol"),
  3: i32("port"),
  4: { name: "targetPort", type: "intOrString" },
  5: i32("nodePort"),
  6: s("appProtocol", true),
}
const ServiceSpec: Message = {
  1: m("ports", () => ServicePort, true),
  2: { name: "selector", type: "stringMap" },
  3: s("clusterIP"),
  4: s("type"),
  5: strings("externalIPs"),
  7: s("sessionAffinity"),
  8: s("loadBalancerIP"),
  9: strings("loadBalancerSourceRanges"),
  10: s("externalName"),
  11: s("externalTrafficPolicy"),
  12: i32("healthCheckNodePort"),
  13: b("publishNotReadyAddresses"),
  17: s("ipFamilyPolicy", true),
  18: strings("clusterIPs"),
  19: strings("ipFamilies"),
  20: b("allocateLoadBalancerNodePorts", true),
  21: s("loadBalancerClass", true),
  22: s("internalTrafficPolicy", true),
}
/** Status is reset on create: its contents are not decoded. */
const Ignored: Message = {}

const topLevel = (spec: Message): Message => ({
  1: m("metadata", () => ObjectMeta),
  2: m("spec", () => spec),
  3: m("status", () => Ignored),
})

/** The kinds whose protobuf bodies are decoded, by `apiVersion/kind`. */
const kinds: Readonly<Record<string, Message>> = {
  "apps/v1/Deployment": topLevel(DeploymentSpec),
  "apps/v1/ReplicaSet": topLevel(ReplicaSetSpec),
  "v1/Pod": topLevel(PodSpec),
  "v1/Service": topLevel(ServiceSpec),
  "v1/Namespace": topLevel({ 1: strings("finalizers") }),
}

// ---------------------------------------------------------------------------
// Decoding

const isZero = (v: unknown): boolean => v === "" || v === 0 || v === false

const decodeTime = (bytes: Uint8Array): string | undefined => {
  const r = new Reader(bytes)
  let seconds = 0
  while (!r.done) {
    const tag = Number(r.varint())
    if (tag >> 3 === 1 && (tag & 7) === 0) seconds = Number(BigInt.asIntN(64, r.varint()))
    else r.skip(tag & 7)
  }
  return seconds === 0 ? undefined : `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`
}

const decodeQuantity = (bytes: Uint8Array): string => {
  const r = new Reader(bytes)
  let out = ""
  while (!r.done) {
    const tag = Number(r.varint())
    if (tag >> 3 === 1 && (tag & 7) === 2) out = text(r.bytes())
    else r.skip(tag & 7)
  }
  return out
}

const decodeIntOrString = (bytes: Uint8Array): number | string => {
  const r = new Reader(bytes)
  let type = 0
  let intVal = 0
  let strVal = ""
  while (!r.done) {
    const tag = Number(r.varint())
    const field = tag >> 3
    if (field === 1 && (tag & 7) === 0) type = Number(r.varint())
    else if (field === 2 && (tag & 7) === 0) intVal = Number(BigInt.asIntN(32, r.varint()))
    else if (field === 3 && (tag & 7) === 2) strVal = text(r.bytes())
    else r.skip(tag & 7)
  }
  return type === 1 ? strVal : intVal
}

const decodeMapEntry = (bytes: Uint8Array, quantity: boolean): [string, string] => {
  const r = new Reader(bytes)
  let key = ""
  let value = ""
  while (!r.done) {
    const tag = Number(r.varint())
    const field = tag >> 3
    if (field === 1 && (tag & 7) === 2) key = text(r.bytes())
    else if (field === 2 && (tag & 7) === 2)
      value = quantity ? decodeQuantity(r.bytes()) : text(r.bytes())
    else r.skip(tag & 7)
  }
  return [key, value]
}

const scalar = (r: Reader, type: Scalar, wireType: number): unknown => {
  if (type === "string") {
    if (wireType !== 2)
      throw new ProtobufError("string field with a non-length-delimited wire type")
    return text(r.bytes())
  }
  if (wireType !== 0) throw new ProtobufError(`${type} field with a non-varint wire type`)
  const v = r.varint()
  if (type === "bool") return v !== 0n
  if (type === "int32") return Number(BigInt.asIntN(32, v))
  return Number(BigInt.asIntN(64, v))
}

const decodeMessage = (bytes: Uint8Array, message: Message, depth: number): Obj => {
  if (depth > 64) throw new ProtobufError("message nested too deeply")
  const out: Obj = {}
  const r = new Reader(bytes)
  while (!r.done) {
    const tag = Number(r.varint())
    const field = message[tag >> 3]
    const wireType = tag & 7
    if (field === undefined) {
      r.skip(wireType)
      continue
    }
    switch (field.type) {
      case "message": {
        if (wireType !== 2) throw new ProtobufError(`field ${field.name} is not a message`)
        const value = decodeMessage(r.bytes(), field.message(), depth + 1)
        if (field.inline === true) Object.assign(out, value)
        else if (field.repeated === true) {
          const list = (out[field.name] as Array<unknown> | undefined) ?? []
          list.push(value)
          out[field.name] = list
        } else out[field.name] = value
        break
      }
      case "stringMap":
      case "quantityMap": {
        if (wireType !== 2) throw new ProtobufError(`field ${field.name} is not a map`)
        const [k, v] = decodeMapEntry(r.bytes(), field.type === "quantityMap")
        const map = (out[field.name] as Obj | undefined) ?? {}
        Object.defineProperty(map, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        })
        out[field.name] = map
        break
      }
      case "time": {
        if (wireType !== 2) throw new ProtobufError(`field ${field.name} is not a time`)
        const t = decodeTime(r.bytes())
        if (t !== undefined) out[field.name] = t
        break
      }
      case "quantity": {
        if (wireType !== 2) throw new ProtobufError(`field ${field.name} is not a quantity`)
        out[field.name] = decodeQuantity(r.bytes())
        break
      }
      case "intOrString": {
        if (wireType !== 2) throw new ProtobufError(`field ${field.name} is not an int-or-string`)
        out[field.name] = decodeIntOrString(r.bytes())
        break
      }
      default: {
        const value = scalar(r, field.type, wireType)
        if (field.repeated === true) {
          const list = (out[field.name] as Array<unknown> | undefined) ?? []
          list.push(value)
          out[field.name] = list
        } else if (field.pointer === true || !isZero(value)) {
          out[field.name] = value
        }
      }
    }
  }
  return out
}

/** What the envelope says the object is, and its message bytes. */
interface Unknown {
  readonly apiVersion: string
  readonly kind: string
  readonly raw: Uint8Array
}

const decodeUnknown = (bytes: Uint8Array): Unknown => {
  const r = new Reader(bytes, magic.length)
  let apiVersion = ""
  let kind = ""
  let raw: Uint8Array = new Uint8Array(0)
  while (!r.done) {
    const tag = Number(r.varint())
    const field = tag >> 3
    if (field === 1 && (tag & 7) === 2) {
      const tm = new Reader(r.bytes())
      while (!tm.done) {
        const t = Number(tm.varint())
        if (t >> 3 === 1 && (t & 7) === 2) apiVersion = text(tm.bytes())
        else if (t >> 3 === 2 && (t & 7) === 2) kind = text(tm.bytes())
        else tm.skip(t & 7)
      }
    } else if (field === 2 && (tag & 7) === 2) {
      raw = r.bytes()
    } else {
      r.skip(tag & 7)
    }
  }
  return { apiVersion, kind, raw }
}

/** Whether a protobuf body's kind can be decoded. */
export const protobufKindSupported = (apiVersion: string, kind: string): boolean =>
  kinds[`${apiVersion}/${kind}`] !== undefined

/**
 * Decodes a protobuf body into the object's JSON form (with apiVersion and
 * kind), or fails with a message saying what is wrong.
 */
export const decodeProtobuf = (
  body: Uint8Array,
):
  | { readonly ok: true; readonly object: Obj }
  | { readonly ok: false; readonly message: string } => {
  if (body.length < magic.length || magic.some((x, i) => body[i] !== x)) {
    return { ok: false, message: "provided protobuf body does not start with the k8s\\0 magic" }
  }
  try {
    const unknown = decodeUnknown(body)
    const message = kinds[`${unknown.apiVersion}/${unknown.kind}`]
    if (message === undefined) {
      return {
        ok: false,
        message: `protobuf bodies of ${unknown.kind || "(no kind)"} in version ${JSON.stringify(unknown.apiVersion)} are not supported; send JSON`,
      }
    }
    return {
      ok: true,
      object: {
        apiVersion: unknown.apiVersion,
        kind: unknown.kind,
        ...decodeMessage(unknown.raw, message, 0),
      },
    }
  } catch (e) {
    return {
      ok: false,
      message: `cannot decode protobuf body: ${e instanceof Error ? e.message : String(e)}`,
    }
  }
}
