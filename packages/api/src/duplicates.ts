/**
 * Duplicate keys in JSON text and YAML documents. `JSON.parse` keeps the
 * last of two equal keys and says nothing; Kubernetes' strict decoder (sigs.k8s.io/json) reports
 * each as `duplicate field "metadata.name"`: an error under
 * `fieldValidation=Strict`, a warning under `Warn`.
 *
 * The common case (no duplicates) costs two cheap linear passes: the number of
 * object members in the text (colons outside strings) against the number of
 * keys `JSON.parse` produced; every duplicate makes the second smaller. Only
 * when they differ is the text parsed again, keeping every key, to name the
 * duplicates and their lines.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml"
import { child, index } from "./errors.ts"

export interface DuplicateField {
  /** The field path, as unknown fields are named (`spec.template.spec.containers[0].name`). */
  readonly field: string
  /** 1-based line of the repeated key. */
  readonly line: number
}

const BACKSLASH = 92

const COLON = 58
const QUOTE = 34

/** Members of every JSON object in `text`: the colons outside strings (the text is valid JSON). */
const memberCount = (text: string): number => {
  let count = 0
  const length = text.length
  let i = 0
  while (i < length) {
    const c = text.charCodeAt(i++)
    if (c === COLON) count++
    else if (c === QUOTE) {
      // Skip the string: its closing quote is the first one after an even run of backslashes.
      for (;;) {
        const q = text.indexOf('"', i)
        if (q < 0) return count
        let k = q - 1
        while (text.charCodeAt(k) === BACKSLASH) k--
        i = q + 1
        if ((q - 1 - k) % 2 === 0) break
      }
    }
  }
  return count
}

/**
 * Keys of every object in a parsed JSON value. `for...in` (about twice as
 * fast as `Object.keys` here) also sees inherited enumerable keys, so it is
 * used only while `Object.prototype` has none (objects from `JSON.parse`
 * inherit only from it).
 */
const keyCount = (value: unknown): number => {
  if (typeof value !== "object" || value === null) return 0
  let n = 0
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) n += keyCount(value[i])
    return n
  }
  for (const k in value) n += 1 + keyCount((value as Record<string, unknown>)[k])
  return n
}

/** `keyCount` by own keys only, for when `Object.prototype` has enumerable keys. */
const ownKeyCount = (value: unknown): number => {
  if (typeof value !== "object" || value === null) return 0
  let n = 0
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) n += ownKeyCount(value[i])
    return n
  }
  const keys = Object.keys(value)
  n = keys.length
  for (const k of keys) n += ownKeyCount((value as Record<string, unknown>)[k])
  return n
}

/** Whether plain objects inherit enumerable keys (someone added one to `Object.prototype`). */
const inheritsEnumerableKeys = (): boolean => {
  for (const _ in {}) return true
  return false
}

const keyText = (node: unknown): string =>
  isScalar(node) ? String(node.value) : String(node ?? "")

/** The repeated keys in a parsed YAML (or JSON) node, with their paths and lines, in text order. */
export const duplicateKeys = (
  root: YamlNode | null | undefined,
  lines: LineCounter,
): Array<DuplicateField> => {
  const out: Array<DuplicateField> = []
  const walk = (node: YamlNode | null | undefined, path: string): void => {
    if (isMap(node)) {
      const seen = new Set<string>()
      for (const pair of node.items) {
        const name = keyText(pair.key)
        const at = child(path, name)
        if (seen.has(name)) {
          const offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? 0) : 0
          out.push({ field: at, line: lines.linePos(offset).line })
        }
        seen.add(name)
        walk(pair.value as YamlNode | null, at)
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        walk(item as YamlNode | null, index(path, i))
      })
    }
  }
  walk(root, "")
  return out
}

/**
 * The duplicate keys of `text`, given what `JSON.parse(text)` returned, in
 * text order. Empty (after two cheap passes) when there are none.
 */
export const duplicateFields = (text: string, parsed: unknown): ReadonlyArray<DuplicateField> => {
  const keys = inheritsEnumerableKeys() ? ownKeyCount(parsed) : keyCount(parsed)
  if (memberCount(text) === keys) return []
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false })
  return duplicateKeys(doc.contents, lines)
}

/** Kubernetes' words for one duplicate: `duplicate field "metadata.name"`. */
export const duplicateFieldMessage = (field: string): string =>
  `duplicate field ${JSON.stringify(field)}`
