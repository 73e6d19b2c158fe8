import { describe, expect, it } from "vitest"
import {
  aggregateMessage,
  child,
  duplicate,
  errorBody,
  errorString,
  forbidden,
  formatValue,
  index,
  invalid,
  key,
  notSupported,
  parseFieldPath,
  qualifiedKind,
  required,
  tooLong,
  tooMany,
  unquoted,
} from "../src/errors.ts"

describe("field errors", () => {
  it("render as apimachinery's field.Error does", () => {
    expect(errorString(required("spec.selector"))).toBe("spec.selector: Required value")
    expect(errorString(required("metadata.name", "name or generateName is required"))).toBe(
      "metadata.name: Required value: name or generateName is required",
    )
    expect(errorString(invalid("spec.replicas", -1, "must be greater than or equal to 0"))).toBe(
      "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    )
    expect(errorString(duplicate("spec.containers[1].name", "web"))).toBe(
      'spec.containers[1].name: Duplicate value: "web"',
    )
    expect(errorString(notSupported("spec.type", "X", ["A", "B"]))).toBe(
      'spec.type: Unsupported value: "X": supported values: "A", "B"',
    )
    expect(errorString(forbidden("metadata.namespace", "not allowed on this type"))).toBe(
      "metadata.namespace: Forbidden: not allowed on this type",
    )
    expect(errorBody(tooLong("metadata.annotations", 262144))).toBe(
      "Too long: may not be more than 262144 bytes",
    )
    expect(errorBody(tooMany("spec.items", 5, 3))).toBe("Too many: 5: must have at most 3 items")
  })

  it("print bad values as Go does: plain, quoted, unquoted int-or-string, JSON", () => {
    expect(formatValue(true)).toBe("true")
    expect(formatValue('say "hi"')).toBe('"say \\"hi\\""')
    expect(formatValue(unquoted("25%"))).toBe("25%")
    expect(formatValue({ b: "2", a: "1" })).toBe('{"a":"1","b":"2"}')
    expect(formatValue({ matchLabels: { a: "1" }, n: 1 })).toBe('{"matchLabels":{"a":"1"},"n":1}')
    expect(formatValue(undefined)).toBe("null")
  })

  it("build and parse paths", () => {
    const path = key(
      child(index(child("spec", "containers"), 0), "resources.limits"),
      "example.com/gpu",
    )
    expect(path).toBe("spec.containers[0].resources.limits[example.com/gpu]")
    expect(parseFieldPath("spec.containers[0].resources.limits[example.com/gpu]")).toEqual([
      "spec",
      "containers",
      0,
      "resources",
      "limits",
      "example.com/gpu",
    ])
    expect(parseFieldPath("")).toEqual([])
  })

  it("aggregate as Kubernetes does: one alone, several bracketed, no repeats", () => {
    expect(aggregateMessage(["a"])).toBe("a")
    expect(aggregateMessage(["a", "b", "a"])).toBe("[a, b]")
    expect(qualifiedKind("apps", "Deployment")).toBe("Deployment.apps")
    expect(qualifiedKind("", "Pod")).toBe("Pod")
  })
})
