/**
 * Field selectors (k8s.io/apimachinery/pkg/fields): `metadata.name=x,status.phase!=Running`,
 * with the operators `=`, `==` and `!=`, values escaped with `\` (`\,`, `\=`, `\\`). Parsed and
 * printed as Kubernetes does, with its error messages, and matched against objects through the
 * fields each kind makes selectable (`spec.nodeName` for pods, `involvedObject.name` for events,
 * ...); a field a kind does not support is rejected as the API server rejects it
 * (`field label not supported: x`).
 */
import { Result, Schema } from "effect"

export type FieldOperator = "=" | "==" | "!="

/** `field op value`; `value` is unescaped. */
export interface FieldRequirement {
  readonly field: string
  readonly operator: FieldOperator
  readonly value: string
}

/** A field selector Kubernetes would reject; `message` is its wording. */
export class FieldSelectorError extends Schema.TaggedError<FieldSelectorError>()(
  "FieldSelectorError",
  { message: Schema.String },
) {}

// --- escaping

/** Kubernetes' `EscapeValue`: `\` → `\\`, `,` → `\,`, `=` → `\=`. */
export const escapeValue = (s: string): string => {
  if (!/[\\,=]/.test(s)) return s
  let out = ""
  for (const c of s) out += c === "\\" || c === "," || c === "=" ? `\\${c}` : c
  return out
}

/**
 * Kubernetes' `UnescapeValue`: undoes {@link escapeValue}; an unknown escape or a bare `,` or
 * `=` fails with Kubernetes' message (which prints the bare character as its code point).
 */
export const unescapeValue = (s: string): Result.Result<string, FieldSelectorError> => {
  if (!/[\\,=]/.test(s)) return Result.succeed(s)
  let out = ""
  let inSlash = false
  for (const c of s) {
    if (inSlash) {
      if (c === "\\" || c === "," || c === "=") out += c
      else {
        return Result.fail(
          new FieldSelectorError({
            message: `invalid field selector: invalid escape sequence: \\${c}`,
          }),
        )
      }
      inSlash = false
    } else if (c === "\\") inSlash = true
    else if (c === "," || c === "=") {
      return Result.fail(
        new FieldSelectorError({
          message: `invalid field selector: unescaped character in value: ${c.codePointAt(0)}`,
        }),
      )
    } else out += c
  }
  if (inSlash) {
    return Result.fail(
      new FieldSelectorError({ message: "invalid field selector: invalid escape sequence: \\" }),
    )
  }
  return Result.succeed(out)
}

// --- the selector

/** Byte order of the UTF-8 encodings (Go's string order), i.e. code point order. */
const compareCodePoints = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!
    const y = b.codePointAt(i)!
    if (x !== y) return x < y ? -1 : 1
    if (x > 0xffff) i++
  }
  return a.length - b.length
}

/** Field values of one object: the value of a field, or undefined when it has none (read as ""). */
export type FieldGetter = (field: string) => string | undefined

/**
 * A field selector: the conjunction of its requirements, in the order Kubernetes keeps them
 * (sorted by their text as written). No requirements selects everything.
 */
export class FieldSelector {
  readonly requirements: ReadonlyArray<FieldRequirement>
  #string: string | undefined

  constructor(requirements: ReadonlyArray<FieldRequirement>) {
    this.requirements = requirements
  }

  static readonly #everything = new FieldSelector([])
  static everything(): FieldSelector {
    return FieldSelector.#everything
  }

  /** True when every requirement holds; a field without a value reads as `""`, as in Kubernetes. */
  matches(get: FieldGetter): boolean {
    const rs = this.requirements
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!
      const v = get(r.field) ?? ""
      if (r.operator === "!=" ? v === r.value : v !== r.value) return false
    }
    return true
  }
  /** {@link matches} against a map of field values (Kubernetes' `fields.Set`). */
  matchesSet(fields: { readonly [field: string]: string }): boolean {
    return this.matches((f) => {
      const v = fields[f]
      return typeof v === "string" ? v : undefined
    })
  }

  empty(): boolean {
    return this.requirements.length === 0
  }

  /** The value `field` must equal, when a requirement pins it. */
  requiresExactMatch(field: string): string | undefined {
    for (const r of this.requirements) {
      if (r.field === field && r.operator !== "!=") return r.value
    }
    return undefined
  }

  /**
   * Kubernetes' `Transform`: maps each requirement's field and value (for example through a
   * kind's field label conversion); a result with both empty drops the requirement.
   */
  transform(
    fn: (
      field: string,
      value: string,
    ) => Result.Result<readonly [string, string], FieldSelectorError>,
  ): Result.Result<FieldSelector, FieldSelectorError> {
    const out: Array<FieldRequirement> = []
    for (const r of this.requirements) {
      const t = fn(r.field, r.value)
      if (Result.isFailure(t)) return Result.fail(t.failure)
      const [field, value] = t.success
      if (field.length === 0 && value.length === 0) continue
      out.push({ field, operator: r.operator, value })
    }
    return Result.succeed(out.length === 0 ? FieldSelector.everything() : new FieldSelector(out))
  }

  /** The string form: `field=value` or `field!=value` joined by `,`, values escaped. */
  toString(): string {
    let s = this.#string
    if (s === undefined) {
      s = this.requirements
        .map((r) => `${r.field}${r.operator === "!=" ? "!=" : "="}${escapeValue(r.value)}`)
        .join(",")
      this.#string = s
    }
    return s
  }
  toJSON(): string {
    return this.toString()
  }
}

/** Terms separated by unescaped commas; escapes stay in the terms. */
const splitTerms = (s: string): Array<string> => {
  const terms: Array<string> = []
  let start = 0
  let inSlash = false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (inSlash) inSlash = false
    else if (c === 0x5c /* \ */) inSlash = true
    else if (c === 0x2c /* , */) {
      terms.push(s.slice(start, i))
      start = i + 1
    }
  }
  terms.push(s.slice(start))
  return terms
}

/** The first operator in the term, trying `!=`, then `==`, then `=` at each position. */
const splitTerm = (term: string): readonly [string, FieldOperator, string] | undefined => {
  for (let i = 0; i < term.length; i++) {
    if (term.startsWith("!=", i)) return [term.slice(0, i), "!=", term.slice(i + 2)]
    if (term.startsWith("==", i)) return [term.slice(0, i), "==", term.slice(i + 2)]
    if (term.startsWith("=", i)) return [term.slice(0, i), "=", term.slice(i + 1)]
  }
  return undefined
}

/**
 * Parses a field selector as Kubernetes' `fields.ParseSelector` does: terms split on unescaped
 * commas, sorted, empty terms skipped; each `field=value`, `field==value` or `field!=value`.
 */
export const parseFieldSelector = (s: string): Result.Result<FieldSelector, FieldSelectorError> => {
  if (s.length === 0) return Result.succeed(FieldSelector.everything())
  const parts = splitTerms(s).sort(compareCodePoints)
  const reqs: Array<FieldRequirement> = []
  for (const part of parts) {
    if (part === "") continue
    const split = splitTerm(part)
    if (split === undefined) {
      return Result.fail(
        new FieldSelectorError({ message: `invalid selector: '${s}'; can't understand '${part}'` }),
      )
    }
    const [field, operator, raw] = split
    const value = unescapeValue(raw)
    if (Result.isFailure(value)) return Result.fail(value.failure)
    reqs.push({ field, operator, value: value.success })
  }
  return Result.succeed(reqs.length === 0 ? FieldSelector.everything() : new FieldSelector(reqs))
}

/** A selector requiring exactly the given field values, sorted by field (`fields.SelectorFromSet`). */
export const fieldSelectorFromSet = (set: { readonly [field: string]: string }): FieldSelector => {
  const keys = Object.keys(set).sort(compareCodePoints)
  if (keys.length === 0) return FieldSelector.everything()
  return new FieldSelector(keys.map((field) => ({ field, operator: "=", value: set[field]! })))
}

// --- selectable fields per kind

/**
 * The fields a kind makes selectable, with how to read each from an object, the legacy names
 * the API server rewrites (`spec.host` → `spec.nodeName` for pods), and the error for any other
 * field.
 */
export interface SelectableFields<T> {
  readonly kind: string
  readonly fields: { readonly [field: string]: (obj: T) => string }
  readonly aliases?: { readonly [legacy: string]: string }
  readonly unsupported: (field: string) => string
}

/** Object metadata as far as field selectors read it. */
export interface MetaLike {
  readonly metadata?: { readonly name?: string; readonly namespace?: string } | undefined
}

const metaFields = {
  "metadata.name": (o: MetaLike) => o.metadata?.name ?? "",
  "metadata.namespace": (o: MetaLike) => o.metadata?.namespace ?? "",
}

const notSupported = (field: string) => `field label not supported: ${field}`

/**
 * Kubernetes' default for kinds without their own field conversion (Deployments, ReplicaSets in
 * apps/v1, Endpoints, Leases, ...): only `metadata.name` and `metadata.namespace`.
 */
export const defaultSelectableFields = (kind: string): SelectableFields<MetaLike> => ({
  kind,
  fields: metaFields,
  unsupported: (field) =>
    `${JSON.stringify(field)} is not a known field selector: only "metadata.name", "metadata.namespace"`,
})

export interface PodLike extends MetaLike {
  readonly spec?:
    | {
        readonly nodeName?: string
        readonly restartPolicy?: string
        readonly schedulerName?: string
        readonly serviceAccountName?: string
        readonly hostNetwork?: boolean
      }
    | undefined
  readonly status?:
    | {
        readonly phase?: string
        readonly podIP?: string
        readonly podIPs?: ReadonlyArray<{ readonly ip?: string }>
        readonly nominatedNodeName?: string
      }
    | undefined
}

/** Pods (`pkg/registry/core/pod`): node, phase, IP and a few spec fields. */
export const podSelectableFields: SelectableFields<PodLike> = {
  kind: "Pod",
  fields: {
    ...metaFields,
    "spec.nodeName": (p) => p.spec?.nodeName ?? "",
    "spec.restartPolicy": (p) => p.spec?.restartPolicy ?? "",
    "spec.schedulerName": (p) => p.spec?.schedulerName ?? "",
    "spec.serviceAccountName": (p) => p.spec?.serviceAccountName ?? "",
    "spec.hostNetwork": (p) => String(p.spec?.hostNetwork ?? false),
    "status.phase": (p) => p.status?.phase ?? "",
    // The first of status.podIPs, which the API server keeps equal to status.podIP.
    "status.podIP": (p) => p.status?.podIPs?.[0]?.ip ?? p.status?.podIP ?? "",
    "status.nominatedNodeName": (p) => p.status?.nominatedNodeName ?? "",
  },
  aliases: { "spec.host": "spec.nodeName" },
  unsupported: notSupported,
}

export interface NodeLike extends MetaLike {
  readonly spec?: { readonly unschedulable?: boolean } | undefined
}

/** Nodes: `metadata.name` and `spec.unschedulable` (`"true"`/`"false"`). */
export const nodeSelectableFields: SelectableFields<NodeLike> = {
  kind: "Node",
  fields: {
    "metadata.name": metaFields["metadata.name"],
    "spec.unschedulable": (n) => String(n.spec?.unschedulable ?? false),
  },
  unsupported: notSupported,
}

export interface NamespaceLike extends MetaLike {
  readonly status?: { readonly phase?: string } | undefined
}

/** Namespaces: `metadata.name` and `status.phase`. */
export const namespaceSelectableFields: SelectableFields<NamespaceLike> = {
  kind: "Namespace",
  fields: {
    "metadata.name": metaFields["metadata.name"],
    "status.phase": (n) => n.status?.phase ?? "",
  },
  unsupported: notSupported,
}

export interface EventLike extends MetaLike {
  readonly involvedObject?:
    | {
        readonly kind?: string
        readonly namespace?: string
        readonly name?: string
        readonly uid?: string
        readonly apiVersion?: string
        readonly resourceVersion?: string
        readonly fieldPath?: string
      }
    | undefined
  readonly reason?: string
  readonly reportingComponent?: string
  readonly source?: { readonly component?: string } | undefined
  readonly type?: string
}

/** Events: the involved object, reason, source, reporting component and type. */
export const eventSelectableFields: SelectableFields<EventLike> = {
  kind: "Event",
  fields: {
    ...metaFields,
    "involvedObject.kind": (e) => e.involvedObject?.kind ?? "",
    "involvedObject.namespace": (e) => e.involvedObject?.namespace ?? "",
    "involvedObject.name": (e) => e.involvedObject?.name ?? "",
    "involvedObject.uid": (e) => e.involvedObject?.uid ?? "",
    "involvedObject.apiVersion": (e) => e.involvedObject?.apiVersion ?? "",
    "involvedObject.resourceVersion": (e) => e.involvedObject?.resourceVersion ?? "",
    "involvedObject.fieldPath": (e) => e.involvedObject?.fieldPath ?? "",
    reason: (e) => e.reason ?? "",
    reportingComponent: (e) => e.reportingComponent ?? "",
    // The source component, or the reporting controller when there is none.
    source: (e) => {
      const c = e.source?.component ?? ""
      return c === "" ? (e.reportingComponent ?? "") : c
    },
    type: (e) => e.type ?? "",
  },
  unsupported: notSupported,
}

export interface ServiceLike extends MetaLike {
  readonly spec?: { readonly clusterIP?: string; readonly type?: string } | undefined
}

/** Services: metadata plus `spec.clusterIP` and `spec.type`. */
export const serviceSelectableFields: SelectableFields<ServiceLike> = {
  kind: "Service",
  fields: {
    ...metaFields,
    "spec.clusterIP": (s) => s.spec?.clusterIP ?? "",
    "spec.type": (s) => s.spec?.type ?? "",
  },
  unsupported: notSupported,
}

/**
 * Checks a selector against a kind's selectable fields (rewriting legacy names), as the API
 * server does before listing or watching; an unsupported field fails with the kind's message.
 */
export const convertFieldSelector = <T>(
  selector: FieldSelector,
  kind: SelectableFields<T>,
): Result.Result<FieldSelector, FieldSelectorError> =>
  selector.transform((field, value) => {
    const target = kind.aliases?.[field] ?? field
    if (!Object.hasOwn(kind.fields, target)) {
      return Result.fail(new FieldSelectorError({ message: kind.unsupported(field) }))
    }
    return Result.succeed([target, value] as const)
  })

/**
 * A predicate for objects of one kind: the selector is checked and converted once, and each
 * requirement bound to its field's reader, so matching does no lookups.
 */
export const compileFieldSelector = <T>(
  selector: FieldSelector,
  kind: SelectableFields<T>,
): Result.Result<(obj: T) => boolean, FieldSelectorError> => {
  const converted = convertFieldSelector(selector, kind)
  if (Result.isFailure(converted)) return Result.fail(converted.failure)
  const reqs = converted.success.requirements
  if (reqs.length === 0) return Result.succeed(() => true)
  const readers = reqs.map((r) => kind.fields[r.field]!)
  const values = reqs.map((r) => r.value)
  const negated = reqs.map((r) => r.operator === "!=")
  return Result.succeed((obj: T) => {
    for (let i = 0; i < readers.length; i++) {
      const equal = readers[i]!(obj) === values[i]
      if (equal === negated[i]) return false
    }
    return true
  })
}
