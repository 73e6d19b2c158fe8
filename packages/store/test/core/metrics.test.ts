import { describe, expect, it } from "vitest"
import { formatMetrics, formatValue } from "../../src/core/metrics.ts"

describe("Prometheus text format", () => {
  it("writes HELP, TYPE and samples, families sorted by name, label values escaped", () => {
    expect(
      formatMetrics([
        { name: "z_total", help: "Last.", type: "counter", samples: [{ value: 3 }] },
        {
          name: "a_info",
          help: "A help\\with a backslash\nand a newline",
          type: "gauge",
          samples: [
            { labels: { path: 'a "quoted"\\ value\n' }, value: 1 },
            { labels: { x: "1", y: "2" }, value: 0.5 },
          ],
        },
      ]),
    ).toBe(
      [
        "# HELP a_info A help\\\\with a backslash\\nand a newline",
        "# TYPE a_info gauge",
        'a_info{path="a \\"quoted\\"\\\\ value\\n"} 1',
        'a_info{x="1",y="2"} 0.5',
        "# HELP z_total Last.",
        "# TYPE z_total counter",
        "z_total 3",
        "",
      ].join("\n"),
    )
  })

  it("writes values as Go's client does, and refuses names the format cannot carry", () => {
    expect([NaN, Infinity, -Infinity, 12019367936, 1.5].map(formatValue)).toEqual([
      "NaN",
      "+Inf",
      "-Inf",
      "12019367936",
      "1.5",
    ])
    expect(() => formatMetrics([{ name: "9bad", help: "", type: "gauge", samples: [] }])).toThrow(
      RangeError,
    )
    expect(() =>
      formatMetrics([
        { name: "ok", help: "", type: "gauge", samples: [{ labels: { "a-b": "x" }, value: 1 }] },
      ]),
    ).toThrow(RangeError)
  })
})
