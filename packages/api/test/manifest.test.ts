import { readFileSync } from "node:fs"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { encodeYaml } from "../src/codec.ts"
import { formatProblem, processManifests } from "../src/manifest.ts"

const seedPath = new URL("../../../docs/examples/hello-kubecon.yaml", import.meta.url)
const goldenPath = new URL("./fixtures/hello-kubecon.golden.yaml", import.meta.url)

describe("the seed's manifests", () => {
  it("decode, default, convert to apps/v1 and validate: the golden output", () => {
    const result = processManifests(readFileSync(seedPath, "utf8"))
    expect(result.problems).toEqual([])
    expect(result.objects.map((o) => `${o.object.apiVersion}/${o.object.kind}`)).toEqual([
      "apps/v1/Deployment",
      "v1/Service",
    ])
    const yaml = Result.getOrThrow(encodeYaml(result.objects.map((o) => o.object)))
    expect(yaml).toBe(readFileSync(goldenPath, "utf8"))
  })

  it("warn that apps/v1beta1 is gone, as Kubernetes does", () => {
    const [deployment, service] = processManifests(readFileSync(seedPath, "utf8")).objects
    expect(deployment?.warnings).toEqual([
      "apps/v1beta1 Deployment is deprecated in v1.9+, unavailable in v1.16+; use apps/v1 Deployment",
    ])
    expect(service?.warnings).toEqual([])
  })

  it("come out with a selector defaulted from the template's labels", () => {
    const [deployment] = processManifests(readFileSync(seedPath, "utf8")).objects
    expect(deployment?.object).toMatchObject({
      apiVersion: "apps/v1",
      spec: { selector: { matchLabels: { app: "hello-kubecon" } } },
    })
  })
})

describe("problems", () => {
  it("are reported as FILE:LINE: kind/name: field: message", () => {
    const text = [
      "apiVersion: apps/v1beta1",
      "kind: Deployment",
      "metadata:",
      "  name: web",
      "spec:",
      "  template:",
      "    metadata:",
      "      labels: {app: web}",
      "    spec:",
      "      containers:",
      "      - image: nginx",
    ].join("\n")
    const { problems, objects } = processManifests(text)
    expect(objects).toEqual([])
    expect(problems.map((p) => formatProblem("web.yaml", p))).toEqual([
      "web.yaml:11: Deployment/web: spec.template.spec.containers[0].name: Required value",
    ])
  })

  it("report nesting too deep to parse once, saying so (it was 'Maximum call stack size exceeded' and a regex 'Stack overflow')", () => {
    for (const text of [
      `${"[".repeat(100_000)}${"]".repeat(100_000)}\n`,
      `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`,
    ]) {
      const { problems, objects } = processManifests(text)
      expect(objects).toEqual([])
      expect(problems.map((p) => formatProblem("deep.yaml", p))).toEqual([
        "deep.yaml:1: (unknown kind)/DecodeError: yaml: exceeded max depth (nesting deeper than the parser can follow)",
      ])
    }
  })
})
