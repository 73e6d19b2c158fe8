/**
 * Configuration files: a KubeSchedulerConfiguration in YAML (or JSON, which is
 * YAML too), decoded with `decodeConfiguration` and every problem placed on
 * its line: syntax errors where the parser stopped, field problems on the
 * field's key (or its nearest ancestor in the file when the field is
 * missing), e.g.
 * `line 7: profiles[0].plugins.filter.enabled[0].name: filter plugin "NoSuchPlugin" does not exist`.
 */
import { goYamlOptions } from "@flotilla/api"
import { Result } from "effect"
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from "yaml"
import {
  ConfigError,
  type ConfigIssue,
  decodeConfiguration,
  type SchedulerConfiguration,
} from "./config.ts"
import type { Registry } from "./registry.ts"

/** Limits expansion of YAML aliases (a "billion laughs" file is an error, not a hang). */
const maxAliasCount = 100

/**
 * Finds the line of a field path as `decodeConfiguration` renders it
 * (`profiles[0].pluginConfig[1].args.example.com/cost`). Map keys are matched
 * greedily against the remaining path, so keys that contain dots resolve.
 * Returns the 1-based line of the deepest node found on the way.
 */
const locator = (doc: Document.Parsed, lines: LineCounter) => {
  const lineOf = (node: Node | null | undefined): number | undefined =>
    node?.range === undefined || node.range === null ? undefined : lines.linePos(node.range[0]).line
  const deref = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc) : node)
  return (path: string): number | undefined => {
    let node = deref(doc.contents)
    let line = lineOf(node as Node | null)
    let rest = path
    let first = true
    while (rest !== "") {
      if (isSeq(node)) {
        const m = /^\[(\d+)\]/.exec(rest)
        if (m === null) return line
        const item = deref(node.items[Number(m[1])])
        if (item === undefined || item === null) return line
        node = item
        line = lineOf(node as Node) ?? line
        rest = rest.slice(m[0].length)
      } else if (isMap(node)) {
        if (!first) {
          if (!rest.startsWith(".")) return line
          rest = rest.slice(1)
        }
        let best: { key: Node; value: unknown; length: number } | undefined
        for (const pair of node.items) {
          if (!isScalar(pair.key)) continue
          const key = String(pair.key.value)
          const next = rest.charAt(key.length)
          if (!rest.startsWith(key) || (next !== "" && next !== "." && next !== "[")) continue
          if (best === undefined || key.length > best.length) {
            best = { key: pair.key, value: pair.value, length: key.length }
          }
        }
        if (best === undefined) return line
        rest = rest.slice(best.length)
        line = lineOf(best.key) ?? line
        // A problem with the whole value (or a missing value) is reported on its key.
        if (rest === "") return line
        node = deref(best.value)
      } else {
        return line
      }
      first = false
    }
    return line
  }
}

/**
 * Parses and decodes a configuration file's text (YAML or JSON). Problems
 * carry their line; `ConfigError.message` lists them in file order as
 * `line N: path: reason`.
 */
export const parseConfiguration = (
  text: string,
  registry: Registry,
): Result.Result<SchedulerConfiguration, ConfigError> => {
  const lines = new LineCounter()
  // Scalars as kube-scheduler reads them (sigs.k8s.io/yaml: YAML 1.1, `yes` is true, `0644` octal).
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    ...goYamlOptions,
  })
  if (doc.errors.length > 0) {
    return Result.fail(
      new ConfigError(
        doc.errors.map((e) => ({
          path: "",
          // The parser's message carries a source excerpt after its first line.
          message: `invalid YAML: ${e.message.split("\n")[0]}`,
          line: lines.linePos(Math.min(e.pos[0], Math.max(0, text.trimEnd().length - 1))).line,
        })),
      ),
    )
  }
  let input: unknown
  try {
    input = doc.toJS({ maxAliasCount })
  } catch (e) {
    return Result.fail(
      new ConfigError([
        { path: "", message: `invalid YAML: ${e instanceof Error ? e.message : String(e)}` },
      ]),
    )
  }
  if (input === null || input === undefined) {
    return Result.fail(new ConfigError([{ path: "", message: "the file is empty" }]))
  }
  const decoded = decodeConfiguration(input, registry)
  if (Result.isSuccess(decoded)) return decoded
  const locate = locator(doc, lines)
  const located = decoded.failure.issues.map((issue): ConfigIssue => {
    const line = locate(issue.path)
    return line === undefined || line === 0 ? issue : { ...issue, line }
  })
  // In file order (the sort is stable: problems on one line keep their order).
  located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
  return Result.fail(new ConfigError(located))
}
