/**
 * Field management and server-side apply. Every write records, in
 * `metadata.managedFields`, which manager set which fields (`FieldsV1`
 * tries: `f:<field>`, `k:{"name":"x"}` for an item of a keyed list,
 * `v:<json>` for a member of a set, `.` for the node itself). An update
 * gives its manager the fields whose values it changed and takes them from
 * the others; an apply (`application/apply-patch+yaml`) makes its manager own
 * exactly the fields of its configuration, merges that configuration into
 * the live object, removes fields it applied before and no longer applies
 * (when nobody else owns them), and reports a conflict for every field
 * another manager owns with a different value, unless forced. Pure (its one
 * table, `writtenSets`, shares equal values and changes no result).
 */
import { clone, deepEqual, deepFreeze, isObject, metadataOf, type Obj, setKey } from "./json.ts"
import { RecentMap } from "./recent.ts"
import { fieldType, type ListType, type TypeNode } from "./typemeta.ts"

// ---------------------------------------------------------------------------
// Field sets

/**
 * A node of a field set: whether the node itself is a member, and its
 * children by path element. `fieldsV1`, when set, is `toFieldsV1` of the
 * node as it is (kept by `toFieldsV1`, cleared by `addPath` and `removePath`
 * on every node they pass): a set written again unchanged, or changed in a
 * few places by copying the nodes on their paths (`withPath`,
 * `withoutPath`), reuses the JSON of its unchanged subtrees.
 */
export interface FieldNode {
  self: boolean
  /** `noChildren` on the leaves built or read (most nodes of a set), replaced before a child is added. */
  children: Map<string, FieldNode>
  fieldsV1?: Obj | undefined
}

const node = (self = false): FieldNode => ({ self, children: new Map(), fieldsV1: undefined })

/** The children of leaves: shared, never changed (nothing adds to a node without giving it its own map). */
const noChildren: ReadonlyMap<string, FieldNode> = new Map()

/** A member without children. */
const leaf = (): FieldNode => ({
  self: true,
  children: noChildren as Map<string, FieldNode>,
  fieldsV1: undefined,
})

/** `{}`, the fieldsV1 of every leaf and of every "." element: frozen, shared. */
const emptyFields: Obj = Object.freeze({})

/**
 * The set each `fieldsV1` object written by `writeSet` was written from, as a
 * non-enumerable symbol-keyed property of that object (invisible to JSON,
 * copies and comparisons; a WeakMap entry per write cost more than the rest
 * of a create's field tracking, mostly in the collector): a stored object's
 * managedFields that this server wrote are not parsed (nor checked) again.
 * Taken only once the object is frozen (stored objects are), so nothing
 * changed it since; the sets are shared from then on and never changed in
 * place (`trackUpdate` copies the nodes it changes).
 */
const writtenFrom: unique symbol = Symbol("writtenFrom")

/** Distinct field sets whose `fieldsV1` is shared (`writeSet`): at least this many recent ones, at most twice. */
export const writtenSetsCapacity = 1024

/** Reads a `fieldsV1` value (`{"f:spec":{"f:replicas":{}}}`). */
export const fromFieldsV1 = (value: unknown): FieldNode => {
  if (!isObject(value)) return node()
  const keys = Object.keys(value)
  if (keys.length === 0) return leaf()
  const out = node()
  for (const k of keys) {
    if (k === ".") out.self = true
    else out.children.set(k, fromFieldsV1(value[k]))
  }
  return out
}

/**
 * Writes a field set as `fieldsV1` (children in sorted order, as Kubernetes
 * serializes them). The result is kept on the node (and the node for the
 * result, to be read back without parsing) and shared by later writes of the
 * same unchanged node, so it must not be changed.
 */
export const toFieldsV1 = (n: FieldNode): Obj => {
  if (n.fieldsV1 !== undefined) return n.fieldsV1
  if (n.children.size === 0) {
    n.fieldsV1 = emptyFields
    return emptyFields
  }
  const out: Obj = {}
  // "." sorts before every other element ('.' < 'f', 'i', 'k', 'v').
  if (n.self) out["."] = emptyFields
  // Children are often inserted in order already (one child, or an object's
  // keys in sorted order): sorted only when they are not, in place.
  let sorted = true
  let previous = ""
  for (const k of n.children.keys()) {
    if (k < previous) {
      sorted = false
      break
    }
    previous = k
  }
  if (sorted) for (const [k, c] of n.children) setKey(out, k, toFieldsV1(c))
  else {
    const keys = new Array<string>(n.children.size)
    let count = 0
    for (const k of n.children.keys()) {
      // Insertion sort: a node has few children, and Array#sort copies.
      let i = count++
      while (i > 0 && (keys[i - 1] as string) > k) {
        keys[i] = keys[i - 1] as string
        i--
      }
      keys[i] = k
    }
    for (const k of keys) setKey(out, k, toFieldsV1(n.children.get(k) as FieldNode))
  }
  n.fieldsV1 = out
  return out
}

/** Every member path of a set. */
export const memberPaths = (n: FieldNode): Array<Array<string>> => {
  const out: Array<Array<string>> = []
  const walk = (cur: FieldNode, path: Array<string>) => {
    if (cur.self && path.length > 0) out.push(path)
    for (const [k, c] of cur.children) walk(c, [...path, k])
  }
  walk(n, [])
  return out
}

/** Leaves: member paths without member descendants (the fields whose values are compared). */
export const leafPaths = (n: FieldNode): Array<Array<string>> => {
  const out: Array<Array<string>> = []
  const walk = (cur: FieldNode, path: Array<string>) => {
    if (cur.children.size === 0) {
      if (cur.self && path.length > 0) out.push(path)
      return
    }
    for (const [k, c] of cur.children) walk(c, [...path, k])
  }
  walk(n, [])
  return out
}

export const hasPath = (n: FieldNode, path: ReadonlyArray<string>): boolean => {
  let cur: FieldNode | undefined = n
  for (const el of path) {
    cur = cur.children.get(el)
    if (cur === undefined) return false
  }
  return cur.self
}

/** Adds a member path, in place. */
export const addPath = (n: FieldNode, path: ReadonlyArray<string>): void => {
  let cur = n
  for (const el of path) {
    cur.fieldsV1 = undefined
    let next = cur.children.get(el)
    if (next === undefined) {
      if (cur.children === noChildren) cur.children = new Map()
      cur.children.set(el, (next = node()))
    }
    cur = next
  }
  cur.self = true
  cur.fieldsV1 = undefined
}

/** Removes a member path (and prunes nodes left empty), in place. */
export const removePath = (n: FieldNode, path: ReadonlyArray<string>): void => {
  const walk = (cur: FieldNode, i: number): boolean => {
    cur.fieldsV1 = undefined
    if (i === path.length) {
      cur.self = false
      return cur.children.size === 0
    }
    const el = path[i] as string
    const next = cur.children.get(el)
    if (next === undefined) return !cur.self && cur.children.size === 0
    if (walk(next, i + 1)) cur.children.delete(el)
    return !cur.self && cur.children.size === 0
  }
  walk(n, 0)
}

export const isEmpty = (n: FieldNode): boolean => !n.self && n.children.size === 0

/** A copy of one node (its children shared) to change. */
const copyNode = (n: FieldNode, self = n.self): FieldNode => ({
  self,
  children: new Map(n.children),
  fieldsV1: undefined,
})

/** `addPath` without changing `n`: the nodes on the path are copied, the rest shared; `n` itself when the path is a member. */
export const withPath = (n: FieldNode, path: ReadonlyArray<string>, i = 0): FieldNode => {
  if (i === path.length) return n.self ? n : copyNode(n, true)
  const el = path[i] as string
  const child = n.children.get(el)
  const changed = withPath(child ?? node(), path, i + 1)
  if (changed === child) return n
  const out = copyNode(n)
  out.children.set(el, changed)
  return out
}

/** `removePath` without changing `n`: the nodes on the path are copied, the rest shared; `n` itself when the path is no member. */
export const withoutPath = (n: FieldNode, path: ReadonlyArray<string>, i = 0): FieldNode => {
  if (i === path.length) return n.self ? copyNode(n, false) : n
  const el = path[i] as string
  const child = n.children.get(el)
  if (child === undefined) return n
  const changed = withoutPath(child, path, i + 1)
  if (changed === child) return n
  const out = copyNode(n)
  if (isEmpty(changed)) out.children.delete(el)
  else out.children.set(el, changed)
  return out
}

// ---------------------------------------------------------------------------
// Field sets of objects

/** Metadata fields the system owns: never part of a manager's set. */
const systemMetadata = new Set([
  "name",
  "namespace",
  "generateName",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
])

/** The key fields of a keyed list's item, with key defaults filled in. */
const itemKey = (item: Obj, list: Extract<ListType, { kind: "map" }>): Obj => {
  const key: Obj = {}
  for (const k of list.keys) {
    const v = item[k] ?? list.keyDefaults?.[k]
    if (v !== undefined) setKey(key, k, v)
  }
  return key
}

const keyElement = (item: Obj, list: Extract<ListType, { kind: "map" }>): string =>
  `k:${JSON.stringify(itemKey(item, list))}`

const build = (value: unknown, type: TypeNode): FieldNode => {
  const keys = isObject(value) && type.atomic !== true ? Object.keys(value) : undefined
  if (keys !== undefined && keys.length > 0) {
    const object = value as Obj
    const n = node(true)
    for (const k of keys) n.children.set(`f:${k}`, build(object[k], fieldType(type, k)))
    return n
  }
  if (Array.isArray(value) && value.length > 0 && type.list?.kind === "map") {
    const list = type.list
    const n = node(true)
    for (const item of value) {
      if (!isObject(item)) continue
      n.children.set(keyElement(item, list), build(item, type.elem ?? {}))
    }
    return n
  }
  if (Array.isArray(value) && value.length > 0 && type.list?.kind === "set") {
    const n = node(true)
    for (const item of value) n.children.set(`v:${JSON.stringify(item)}`, leaf())
    return n
  }
  return leaf()
}

/** Which part of an object a set covers: everything but status, or status only. */
export type Scope = "main" | "status"

/**
 * The fields an object sets, in the given scope: apiVersion, kind and the
 * system's metadata are nobody's, and status belongs to the status subresource.
 */
export const fieldsOf = (object: Obj, type: TypeNode, scope: Scope): FieldNode =>
  collectFields(object, type, scope, undefined)

/**
 * `fieldsOf(old)` for an update to `next`, given `after = fieldsOf(next)`:
 * where a top-level field or a metadata field holds equal values in both,
 * the subtree of `after` is taken as is (equal values build equal sets), so
 * an update pays for the parts it changed. The shared subtrees are read, never
 * changed; `changedPaths` and `removedPaths` skip them by identity.
 */
export const fieldsBefore = (
  old: Obj,
  next: Obj,
  after: FieldNode,
  type: TypeNode,
  scope: Scope,
): FieldNode => collectFields(old, type, scope, { next, after })

/**
 * The parts of `fieldsOf(old)` and `fieldsOf(next)` an update can change:
 * the sets of the top-level fields and metadata fields whose values differ
 * (equal values build equal sets, and `changedPaths` and `removedPaths`
 * find nothing under them). An update pays for what it changed, not for
 * the whole object.
 */
export const differingFields = (
  old: Obj,
  next: Obj,
  type: TypeNode,
  scope: Scope,
): { readonly before: FieldNode; readonly after: FieldNode } => {
  const before = node()
  const after = node()
  /**
   * The sets of the members of `o` and `n` (old and next) that differ, under
   * `b` and `a`, each value compared once: `n`'s members, then those only `o` has.
   */
  const diff = (
    b: FieldNode,
    a: FieldNode,
    o: Obj,
    n: Obj,
    typeOf: (k: string) => TypeNode,
    skip: (k: string) => boolean,
    topLevel: boolean,
  ) => {
    const add = (into: FieldNode, value: unknown, k: string) => {
      const child = build(value, typeOf(k))
      // Top-level structs are containers, not values of their own (as in collectFields).
      if (topLevel && isObject(value)) child.self = child.children.size === 0
      into.children.set(`f:${k}`, child)
    }
    for (const k in n) {
      if (!Object.hasOwn(n, k) || skip(k)) continue
      const inOld = Object.hasOwn(o, k)
      if (inOld && deepEqual(n[k], o[k])) continue
      if (topLevel && k === "metadata") {
        const om = isObject(o.metadata) ? o.metadata : {}
        const nm = isObject(n.metadata) ? n.metadata : {}
        const bm = node()
        const am = node()
        const t = fieldType(type, "metadata")
        diff(bm, am, om, nm, (mk) => fieldType(t, mk), isSystemMetadata, false)
        if (bm.children.size > 0) b.children.set("f:metadata", bm)
        if (am.children.size > 0) a.children.set("f:metadata", am)
        continue
      }
      add(a, n[k], k)
      if (inOld) add(b, o[k], k)
    }
    for (const k in o) {
      if (!Object.hasOwn(o, k) || skip(k) || Object.hasOwn(n, k)) continue
      if (topLevel && k === "metadata") {
        const bm = node()
        const t = fieldType(type, "metadata")
        diff(
          bm,
          node(),
          isObject(o.metadata) ? o.metadata : {},
          {},
          (mk) => fieldType(t, mk),
          isSystemMetadata,
          false,
        )
        if (bm.children.size > 0) b.children.set("f:metadata", bm)
        continue
      }
      add(b, o[k], k)
    }
  }
  diff(
    before,
    after,
    old,
    next,
    (k) => fieldType(type, k),
    (k) => k === "apiVersion" || k === "kind" || (k === "status") !== (scope === "status"),
    true,
  )
  return { before, after }
}

const isSystemMetadata = (k: string): boolean => systemMetadata.has(k)

const collectFields = (
  object: Obj,
  type: TypeNode,
  scope: Scope,
  like: { readonly next: Obj; readonly after: FieldNode } | undefined,
): FieldNode => {
  /** The set of `value`, or `like`'s when its value there is equal. */
  const fieldSet = (
    value: unknown,
    t: TypeNode,
    likeValue: unknown,
    likeSet: FieldNode | undefined,
  ): FieldNode => (likeSet !== undefined && deepEqual(value, likeValue) ? likeSet : build(value, t))
  const root = node()
  for (const k of Object.keys(object)) {
    if (k === "apiVersion" || k === "kind") continue
    if ((k === "status") !== (scope === "status")) continue
    const t = fieldType(type, k)
    if (k === "metadata") {
      const meta = isObject(object.metadata) ? object.metadata : {}
      const likeMeta = like !== undefined && isObject(like.next.metadata) ? like.next.metadata : {}
      const likeSets = like?.after.children.get("f:metadata")
      const m = node()
      for (const mk of Object.keys(meta)) {
        if (systemMetadata.has(mk)) continue
        const el = `f:${mk}`
        m.children.set(
          el,
          fieldSet(meta[mk], fieldType(t, mk), likeMeta[mk], likeSets?.children.get(el)),
        )
      }
      if (m.children.size > 0) root.children.set("f:metadata", m)
      continue
    }
    const el = `f:${k}`
    const likeSet = like?.after.children.get(el)
    const child = fieldSet(object[k], t, like?.next[k], likeSet)
    // Top-level structs are containers, not values of their own.
    if (child !== likeSet && isObject(object[k])) child.self = child.children.size === 0
    root.children.set(el, child)
  }
  return root
}

// ---------------------------------------------------------------------------
// Values at paths

const parseElement = (el: string): { kind: string; value: unknown } => {
  const kind = el.slice(0, 1)
  const rest = el.slice(2)
  if (kind === "f") return { kind, value: rest }
  if (kind === "i") return { kind, value: Number(rest) }
  return { kind, value: JSON.parse(rest) as unknown }
}

const matchesKey = (item: unknown, key: Obj, type: TypeNode): boolean => {
  if (!isObject(item) || type.list?.kind !== "map") return false
  return deepEqual(itemKey(item, type.list), key)
}

/** JSON with object keys sorted: equal strings exactly for `deepEqual` JSON values. */
const canonicalJson = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(",")}}`
  return JSON.stringify(v) ?? "null"
}

/**
 * Per-call indexes of keyed lists by their items' keys, for objects that do
 * not change while the call reads them: a lookup per path element is then
 * constant time, where a scan per element made field tracking of a list of
 * n items O(n^2) (an update of a 5,000-container pod took seconds of the one
 * event loop).
 */
export type KeyIndexes = WeakMap<ReadonlyArray<unknown>, Map<string, unknown>>

/** The first item of a keyed list with this key (`matchesKey`), through `indexes` when given. */
const findByKey = (
  list: ReadonlyArray<unknown>,
  key: Obj,
  type: TypeNode,
  indexes: KeyIndexes | undefined,
): unknown => {
  const listType = type.list
  if (indexes === undefined || listType?.kind !== "map")
    return list.find((item) => matchesKey(item, key, type))
  let index = indexes.get(list)
  if (index === undefined) {
    index = new Map()
    for (const item of list) {
      if (!isObject(item)) continue
      const k = canonicalJson(itemKey(item, listType))
      if (!index.has(k)) index.set(k, item)
    }
    indexes.set(list, index)
  }
  return index.get(canonicalJson(key))
}

/** Finds a list's item for a path element (`k:`, `v:` or `i:`), or undefined. */
type ItemLookup = (list: Array<unknown>, kind: string, value: unknown, type: TypeNode) => unknown

/** The value at a path, list items found by `lookup`. */
const walkPath = (
  object: unknown,
  path: ReadonlyArray<string>,
  type: TypeNode,
  lookup: ItemLookup,
): unknown => {
  let cur: unknown = object
  let t = type
  for (const el of path) {
    const { kind, value } = parseElement(el)
    if (kind === "f") {
      if (!isObject(cur)) return undefined
      cur = cur[value as string]
      t = fieldType(t, value as string)
    } else {
      if (!Array.isArray(cur)) return undefined
      cur = lookup(cur, kind, value, t)
      if (kind === "k") t = t.elem ?? {}
    }
    if (cur === undefined) return undefined
  }
  return cur
}

/** The value at a path of a field set, or undefined when the object has none there. */
export const valueAt = (
  object: unknown,
  path: ReadonlyArray<string>,
  type: TypeNode,
  indexes?: KeyIndexes,
): unknown =>
  walkPath(object, path, type, (list, kind, value, t) =>
    kind === "k"
      ? findByKey(list, value as Obj, t, indexes)
      : kind === "v"
        ? list.find((item) => deepEqual(item, value))
        : list[value as number],
  )

/** A path as Kubernetes prints it in conflicts: `.spec.template.spec.containers[name="web"].image`. */
export const formatPath = (path: ReadonlyArray<string>): string =>
  path
    .map((el) => {
      const { kind, value } = parseElement(el)
      if (kind === "f") return `.${value as string}`
      if (kind === "i") return `[${value as number}]`
      if (kind === "v") return `[=${JSON.stringify(value)}]`
      const key = value as Obj
      return `[${Object.keys(key)
        .map((k) => `${k}=${JSON.stringify(key[k])}`)
        .join(",")}]`
    })
    .join("")

/**
 * Removes values at paths from an object (a private copy), pruning nothing
 * else. Keyed list items are found through per-list indexes and removed by
 * leaving a hole, closed once by `finish`: removing n items of a list of n
 * stays linear (a scan and a splice per item made an apply that drops
 * 12,000 env vars hold the event loop for 38 s). `valueAt` reads through the
 * holes; `liveLength` is a list's length without them.
 */
const makeRemover = (type: TypeNode) => {
  const hole = Symbol("removed")
  const holes = new Map<Array<unknown>, number>()
  const indexes = new Map<Array<unknown>, Map<string, number>>()
  const keyedIndex = (list: Array<unknown>, key: Obj, t: TypeNode): number => {
    const listType = t.list
    if (listType?.kind !== "map") return -1
    let index = indexes.get(list)
    if (index === undefined) {
      index = new Map()
      list.forEach((item, i) => {
        if (!isObject(item)) return
        const k = canonicalJson(itemKey(item, listType))
        if (!index?.has(k)) index?.set(k, i)
      })
      indexes.set(list, index)
    }
    return index.get(canonicalJson(key)) ?? -1
  }
  const step = (list: Array<unknown>, kind: string, value: unknown, t: TypeNode): number => {
    const i =
      kind === "k"
        ? keyedIndex(list, value as Obj, t)
        : kind === "v"
          ? list.findIndex((item) => item !== hole && deepEqual(item, value))
          : (value as number)
    return i >= 0 && i < list.length && list[i] !== hole ? i : -1
  }
  const remove = (object: Obj, path: ReadonlyArray<string>): void => {
    let cur: unknown = object
    let t = type
    for (let i = 0; i < path.length; i++) {
      const { kind, value } = parseElement(path[i] as string)
      const last = i === path.length - 1
      if (kind === "f") {
        if (!isObject(cur)) return
        if (last) {
          delete cur[value as string]
          return
        }
        cur = cur[value as string]
        t = fieldType(t, value as string)
      } else if (Array.isArray(cur)) {
        const index = step(cur, kind, value, t)
        if (index < 0) return
        if (last) {
          cur[index] = hole
          holes.set(cur, (holes.get(cur) ?? 0) + 1)
          return
        }
        cur = cur[index]
        if (kind === "k") t = t.elem ?? {}
      } else {
        return
      }
    }
  }
  const valueThrough = (object: Obj, path: ReadonlyArray<string>): unknown =>
    walkPath(object, path, type, (list, kind, value, t) => {
      const index = step(list, kind, value, t)
      return index < 0 ? undefined : list[index]
    })

  const liveLength = (list: Array<unknown>): number => list.length - (holes.get(list) ?? 0)
  const finish = () => {
    for (const list of holes.keys()) {
      const kept = list.filter((item) => item !== hole)
      list.length = 0
      list.push(...kept)
    }
  }
  return { remove, valueAt: valueThrough, liveLength, finish }
}

// ---------------------------------------------------------------------------
// managedFields entries

export interface ManagedEntry {
  readonly manager: string
  readonly operation: "Apply" | "Update"
  readonly apiVersion: string
  readonly time: string | undefined
  readonly subresource: string
  readonly fields: FieldNode
}

/** Whether a path element parses: `.`, `f:<name>`, `i:<index>`, `k:<JSON object>`, `v:<JSON value>`. */
const isPathElement = (el: string): boolean => {
  if (el === ".") return true
  if (el.length < 2 || el[1] !== ":") return false
  const rest = el.slice(2)
  switch (el[0]) {
    case "f":
      return true
    case "i":
      return /^\d+$/.test(rest)
    case "k":
    case "v":
      try {
        const value = JSON.parse(rest) as unknown
        return el[0] === "v" || isObject(value)
      } catch {
        return false
      }
    default:
      return false
  }
}

/**
 * Whether a `fieldsV1` value is a field set Kubernetes can decode: objects
 * all the way down, keyed by path elements that parse. A request's
 * managedFields that are not are ignored (Kubernetes falls back to the live
 * object's), so no stored entry makes a later apply fail to read it.
 */
export const isFieldsV1 = (value: unknown): boolean => {
  if (!isObject(value)) return false
  for (const k of Object.keys(value)) {
    if (!isPathElement(k) || !isFieldsV1(value[k])) return false
  }
  return true
}

/** Whether every entry of a managedFields list is an object with a decodable `fieldsV1`. */
const decodableManagedFields = (raw: unknown): boolean =>
  Array.isArray(raw) && raw.every((e) => isObject(e) && isFieldsV1(e.fieldsV1))

/** The set a frozen `fieldsV1` object was written from, when this server wrote it. */
const writtenSet = (value: unknown): FieldNode | undefined =>
  isObject(value) && Object.isFrozen(value)
    ? ((value as { [writtenFrom]?: FieldNode })[writtenFrom] ?? undefined)
    : undefined

/**
 * Reads `metadata.managedFields` (entries that are not objects, or whose
 * fieldsV1 does not decode, are dropped). The sets may be shared with the
 * object's other readers: they are read, or changed by copying
 * (`withPath`, `withoutPath`, `cloneSet`), never changed in place.
 */
export const readManagedFields = (object: Obj): Array<ManagedEntry> => {
  const raw = metadataOf(object).managedFields
  if (!Array.isArray(raw)) return []
  const out: Array<ManagedEntry> = []
  for (const e of raw) {
    if (!isObject(e)) continue
    let fields = writtenSet(e.fieldsV1)
    if (fields === undefined) {
      if (!isFieldsV1(e.fieldsV1)) continue
      fields = fromFieldsV1(e.fieldsV1)
    }
    out.push({
      manager: typeof e.manager === "string" ? e.manager : "",
      operation: e.operation === "Apply" ? "Apply" : "Update",
      apiVersion: typeof e.apiVersion === "string" ? e.apiVersion : "",
      time: typeof e.time === "string" ? e.time : undefined,
      subresource: typeof e.subresource === "string" ? e.subresource : "",
      fields,
    })
  }
  return out
}

/**
 * The `fieldsV1` objects written recently, one per distinct set, by their
 * JSON: a set written again, by any object, is written as the same frozen
 * `fieldsV1` (with its `writtenFrom`). Objects made alike (a workload's pods,
 * a controller's writes) have alike sets, so this shares them instead of
 * keeping a field set tree and its `fieldsV1` per object: they were ~50 of the
 * ~62 heap objects of each pod the server kept decoded (heap snapshots of the
 * benchmark), and a full collection's marking visits every one. Bounded
 * (`RecentMap`), so distinct sets cost no more than before.
 */
const writtenSets = new RecentMap<string, Obj>(writtenSetsCapacity)

/** `toFieldsV1` of a whole set, kept to be read back (`writtenFrom`), shared with every equal set written recently. */
const writeSet = (n: FieldNode): Obj => {
  const out = toFieldsV1(n)
  // The shared `{}` reads as a leaf anyway; a frozen one was written (or is `{}`) already.
  if (out === emptyFields || Object.isFrozen(out)) return out
  const text = JSON.stringify(out)
  return writtenSets.get(text) ?? keepSet(text, out, n)
}

/** `fieldsV1` (JSON `text`) read as set `n`, frozen (as every stored object is later) and shared from now on. */
const keepSet = (text: string, fieldsV1: Obj, n: FieldNode): Obj => {
  Object.defineProperty(fieldsV1, writtenFrom, { value: n })
  writtenSets.set(text, deepFreeze(fieldsV1))
  return fieldsV1
}

/**
 * A parsed `fieldsV1` (of a stored object read back, not frozen yet) as the
 * shared one written recently with the same JSON, or, when none is and it
 * decodes, itself, frozen and shared from now on with the set it reads as
 * (so an update of that object does not parse it again). One
 * `JSON.stringify` per call.
 */
export const sharedFieldsV1 = (value: unknown): unknown => {
  if (!isObject(value) || Object.isFrozen(value)) return value
  const text = JSON.stringify(value)
  const same = writtenSets.get(text)
  if (same !== undefined) return same
  return isFieldsV1(value) ? keepSet(text, value, fromFieldsV1(value)) : value
}

const writeEntries = (entries: ReadonlyArray<ManagedEntry>): Array<Obj> =>
  entries
    .filter((e) => !isEmpty(e.fields))
    .map((e) => ({
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      ...(e.time === undefined ? {} : { time: e.time }),
      fieldsType: "FieldsV1",
      fieldsV1: writeSet(e.fields),
      ...(e.subresource === "" ? {} : { subresource: e.subresource }),
    }))

const withManagedFields = (object: Obj, entries: ReadonlyArray<ManagedEntry>): Obj => {
  const metadata = { ...metadataOf(object) }
  const written = writeEntries(entries)
  if (written.length === 0) delete metadata.managedFields
  else metadata.managedFields = written
  return { ...object, metadata }
}

const sameEntry = (e: ManagedEntry, manager: string, operation: string, subresource: string) =>
  e.manager === manager && e.operation === operation && e.subresource === subresource

/** Who makes a write and how: recorded on its managedFields entry. */
export interface Manager {
  readonly manager: string
  readonly apiVersion: string
  readonly subresource: string
  readonly time: string
}

/**
 * Records an update (create, update, patch) by `who`: it gains the fields
 * whose values it set or changed, every other manager loses them, and fields
 * the update removed are nobody's. A request that changes managedFields
 * itself is taken at its word (that is how kubectl migrates client-side apply
 * to server-side apply); `[{}]` resets them.
 */
export const trackUpdate = (old: Obj | undefined, next: Obj, type: TypeNode, who: Manager): Obj => {
  const scope: Scope = who.subresource === "status" ? "status" : "main"
  const requested = metadataOf(next).managedFields
  const previous = old === undefined ? undefined : metadataOf(old).managedFields
  if (requested !== undefined && !deepEqual(requested, previous)) {
    if (Array.isArray(requested) && requested.length === 1 && deepEqual(requested[0], {})) {
      const metadata = { ...metadataOf(next) }
      delete metadata.managedFields
      return { ...next, metadata }
    }
    if (decodableManagedFields(requested)) return next
    // Not decodable: tracked as if the request had carried none (Kubernetes' FieldManager.Update).
  }
  if (old === undefined) {
    const after = fieldsOf(next, type, scope)
    // A create: the creator sets every field there is.
    if (isEmpty(after)) return withManagedFields(next, [])
    return withManagedFields(next, [
      {
        manager: who.manager,
        operation: "Update",
        apiVersion: who.apiVersion,
        time: who.time,
        subresource: who.subresource,
        fields: after,
      },
    ])
  }
  const entries = readManagedFields(old)
  const { before, after } = differingFields(old, next, type, scope)
  const changed = changedPaths(before, after, old, next, type)
  const removed = removedPaths(before, after)
  if (changed.length === 0 && removed.length === 0 && old !== undefined) {
    return withManagedFields(next, entries)
  }
  const out: Array<ManagedEntry> = []
  let mine: ManagedEntry | undefined
  for (const e of entries) {
    // The sets may be shared (readManagedFields): changed by copying the
    // nodes on the changed paths, so an entry whose fields did not change
    // writes the same fieldsV1 again, and one that did re-writes only those nodes.
    let fields = e.fields
    for (const p of removed) fields = withoutPath(fields, p)
    if (sameEntry(e, who.manager, "Update", who.subresource)) {
      for (const p of changed) fields = withPath(fields, p)
      mine = { ...e, apiVersion: who.apiVersion, time: who.time, fields }
      out.push(mine)
      continue
    }
    for (const p of changed) fields = withoutPath(fields, p)
    out.push(fields === e.fields ? e : { ...e, fields })
  }
  if (mine === undefined && changed.length > 0) {
    const fields = node()
    for (const p of changed) addPath(fields, p)
    out.push({
      manager: who.manager,
      operation: "Update",
      apiVersion: who.apiVersion,
      time: who.time,
      subresource: who.subresource,
      fields,
    })
  }
  return withManagedFields(next, out)
}

const childAt = (n: FieldNode, path: ReadonlyArray<string>): FieldNode | undefined => {
  let cur: FieldNode | undefined = n
  for (const el of path) {
    cur = cur?.children.get(el)
    if (cur === undefined) return undefined
  }
  return cur
}

/** One step of `valueAt`: the value under a path element (undefined when none). */
const stepValue = (cur: unknown, el: string, type: TypeNode, indexes: KeyIndexes): unknown => {
  const { kind, value } = parseElement(el)
  if (kind === "f") return isObject(cur) ? cur[value as string] : undefined
  if (!Array.isArray(cur)) return undefined
  if (kind === "k") return findByKey(cur, value as Obj, type, indexes)
  if (kind === "v") return cur.find((item) => deepEqual(item, value))
  return cur[value as number]
}

/** One step of `valueAt`'s type: the type under a path element. */
const stepType = (el: string, type: TypeNode): TypeNode =>
  el.startsWith("f:")
    ? fieldType(type, el.slice(2))
    : el.startsWith("k:")
      ? (type.elem ?? {})
      : type

/**
 * The member paths of `after` an update changed, in pre-order: those `before`
 * lacks, and leaves whose value differs between `old` and `next` (containers
 * count only through their leaves). One walk of both sets and both objects
 * together, rather than a walk from the root per path.
 */
export const changedPaths = (
  before: FieldNode,
  after: FieldNode,
  old: unknown,
  next: unknown,
  type: TypeNode,
): Array<Array<string>> => {
  const out: Array<Array<string>> = []
  // `old` and `next` are only read here.
  const indexes: KeyIndexes = new WeakMap()
  const walk = (
    a: FieldNode,
    b: FieldNode | undefined,
    o: unknown,
    n: unknown,
    t: TypeNode,
    path: ReadonlyArray<string>,
    exact: boolean,
  ) => {
    for (const [el, child] of a.children) {
      const bc = b?.children.get(el)
      // Shared by fieldsBefore: equal values, nothing changed under it.
      if (bc === child) continue
      const leaf = child.children.size === 0
      // Under a node `before` lacks, every member is new: no values needed.
      const known = bc !== undefined
      const ov = known ? stepValue(o, el, t, indexes) : undefined
      const nv = known ? stepValue(n, el, t, indexes) : undefined
      if (child.self && (!known || !bc.self || (leaf && !deepEqual(ov, nv))))
        out.push([...path, el])
      // Equal values have equal field sets (both sets are built from them):
      // nothing under them changed, and one comparison skips the walk of an
      // unchanged subtree (most of an object, in most updates). Exact only
      // above keyed-list items: with a key repeated, an item's set is built
      // from the last item of that key and `stepValue` finds the first.
      const isItem = el.startsWith("k:")
      if (!leaf && !(exact && !isItem && known && deepEqual(ov, nv)))
        walk(child, bc, ov, nv, stepType(el, t), [...path, el], exact && !isItem)
    }
  }
  walk(after, before, old, next, type, [], true)
  return out
}

/** The member paths of `before` that `after` lacks, in pre-order. */
export const removedPaths = (before: FieldNode, after: FieldNode): Array<Array<string>> => {
  const out: Array<Array<string>> = []
  const walk = (b: FieldNode, a: FieldNode | undefined, path: ReadonlyArray<string>) => {
    for (const [el, child] of b.children) {
      const ac = a?.children.get(el)
      if (ac === child) continue
      if (child.self && (ac === undefined || !ac.self)) out.push([...path, el])
      if (child.children.size > 0) walk(child, ac, [...path, el])
    }
  }
  walk(before, after, [])
  return out
}

const cloneSet = (n: FieldNode): FieldNode => {
  const out = node(n.self)
  for (const [k, c] of n.children) out.children.set(k, cloneSet(c))
  return out
}

// ---------------------------------------------------------------------------
// Server-side apply

/** One field another manager owns with a different value. */
export interface Conflict {
  readonly manager: string
  readonly operation: "Apply" | "Update"
  readonly apiVersion: string
  readonly subresource: string
  readonly path: string
}

/**
 * How Kubernetes names a manager in conflicts: `"m"` for an applier,
 * `"m" using apps/v1` for an updater, with `with subresource "scale"` when
 * it wrote through one.
 */
export const describeManager = (c: Omit<Conflict, "path">): string => {
  let s = JSON.stringify(c.manager)
  if (c.subresource !== "") s = `${s} with subresource ${JSON.stringify(c.subresource)}`
  return c.operation === "Update" ? `${s} using ${c.apiVersion}` : s
}

export type ApplyResult =
  | { readonly _tag: "Applied"; readonly object: Obj }
  | { readonly _tag: "Conflicts"; readonly conflicts: ReadonlyArray<Conflict> }

/** Merges an applied configuration into the live object: keyed lists by key, sets by union. */
const mergeApplied = (live: unknown, applied: unknown, type: TypeNode): unknown => {
  if (isObject(applied) && type.atomic !== true) {
    const out: Obj = isObject(live) ? { ...live } : {}
    for (const k of Object.keys(applied))
      setKey(out, k, mergeApplied(out[k], applied[k], fieldType(type, k)))
    return out
  }
  if (Array.isArray(applied) && type.list?.kind === "map") {
    const list = type.list
    const out = Array.isArray(live) ? [...live] : []
    // First position of each key (canonical JSON), so the merge stays linear.
    const positions = new Map<string, number>()
    out.forEach((o, i) => {
      if (!isObject(o)) return
      const k = canonicalJson(itemKey(o, list))
      if (!positions.has(k)) positions.set(k, i)
    })
    for (const item of applied) {
      if (!isObject(item)) continue
      const k = canonicalJson(itemKey(item, list))
      const at = positions.get(k)
      if (at === undefined) {
        positions.set(k, out.length)
        out.push(clone(item))
      } else out[at] = mergeApplied(out[at], item, type.elem ?? {})
    }
    return out
  }
  if (Array.isArray(applied) && type.list?.kind === "set") {
    const out = Array.isArray(live) ? [...live] : []
    const present = new Set(out.map(canonicalJson))
    for (const v of applied) {
      const k = canonicalJson(v)
      if (present.has(k)) continue
      present.add(k)
      out.push(v)
    }
    return out
  }
  return clone(applied)
}

/**
 * Server-side apply of `applied` (the configuration, in the served version,
 * already decoded) by `who` onto `live` (undefined when the object does not
 * exist yet). `force` takes conflicting fields from their owners.
 */
export const apply = (
  live: Obj | undefined,
  applied: Obj,
  type: TypeNode,
  who: Manager,
  force: boolean,
): ApplyResult => {
  const scope: Scope = who.subresource === "status" ? "status" : "main"
  const base = live ?? {}
  const entries = live === undefined ? [] : readManagedFields(live)
  const appliedSet = fieldsOf(applied, type, scope)
  const appliedLeaves = leafPaths(appliedSet)

  const conflicts: Array<Conflict> = []
  const taken = new Map<number, Array<Array<string>>>()
  // `base` and `applied` are only read while conflicts are looked for.
  const indexes: KeyIndexes = new WeakMap()
  entries.forEach((e, i) => {
    if (sameEntry(e, who.manager, "Apply", who.subresource)) return
    for (const path of appliedLeaves) {
      if (!hasPath(e.fields, path)) continue
      if (deepEqual(valueAt(base, path, type, indexes), valueAt(applied, path, type, indexes)))
        continue
      conflicts.push({
        manager: e.manager,
        operation: e.operation,
        apiVersion: e.apiVersion,
        subresource: e.subresource,
        path: formatPath(path),
      })
      const list = taken.get(i) ?? []
      list.push(path)
      taken.set(i, list)
    }
  })
  if (conflicts.length > 0 && !force) return { _tag: "Conflicts", conflicts }

  // Fields this manager applied before and no longer applies, unless someone else owns them.
  const previous = entries.find((e) => sameEntry(e, who.manager, "Apply", who.subresource))
  let merged = mergeApplied(clone(base), applied, type) as Obj
  if (previous !== undefined) {
    const others = entries.filter((e) => e !== previous)
    const dropped = memberPaths(previous.fields).filter(
      (p) => !hasPath(appliedSet, p) && !others.some((o) => hasPath(o.fields, p)),
    )
    merged = clone(merged)
    // Deepest first: leaves go, then the maps and lists they leave empty.
    const remover = makeRemover(type)
    for (const p of dropped.sort((a, b) => b.length - a.length)) {
      const node = childAt(previous.fields, p)
      if (node === undefined || node.children.size === 0) {
        remover.remove(merged, p)
        continue
      }
      const value = remover.valueAt(merged, p)
      const empty = Array.isArray(value)
        ? remover.liveLength(value) === 0
        : isObject(value) && Object.keys(value).length === 0
      if (empty) remover.remove(merged, p)
    }
    remover.finish()
  }

  const out: Array<ManagedEntry> = []
  entries.forEach((e, i) => {
    if (e === previous) return
    const lost = taken.get(i)
    if (lost === undefined) {
      out.push(e)
      return
    }
    const fields = cloneSet(e.fields)
    for (const p of lost) removePath(fields, p)
    out.push({ ...e, fields })
  })
  out.push({
    manager: who.manager,
    operation: "Apply",
    apiVersion: who.apiVersion,
    time: who.time,
    subresource: who.subresource,
    fields: appliedSet,
  })
  return { _tag: "Applied", object: withManagedFields(merged, out) }
}

/**
 * Kubernetes' conflict message: `Apply failed with 1 conflict: conflict with
 * "m" using apps/v1: .spec.replicas`; several are grouped by manager, one
 * `- <path>` line each.
 */
export const conflictMessage = (conflicts: ReadonlyArray<Conflict>): string => {
  const n = conflicts.length
  const head = `Apply failed with ${n} conflict${n === 1 ? "" : "s"}: `
  if (n === 1) {
    const c = conflicts[0] as Conflict
    return `${head}conflict with ${describeManager(c)}: ${c.path}`
  }
  const groups = new Map<string, Array<string>>()
  for (const c of conflicts) {
    const who = describeManager(c)
    const list = groups.get(who) ?? []
    list.push(`- ${c.path}`)
    groups.set(who, list)
  }
  const lines: Array<string> = []
  for (const [who, paths] of groups) lines.push(`conflicts with ${who}:`, ...paths)
  return `${head}${lines.join("\n")}`
}
