/**
 * The three patch formats of `PATCH` (server-side apply is in `apply.ts`):
 *
 * - JSON merge patch (RFC 7386, `application/merge-patch+json`): objects
 *   merge key by key, `null` deletes, anything else replaces.
 * - JSON patch (RFC 6902, `application/json-patch+json`): add, remove,
 *   replace, move, copy and test at JSON pointers.
 * - Strategic merge patch (`application/strategic-merge-patch+json`,
 *   Kubernetes' own): a merge patch that merges lists of objects by their
 *   merge key (containers by `name`, ports by `containerPort`), unions lists
 *   of scalars tagged `merge`, and understands the directives `$patch`
 *   (`replace`, `delete`, `merge`), `$setElementOrder/<list>`,
 *   `$deleteFromPrimitiveList/<list>` and `$retainKeys`.
 *
 * Pure: JSON in, JSON (or an error naming the problem) out; inputs are never
 * mutated.
 */
import { Result } from "effect"
import { clone, deepEqual, isObject, type Obj, setKey } from "./json.ts"
import { fieldType, type TypeNode } from "./typemeta.ts"

/**
 * A patch that cannot be applied; `invalid` is a 422 (the patch is
 * well-formed but fails), `tooLarge` a 413, else 400.
 */
export class PatchError extends Error {
  readonly invalid: boolean
  readonly tooLarge: boolean
  constructor(message: string, invalid = false, tooLarge = false) {
    super(message)
    this.invalid = invalid
    this.tooLarge = tooLarge
  }
}

/** Most operations in one JSON patch (Kubernetes' `maxJSONPatchOperations`). */
export const maxJsonPatchOperations = 10_000

/**
 * Most bytes a JSON patch's `copy` operations may add up to (Kubernetes'
 * `--json-patch-max-copy-bytes` default, 3 MiB): each copy can double the
 * document, so forty of them would otherwise exhaust the heap.
 */
export const maxJsonPatchCopyBytes = 3 * 1024 * 1024

const utf8 = new TextEncoder()

const guard = <A>(f: () => A): Result.Result<A, PatchError> => {
  try {
    return Result.succeed(f())
  } catch (e) {
    if (e instanceof PatchError) return Result.fail(e)
    if (e instanceof RangeError) return Result.fail(new PatchError("patch is too deeply nested"))
    throw e
  }
}

// ---------------------------------------------------------------------------
// JSON merge patch

const mergeValue = (target: unknown, patch: unknown): unknown => {
  if (!isObject(patch)) return clone(patch)
  const out: Obj = isObject(target) ? { ...target } : {}
  for (const k of Object.keys(patch)) {
    const v = patch[k]
    if (v === null) delete out[k]
    else setKey(out, k, mergeValue(out[k], v))
  }
  return out
}

/** RFC 7386 merge patch. */
export const jsonMergePatch = (
  target: unknown,
  patch: unknown,
): Result.Result<unknown, PatchError> => guard(() => mergeValue(target, patch))

// ---------------------------------------------------------------------------
// JSON patch

/** Splits a JSON pointer (`/a/b~1c/0`) into its reference tokens. */
export const parsePointer = (pointer: string): Array<string> => {
  if (pointer === "") return []
  if (!pointer.startsWith("/"))
    throw new PatchError(`invalid JSON pointer ${JSON.stringify(pointer)}: must start with /`)
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"))
}

const arrayIndex = (token: string, length: number, allowEnd: boolean, pointer: string): number => {
  if (allowEnd && token === "-") return length
  if (!/^(0|[1-9]\d*)$/.test(token))
    throw new PatchError(`invalid array index ${JSON.stringify(token)} in ${pointer}`, true)
  const i = Number(token)
  if (i > length || (!allowEnd && i === length)) {
    throw new PatchError(`array index ${i} out of bounds in ${pointer}`, true)
  }
  return i
}

/** The value at a pointer, or undefined when nothing is there. */
const getAt = (doc: unknown, tokens: ReadonlyArray<string>): unknown => {
  let cur = doc
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(t)) return undefined
      cur = cur[Number(t)]
    } else if (isObject(cur)) {
      if (!Object.hasOwn(cur, t)) return undefined
      cur = cur[t]
    } else {
      return undefined
    }
  }
  return cur
}

/** The container holding the pointer's last token (the document is a private copy: mutated in place). */
const parentOf = (
  root: { doc: unknown },
  tokens: ReadonlyArray<string>,
  pointer: string,
): Obj | Array<unknown> => {
  const parent = getAt(root.doc, tokens.slice(0, -1))
  if (!Array.isArray(parent) && !isObject(parent)) {
    throw new PatchError(`missing value at ${pointer}: its parent does not exist`, true)
  }
  return parent
}

const addAt = (root: { doc: unknown }, pointer: string, value: unknown): void => {
  const tokens = parsePointer(pointer)
  if (tokens.length === 0) {
    root.doc = value
    return
  }
  const parent = parentOf(root, tokens, pointer)
  const last = tokens[tokens.length - 1] as string
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true, pointer), 0, value)
  else setKey(parent, last, value)
}

const removeAt = (root: { doc: unknown }, pointer: string): unknown => {
  const tokens = parsePointer(pointer)
  if (tokens.length === 0) throw new PatchError("cannot remove the whole document", true)
  const parent = parentOf(root, tokens, pointer)
  const last = tokens[tokens.length - 1] as string
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false, pointer)
    return parent.splice(i, 1)[0]
  }
  if (!Object.hasOwn(parent, last)) {
    throw new PatchError(`Unable to remove nonexistent key: ${last}: missing value`, true)
  }
  const old = parent[last]
  delete parent[last]
  return old
}

const opString = (op: Obj, field: string, i: number): string => {
  const v = op[field]
  if (typeof v !== "string") throw new PatchError(`operation ${i}: "${field}" must be a string`)
  return v
}

/** RFC 6902 JSON patch. */
export const jsonPatch = (target: unknown, patch: unknown): Result.Result<unknown, PatchError> =>
  guard(() => {
    if (!Array.isArray(patch)) throw new PatchError("json patch must be an array of operations")
    if (patch.length > maxJsonPatchOperations) {
      throw new PatchError(
        `The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${patch.length}`,
        false,
        true,
      )
    }
    const root = { doc: clone(target) }
    let copied = 0
    patch.forEach((raw, i) => {
      if (!isObject(raw)) throw new PatchError(`operation ${i} must be an object`)
      const op = opString(raw, "op", i)
      const path = opString(raw, "path", i)
      switch (op) {
        case "add":
          if (!Object.hasOwn(raw, "value"))
            throw new PatchError(`operation ${i}: add needs a "value"`)
          addAt(root, path, clone(raw.value))
          break
        case "remove":
          removeAt(root, path)
          break
        case "replace": {
          if (!Object.hasOwn(raw, "value"))
            throw new PatchError(`operation ${i}: replace needs a "value"`)
          const tokens = parsePointer(path)
          if (tokens.length > 0 && getAt(root.doc, tokens) === undefined) {
            throw new PatchError(
              `replace operation does not apply: doc is missing key: ${path}: missing value`,
              true,
            )
          }
          if (tokens.length > 0) removeAt(root, path)
          addAt(root, path, clone(raw.value))
          break
        }
        case "move": {
          const from = opString(raw, "from", i)
          if (path.startsWith(`${from}/`))
            throw new PatchError(`operation ${i}: cannot move ${from} into itself`, true)
          const value = removeAt(root, from)
          addAt(root, path, value)
          break
        }
        case "copy": {
          const from = opString(raw, "from", i)
          const value = getAt(root.doc, parsePointer(from))
          if (value === undefined) throw new PatchError(`copy from ${from}: missing value`, true)
          copied += utf8.encode(JSON.stringify(value)).length
          if (copied > maxJsonPatchCopyBytes) {
            throw new PatchError(
              `Unable to complete the copy, the accumulated size increase of copy is ${copied}, exceeding the limit ${maxJsonPatchCopyBytes}`,
              true,
            )
          }
          addAt(root, path, clone(value))
          break
        }
        case "test": {
          const actual = getAt(root.doc, parsePointer(path))
          const expected = Object.hasOwn(raw, "value") ? raw.value : null
          if (!deepEqual(actual ?? null, expected)) {
            throw new PatchError(`testing value ${path} failed: test failed`, true)
          }
          break
        }
        default:
          throw new PatchError(`Unexpected kind: ${op}`)
      }
    })
    return root.doc
  })

// ---------------------------------------------------------------------------
// Strategic merge patch

const directive = "$patch"
const retainKeysDirective = "$retainKeys"
const setElementOrderPrefix = "$setElementOrder/"
const deleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList/"

const isDirectiveKey = (k: string): boolean =>
  k === directive ||
  k === retainKeysDirective ||
  k.startsWith(setElementOrderPrefix) ||
  k.startsWith(deleteFromPrimitiveListPrefix)

/** A patch value with its directives removed, as it is stored when nothing is there to merge into. */
const stripDirectives = (value: unknown, type: TypeNode): unknown => {
  if (Array.isArray(value)) {
    const elem = type.elem ?? {}
    return value
      .filter((item) => !(isObject(item) && item[directive] === "delete"))
      .map((item) => stripDirectives(item, elem))
  }
  if (!isObject(value)) return value
  const out: Obj = {}
  for (const k of Object.keys(value)) {
    if (isDirectiveKey(k) || value[k] === null) continue
    setKey(out, k, stripDirectives(value[k], fieldType(type, k)))
  }
  return out
}

const keyOf = (item: unknown, mergeKey: string): unknown =>
  isObject(item) ? item[mergeKey] : undefined

/** A scalar's identity as a map key (type-tagged: 1 and "1" differ), or undefined for objects and lists. */
const scalarId = (v: unknown): string | undefined => {
  switch (typeof v) {
    case "string":
      return `s${v}`
    case "number":
      return `n${v}`
    case "boolean":
      return `b${v}`
    default:
      return v === null ? "null" : undefined
  }
}

/**
 * The first index of each identity in a list, found in constant time for
 * scalar identities (merge keys, primitive list members) and by a scan only
 * for objects: merging or ordering n items into n items stays linear, where
 * a scan per item let one 1.4 MB patch of 20,000 containers hold the event
 * loop for tens of seconds.
 */
const indexBy = (
  items: ReadonlyArray<unknown>,
  identify: (item: unknown) => unknown,
): ((id: unknown) => number) => {
  const first = new Map<string, number>()
  items.forEach((item, i) => {
    const k = scalarId(identify(item))
    if (k !== undefined && !first.has(k)) first.set(k, i)
  })
  return (id) => {
    const k = scalarId(id)
    if (k !== undefined) return first.get(k) ?? -1
    return items.findIndex((item) => deepEqual(identify(item), id))
  }
}

/**
 * Orders a merged list by `$setElementOrder`: the patch's order for the items
 * it names; items only on the server keep their place relative to the
 * items that followed them there.
 */
const applyOrder = (
  merged: ReadonlyArray<unknown>,
  original: ReadonlyArray<unknown>,
  order: ReadonlyArray<unknown>,
  identify: (item: unknown) => unknown,
): Array<unknown> => {
  const orderIndex = indexBy(order, identify)
  const ranks = new Map<unknown, number>(merged.map((m) => [m, orderIndex(identify(m))]))
  const rank = (item: unknown): number => ranks.get(item) ?? -1
  const ordered = merged.filter((m) => rank(m) >= 0).sort((a, b) => rank(a) - rank(b))
  const serverOnly = merged.filter((m) => rank(m) < 0)
  const originalIndexOf = indexBy(original, identify)
  const originalIndex = (item: unknown) => originalIndexOf(identify(item))
  const out = [...ordered]
  // Each item's place on the server, computed once (the insertions below only read it).
  const placeOf = new Map<unknown, number>(merged.map((m) => [m, originalIndex(m)]))
  for (const s of serverOnly) {
    const at = placeOf.get(s) ?? -1
    // Insert before the first ordered item that came after it on the server.
    const before = at < 0 ? -1 : out.findIndex((o) => (placeOf.get(o) ?? -1) > at)
    if (before < 0) out.push(s)
    else out.splice(before, 0, s)
  }
  return out
}

const mergeMapList = (
  original: ReadonlyArray<unknown>,
  patch: ReadonlyArray<unknown>,
  mergeKey: string,
  elem: TypeNode,
  field: string,
): Array<unknown> => {
  // `{$patch: replace}` in a list replaces the whole list with the other items.
  if (patch.some((p) => isObject(p) && p[directive] === "replace")) {
    return patch
      .filter((p) => !(isObject(p) && p[directive] === "replace"))
      .map((p) => stripDirectives(p, elem))
  }
  // Items by merge key; a deleted key's items become holes, dropped at the end.
  const out: Array<unknown> = [...original]
  const deleted = new Set<number>()
  const positions = new Map<string, Array<number>>()
  const note = (item: unknown, i: number) => {
    const k = scalarId(keyOf(item, mergeKey))
    if (k === undefined) return
    const at = positions.get(k)
    if (at === undefined) positions.set(k, [i])
    else at.push(i)
  }
  out.forEach(note)
  const matching = (key: unknown): Array<number> => {
    const k = scalarId(key)
    const found =
      k !== undefined
        ? (positions.get(k) ?? [])
        : out.flatMap((o, i) => (deepEqual(keyOf(o, mergeKey), key) ? [i] : []))
    return found.filter((i) => !deleted.has(i))
  }
  for (const p of patch) {
    if (!isObject(p)) {
      throw new PatchError(
        `unable to merge a list of scalars into the list ${field} of objects keyed by ${mergeKey}`,
      )
    }
    const key = p[mergeKey]
    if (key === undefined) {
      throw new PatchError(
        `map: ${JSON.stringify(p)} does not contain declared merge key: ${mergeKey}`,
      )
    }
    const found = matching(key)
    if (p[directive] === "delete") {
      for (const i of found) deleted.add(i)
      continue
    }
    const at = found[0]
    if (at === undefined) {
      out.push(stripDirectives(p, elem))
      note(out[out.length - 1], out.length - 1)
    } else out[at] = mergeMap(out[at], p, elem)
  }
  return deleted.size === 0 ? out : out.filter((_, i) => !deleted.has(i))
}

const mergeSetList = (
  original: ReadonlyArray<unknown>,
  patch: ReadonlyArray<unknown>,
): Array<unknown> => {
  const out = [...original]
  const present = indexBy(out, (x) => x)
  const added = new Set<string>()
  for (const p of patch) {
    const k = scalarId(p)
    if (k !== undefined ? present(p) >= 0 || added.has(k) : out.some((o) => deepEqual(o, p)))
      continue
    if (k !== undefined) added.add(k)
    out.push(p)
  }
  return out
}

const mergeMap = (original: unknown, patch: Obj, type: TypeNode): unknown => {
  const mode = patch[directive]
  if (mode === "delete") return undefined
  if (mode === "replace") return stripDirectives(patch, type)
  if (mode !== undefined && mode !== "merge") {
    throw new PatchError(`Unknown patch type: ${String(mode)} in map: ${JSON.stringify(patch)}`)
  }
  const out: Obj = isObject(original) ? { ...original } : {}
  for (const k of Object.keys(patch)) {
    if (isDirectiveKey(k)) continue
    const value = patch[k]
    if (value === null) {
      delete out[k]
      continue
    }
    const t = fieldType(type, k)
    const current = out[k]
    if (isObject(value)) {
      const merged = t.atomic === true ? stripDirectives(value, t) : mergeMap(current, value, t)
      if (merged === undefined) delete out[k]
      else setKey(out, k, merged)
      continue
    }
    if (Array.isArray(value)) {
      const list = t.list
      const currentList = Array.isArray(current) ? current : []
      let merged: Array<unknown>
      if (list?.kind === "map")
        merged = mergeMapList(currentList, value, list.mergeKey, t.elem ?? {}, k)
      else if (list?.kind === "set") merged = mergeSetList(currentList, value)
      else merged = stripDirectives(value, t) as Array<unknown>
      setKey(out, k, merged)
      continue
    }
    setKey(out, k, value)
  }
  // Directives about lists, applied after the merge.
  for (const k of Object.keys(patch)) {
    if (k.startsWith(deleteFromPrimitiveListPrefix)) {
      const field = k.slice(deleteFromPrimitiveListPrefix.length)
      const remove = patch[k]
      if (!Array.isArray(remove)) throw new PatchError(`${k} must be a list`)
      const current = out[field]
      if (Array.isArray(current)) {
        setKey(
          out,
          field,
          current.filter((v) => !remove.some((r) => deepEqual(r, v))),
        )
      }
    }
  }
  for (const k of Object.keys(patch)) {
    if (!k.startsWith(setElementOrderPrefix)) continue
    const field = k.slice(setElementOrderPrefix.length)
    const order = patch[k]
    if (!Array.isArray(order)) throw new PatchError(`${k} must be a list`)
    const current = out[field]
    if (!Array.isArray(current)) continue
    const t = fieldType(type, field)
    const mergeKey = t.list?.kind === "map" ? t.list.mergeKey : undefined
    const originalList = isObject(original) && Array.isArray(original[field]) ? original[field] : []
    setKey(
      out,
      field,
      applyOrder(
        current,
        originalList,
        order,
        mergeKey === undefined ? (x) => x : (x) => keyOf(x, mergeKey),
      ),
    )
  }
  const retain = patch[retainKeysDirective]
  if (retain !== undefined) {
    if (!Array.isArray(retain))
      throw new PatchError(`${retainKeysDirective} must be a list of field names`)
    // Every field the patch sets must be retained (Kubernetes' applyRetainKeysDirective);
    // else the merge below would drop what the patch itself asks for.
    for (const k of Object.keys(patch)) {
      if (patch[k] === null || isDirectiveKey(k) || retain.includes(k)) continue
      throw new PatchError(
        `invalid patch format of retainKeys: ${JSON.stringify(k)} is set but not in ${retainKeysDirective}`,
      )
    }
    if (type.retainKeys !== true) {
      // Kubernetes accepts the directive only where the field is tagged; elsewhere it is ignored.
    } else {
      for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k]
    }
  }
  return out
}

/** Applies a strategic merge patch to an object of the kind described by `type`. */
export const strategicMergePatch = (
  original: unknown,
  patch: unknown,
  type: TypeNode,
): Result.Result<unknown, PatchError> =>
  guard(() => {
    if (!isObject(patch)) throw new PatchError("strategic merge patch must be a JSON object")
    const merged = mergeMap(original, patch, type)
    return merged === undefined ? {} : merged
  })
