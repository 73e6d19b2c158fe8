import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const bin = fileURLToPath(new URL("../bin/flotilla.js", import.meta.url))
const seed = fileURLToPath(new URL("../../../docs/examples/hello-kubecon.yaml", import.meta.url))
const golden = fileURLToPath(new URL("./fixtures/hello-kubecon.golden.yaml", import.meta.url))

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `flotilla` with `args`, feeding `stdin`; resolves with the exit code and both streams. */
const flotilla = (args: ReadonlyArray<string>, stdin = ""): Promise<Run> =>
  new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resolve({ code, stdout, stderr })
      },
    )
    child.stdin?.end(stdin)
  })

const badService = [
  "apiVersion: v1",
  "kind: Service",
  "metadata:",
  "  name: Web",
  "spec:",
  "  ports:",
  "  - port: 70000",
  "    targetPort: 8080",
].join("\n")

describe("flotilla validate", () => {
  it("prints the seed's manifests as apps/v1 and v1 with their defaults (golden)", async () => {
    const run = await flotilla(["validate", "-f", seed])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe(
      `Warning: ${seed}:1: apps/v1beta1 Deployment is deprecated in v1.9+, unavailable in v1.16+; use apps/v1 Deployment\n`,
    )
    expect(run.stdout).toBe(readFileSync(golden, "utf8"))
  })

  it("reads stdin for -f - and prints a List as JSON", async () => {
    const run = await flotilla(["validate", "-f", "-", "-o", "json"], readFileSync(seed, "utf8"))
    expect(run.code).toBe(0)
    const list = JSON.parse(run.stdout)
    expect(list.kind).toBe("List")
    expect(list.items.map((i: { apiVersion: string }) => i.apiVersion)).toEqual(["apps/v1", "v1"])
    expect(list.items[0].spec.selector).toEqual({ matchLabels: { app: "hello-kubecon" } })
  })

  it("prints every problem as FILE:LINE: kind/name: field: message and exits 1", async () => {
    const run = await flotilla(["validate", "-f", "-"], badService)
    expect(run.code).toBe(1)
    expect(run.stdout).toBe("")
    expect(run.stderr.trimEnd().split("\n")).toEqual([
      `-:4: Service/Web: metadata.name: Invalid value: "Web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
      "-:7: Service/Web: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
    ])
  })

  it("reports unknown fields as errors by default and files it cannot read", async () => {
    const run = await flotilla(
      ["validate", "-f", "-", "-f", "/nonexistent/flotilla.yaml"],
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dev\n  colour: blue\n",
    )
    expect(run.code).toBe(1)
    const lines = run.stderr.trimEnd().split("\n")
    expect(lines[0]).toBe('-:5: Namespace/dev: metadata.colour: unknown field "metadata.colour"')
    expect(lines[1]).toBe("/nonexistent/flotilla.yaml: cannot read: no such file or directory")
  })

  it("refuses input with nothing in it, a device, stdin twice and a bad --namespace (they passed or hung)", async () => {
    const empty = await flotilla(["validate", "-f", "-"], "# only a comment\n---\n")
    expect(empty.code).toBe(1)
    expect(empty.stdout).toBe("")
    expect(empty.stderr).toBe(
      "error: no objects passed to validate (stdin: empty, or only comments)\n",
    )
    // /dev/zero was read until memory ran out.
    const zero = await flotilla(["validate", "-f", "/dev/zero"])
    expect(zero.code).toBe(1)
    expect(zero.stderr).toBe("/dev/zero: cannot read: is not a regular file\n")
    const twice = await flotilla(["validate", "-f", "-", "-f", "-"], "kind: Namespace\n")
    expect(twice.code).toBe(2)
    expect(twice.stderr).toBe(
      "flotilla validate: --filename: - (stdin) is given more than once; stdin can be read only once\n",
    )
    const namespace = await flotilla(["validate", "-f", "-", "-n", "Not_Valid"], badService)
    expect(namespace.code).toBe(2)
    expect(namespace.stderr).toMatch(
      /^flotilla validate: --namespace: Invalid value: "Not_Valid": a lowercase RFC 1123 label must consist of/,
    )
  })
})
