/**
 * YAML as kubectl and the API server read it. Both convert YAML to JSON with
 * sigs.k8s.io/yaml, which resolves plain scalars by go-yaml v2's YAML 1.1
 * rules, not YAML 1.2's: `yes`/`no`/`on`/`off`/`y`/`n` (in their three
 * spellings) are booleans, `0644` is octal (420), `0b101` binary, `1_000` an
 * integer, `1e3` and `08` floats; `<<` merge keys work. Timestamps stay
 * strings (go-yaml v2 keeps timestamp-looking scalars as strings when the
 * target is untyped, as it is on the way to JSON). So `defaultMode: 0644`
 * means what it means to kubectl, and a label value `yes` is a boolean (and
 * fails as a label, as with kubectl) unless quoted.
 *
 * `goYamlOptions` are options for the `yaml` package: parse with them, and
 * stringify with them so that strings such as `"yes"` or `"0644"` come out
 * quoted and read back as strings.
 */
import type { ScalarTag, Tags } from "yaml"

const boolTrue = ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]
const boolFalse = ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]
const trueWords = new Set(boolTrue)

/** go-yaml v2's boolean words (its `resolveMapList`). */
const goBool: ScalarTag = {
  identify: (value) => typeof value === "boolean",
  default: true,
  tag: "tag:yaml.org,2002:bool",
  test: new RegExp(`^(?:${[...boolTrue, ...boolFalse].join("|")})$`),
  resolve: (text) => trueWords.has(text),
  stringify: ({ value }) => (value === true ? "true" : "false"),
}

// go-yaml v2 removes every underscore, then tries Go's strconv.ParseInt with
// base 0 (decimal, 0x/0X hex, 0o/0O or leading-0 octal, 0b/0B binary, a sign).
const intPattern = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|0|[1-9][0-9]*)$/

const parseGoInt = (text: string): number => {
  const negative = text.startsWith("-")
  const body = text.startsWith("-") || text.startsWith("+") ? text.slice(1) : text
  let value: number
  if (/^0[xX]/.test(body)) value = Number.parseInt(body.slice(2), 16)
  else if (/^0[bB]/.test(body)) value = Number.parseInt(body.slice(2), 2)
  else if (/^0[oO]/.test(body)) value = Number.parseInt(body.slice(2), 8)
  else if (body.length > 1 && body.startsWith("0")) value = Number.parseInt(body.slice(1), 8)
  else value = Number.parseInt(body, 10)
  return negative ? -value : value
}

/** go-yaml v2's integers: underscores removed first, so the test allows them anywhere. */
const goInt: ScalarTag = {
  identify: (value) => typeof value === "number" && Number.isInteger(value),
  default: true,
  tag: "tag:yaml.org,2002:int",
  test: {
    test: (text: string) => startsNumeric(text) && intPattern.test(text.replaceAll("_", "")),
  } as RegExp,
  resolve: (text) => parseGoInt(text.replaceAll("_", "")),
  stringify: ({ value }) => String(value),
}

// go-yaml v2's `yamlStyleFloat`, tried on scalars starting with a digit or a
// sign; scalars starting with `.` go to Go's ParseFloat (`.5`, `.5e3`).
const floatPattern = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/
const dotFloatPattern = /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/

const startsNumeric = (text: string): boolean => {
  const c = text.charCodeAt(0)
  return (c >= 48 && c <= 57) || c === 43 || c === 45 // 0-9, +, -
}

const goFloat: ScalarTag = {
  identify: (value) => typeof value === "number",
  default: true,
  tag: "tag:yaml.org,2002:float",
  test: {
    test: (text: string) =>
      startsNumeric(text)
        ? floatPattern.test(text.replaceAll("_", ""))
        : dotFloatPattern.test(text),
  } as RegExp,
  resolve: (text) => Number.parseFloat(text.replaceAll("_", "")),
  stringify: ({ value }) => String(value),
}

const kept = new Set([
  "tag:yaml.org,2002:map",
  "tag:yaml.org,2002:seq",
  "tag:yaml.org,2002:str",
  "tag:yaml.org,2002:null",
])

/** The `yaml` package's options for go-yaml v2 semantics (parse and stringify). */
export const goYamlOptions = {
  customTags: (tags: Tags): Tags => [
    ...tags.filter((t) => typeof t !== "string" && kept.has(t.tag)),
    goBool,
    goInt,
    goFloat,
  ],
  merge: true,
} as const
