/**
 * Duplicate keys in JSON text and YAML documents. `JSON.parse` keeps the
 * last of two equal keys and says nothing; Kubernetes' strict decoder (sigs.k8s.io/json) reports
 * each as `duplicate field "metadata.name"`: an error under
 * `fieldValidation=Strict`, a warning under `Warn`.
 *
 * The common case (no duplicates) costs two linear passes: the number of
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

/** Members of every JSON object in `text`: the colons outside strings (the text is valid JSON). */
const memberCount = (text: string): number => {
  let count = 0
  let i = 0
  let colon = text.indexOf(":")
  for (;;) {
    const quote = text.indexOf('"', i)
    const end = quote < 0 ? text.length : quote
    if (colon >= 0 && colon < i) colon = text.indexOf(":", i)
    while (colon >= 0 && colon < end) {
      count++
      colon = text.indexOf(":", colon + 1)
    }
    if (quote < 0) return count
    // Skip the string: its closing quote is the first one not escaped.
    let j = quote + 1
    for (;;) {
      const q = text.indexOf('"', j)
      if (q < 0) return count
      let k = q - 1
      while (text.charCodeAt(k) === BACKSLASH) k--
      if ((q - 1 - k) % 2 === 0) {
        i = q + 1
        break
      }
      j = q + 1
    }
  }
}

/** Keys of every object in a parsed JSON value. */
const keyCount = (value: unknown): number => {
  if (Array.isArray(value)) {
    let n = 0
    for (const item of value) n += keyCount(item)
    return n
  }
  if (typeof value !== "object" || value === null) return 0
  const keys = Object.keys(value)
  let n = keys.length
  for (const k of keys) n += keyCount((value as Record<string, unknown>)[k])
  return n
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
  if (memberCount(text) === keyCount(parsed)) return []
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false })
  return duplicateKeys(doc.contents, lines)
}

/** Kubernetes' words for one duplicate: `duplicate field "metadata.name"`. */
export const duplicateFieldMessage = (field: string): string =>
  `duplicate field ${JSON.stringify(field)}`
