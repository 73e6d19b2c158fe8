// Prometheus' text exposition format (version 0.0.4), what etcd's /metrics
// serves: per family a HELP and a TYPE line, then one line per sample,
// `name{label="value",...} number`. Pure: families in, text out.

export type MetricType = "counter" | "gauge"

export interface Sample {
  readonly labels?: Readonly<Record<string, string>>
  readonly value: number
}

export interface MetricFamily {
  readonly name: string
  readonly help: string
  readonly type: MetricType
  readonly samples: ReadonlyArray<Sample>
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** A label value as the format quotes it: backslash, double quote and newline escaped. */
const quote = (value: string): string =>
  `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`

/** HELP text: backslash and newline escaped. */
const helpText = (help: string): string => help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/** A sample value as Go's Prometheus client writes it (integers plainly, NaN and infinities by name). */
export const formatValue = (n: number): string => {
  if (Number.isNaN(n)) return "NaN"
  if (n === Number.POSITIVE_INFINITY) return "+Inf"
  if (n === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(n)
}

/**
 * The exposition of `families`, sorted by name as etcd's registry writes
 * them. Throws RangeError on a metric or label name the format cannot carry
 * (they are ours, so that is a bug, not input).
 */
export const formatMetrics = (families: ReadonlyArray<MetricFamily>): string => {
  let out = ""
  for (const f of [...families].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!NAME.test(f.name)) throw new RangeError(`metric name ${JSON.stringify(f.name)}`)
    out += `# HELP ${f.name} ${helpText(f.help)}\n# TYPE ${f.name} ${f.type}\n`
    for (const s of f.samples) {
      const labels = Object.entries(s.labels ?? {})
      for (const [k] of labels)
        if (!LABEL.test(k) || k.startsWith("__"))
          throw new RangeError(`label name ${JSON.stringify(k)}`)
      const set =
        labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}=${quote(v)}`).join(",")}}`
      out += `${f.name}${set} ${formatValue(s.value)}\n`
    }
  }
  return out
}
