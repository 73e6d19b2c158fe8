import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeYaml, encodeYaml, type KubeObject } from "../src/codec.ts"
import type { Pod } from "../src/core/v1.ts"
import { kinds } from "../src/registry.ts"
import { arbitrary } from "./arbitraries.ts"

const onlyObject = (text: string): KubeObject => {
  const docs = decodeYaml(text, { fieldValidation: "Strict" })
  expect(docs).toHaveLength(1)
  return Result.getOrThrow((docs[0] as (typeof docs)[0]).result).value
}

const podYaml = (spec: string, metadata = "") =>
  [
    "apiVersion: v1",
    "kind: Pod",
    "metadata:",
    "  name: p",
    ...(metadata === "" ? [] : [metadata]),
    "spec:",
    spec,
  ].join("\n")

describe("YAML scalars as kubectl reads them (sigs.k8s.io/yaml, go-yaml v2, YAML 1.1)", () => {
  it.each([
    ["yes", true],
    ["Yes", true],
    ["YES", true],
    ["y", true],
    ["on", true],
    ["ON", true],
    ["true", true],
    ["no", false],
    ["N", false],
    ["off", false],
    ["Off", false],
    ["FALSE", false],
  ])("%s is the boolean %s", (word, value) => {
    const pod = onlyObject(podYaml(`  hostNetwork: ${word}\n  containers: []`)) as Pod
    expect(pod.spec.hostNetwork).toBe(value)
  })

  it.each([
    ["0644", 420],
    ["0o644", 420],
    ["0x1A4", 420],
    ["0b110100100", 420],
    ["4_20", 420],
    ["+420", 420],
    ["420", 420],
    ["0", 0],
    ["08", 8], // not octal: Go's float syntax reads it
    ["4.2e2", 420],
  ])("defaultMode: %s is %d", (text, value) => {
    const pod = onlyObject(
      podYaml(
        `  containers: []\n  volumes:\n  - name: s\n    secret: {secretName: s, defaultMode: ${text}}`,
      ),
    ) as Pod
    expect(pod.spec.volumes?.[0]?.secret?.defaultMode).toBe(value)
  })

  it("keeps timestamps, quoted words and other text as strings", () => {
    const pod = onlyObject(
      podYaml(
        "  containers: []",
        "  annotations: {date: 2001-12-14, quoted: \"yes\", single: 'on', word: yesterday, ver: 1.2.3}",
      ),
    )
    expect(pod.metadata?.annotations).toEqual({
      date: "2001-12-14",
      quoted: "yes",
      single: "on",
      word: "yesterday",
      ver: "1.2.3",
    })
  })

  it("a bare yes where a string belongs is a type error, as with kubectl", () => {
    const docs = decodeYaml(podYaml("  containers: []", "  labels: {enabled: yes}"))
    const result = (docs[0] as (typeof docs)[0]).result
    expect(Result.isFailure(result)).toBe(true)
    if (Result.isFailure(result)) {
      expect(result.failure.problems).toEqual([
        {
          reason: "FieldValueTypeInvalid",
          field: "metadata.labels[enabled]",
          message: "Invalid value: true: expected string, got boolean",
          line: 5,
        },
      ])
    }
  })

  it("merge keys (<<) work, as in kubectl", () => {
    const text = [
      "apiVersion: v1",
      "kind: Pod",
      "metadata:",
      "  name: p",
      "  labels: &common {app: web, tier: front}",
      "  annotations:",
      "    <<: *common",
      "    note: x",
      "spec: {containers: []}",
    ].join("\n")
    expect(onlyObject(text).metadata?.annotations).toEqual({ app: "web", tier: "front", note: "x" })
  })

  it("encodeYaml quotes strings that YAML 1.1 would read as something else", () => {
    const words = [
      "yes",
      "no",
      "on",
      "off",
      "y",
      "N",
      "0644",
      "08",
      "1_000",
      "0b1",
      "1e3",
      ".5",
      "~",
      "",
    ]
    const annotations = Object.fromEntries(words.map((w, i) => [`k${i}`, w]))
    const pod: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", annotations },
      spec: { containers: [] },
      status: {},
    }
    const text = Result.getOrThrow(encodeYaml([pod]))
    expect(text).toContain('k0: "yes"')
    expect(onlyObject(text).metadata?.annotations).toEqual(annotations)
  })

  it("encodeYaml quotes a key `<<`, which YAML 1.1 would read as a merge key", () => {
    const pod = onlyObject(
      podYaml(
        [
          "  containers:",
          "  - name: c",
          "    image: i",
          "    resources:",
          '      limits: {"<<": "1"}',
        ].join("\n"),
      ),
    )
    const text = Result.getOrThrow(encodeYaml([pod]))
    expect(text).toContain('"<<": "1"')
    expect(onlyObject(text)).toEqual(pod)
  })

  // Every kind: what encodeYaml writes, decodeYaml reads back unchanged.
  for (const info of kinds.filter((k) => k.resource !== undefined).slice(0, 40)) {
    it(`decodeYaml(encodeYaml(x)) == x for generated ${info.apiVersion} ${info.kind}`, () => {
      fc.assert(
        fc.property(arbitrary(info.schema), (value) => {
          const text = Result.getOrThrow(encodeYaml([value as KubeObject]))
          expect(onlyObject(text)).toEqual(value)
        }),
        { numRuns: 15 },
      )
    })
  }
})
