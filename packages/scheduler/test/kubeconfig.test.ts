import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { parseKubeconfig } from "../src/kubeconfig.ts"

const config = (user: string, extra = "") =>
  [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: local",
    "  cluster: { server: 'http://127.0.0.1:6443/' }",
    "- name: remote",
    "  cluster: { server: https://10.0.0.1:443 }",
    "contexts:",
    "- name: flotilla",
    "  context: { cluster: local, user: me, namespace: team }",
    "- name: other",
    "  context: { cluster: remote }",
    "current-context: flotilla",
    "users:",
    "- name: me",
    `  user: ${user}`,
    extra,
  ].join("\n")

const ok = (text: string, options = {}) => {
  const r = parseKubeconfig(text, "/etc/kube/config", options)
  if (Result.isFailure(r)) throw r.failure
  return r.success
}
const error = (text: string, options = {}) => {
  const r = parseKubeconfig(text, "/etc/kube/config", options)
  if (Result.isSuccess(r)) throw new Error("expected a KubeconfigError")
  return r.failure.message
}

describe("parseKubeconfig", () => {
  it("reads the current context's server, namespace and token", () => {
    expect(ok(config("{ token: abc }"))).toEqual({
      context: "flotilla",
      server: "http://127.0.0.1:6443",
      namespace: "team",
      token: "abc",
    })
    expect(ok(config("{}"), { context: "other" })).toEqual({
      context: "other",
      server: "https://10.0.0.1:443",
      namespace: "default",
      token: undefined,
    })
  })

  it("reads a tokenFile relative to the kubeconfig", () => {
    const read: Array<string> = []
    const c = ok(config("{ tokenFile: secrets/token }"), {
      readFile: (p: string) => {
        read.push(p)
        return "xyz\n"
      },
    })
    expect(read).toEqual(["/etc/kube/secrets/token"])
    expect(c.token).toBe("xyz")
  })

  it("names the file and the field at fault", () => {
    expect(error(config("{ client-certificate-data: AAAA }"))).toBe(
      "/etc/kube/config: users[0].user.client-certificate-data: not supported (this client authenticates with a bearer token only)",
    )
    expect(error(config("{}"), { context: "nope" })).toBe(
      '/etc/kube/config: context "nope" does not exist',
    )
    expect(error(config("{}").replace("server: https://10.0.0.1:443", "server: 10.0.0.1"))).toBe(
      "/etc/kube/config: clusters[1].cluster.server: must be an http:// or https:// URL",
    )
    expect(error(config("{}").replace("cluster: local,", "cluster: gone,"))).toBe(
      '/etc/kube/config: context "flotilla": cluster "gone" does not exist',
    )
    expect(error(config("{}").replace("current-context: flotilla", ""))).toBe(
      "/etc/kube/config: current-context: no current context is set (pass a context)",
    )
    // One line, ending with the position, not with the colon that led to the source excerpt.
    expect(error("clusters: [\n")).toMatch(
      /^\/etc\/kube\/config: invalid YAML: .* at line 2, column 1$/,
    )
    expect(error("kind: Config\n")).toMatch(/^\/etc\/kube\/config: clusters: /)
  })
})
