import { Effect, Result } from "effect"
import { describe, expect, it } from "vitest"
import { parseKubeconfig, readKubeconfig } from "../src/kubeconfig.ts"

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

  it("takes an empty context namespace as default, as kubectl does", () => {
    // Before the fix the namespace was "" (all namespaces for a list).
    expect(ok(config("{}").replace("namespace: team", "namespace: ''")).namespace).toBe("default")
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

  it("refuses a server fetch cannot use, naming the cluster and the reason", () => {
    const withServer = (server: string) =>
      error(config("{}").replace("'http://127.0.0.1:6443/'", `'${server}'`))
    const at = "/etc/kube/config: clusters[0].cluster.server: "
    // Before the fix each of these was accepted and failed later, at the first request.
    expect(withServer("http://127.0.0.1:99999")).toBe(`${at}port 99999 is out of range (0-65535)`)
    expect(withServer("http://127.0.0.1:abc")).toBe(`${at}is not a URL`)
    expect(withServer("https://[::1")).toBe(`${at}is not a URL`)
    expect(withServer("http://a b")).toBe(`${at}is not a URL`)
    expect(withServer("http://127.0.0.1:6443/?watch=1")).toBe(
      `${at}must not have a query or fragment`,
    )
    expect(withServer("http://me:pw@127.0.0.1:6443")).toBe(
      `${at}must not carry a user name or password (credentials go in users[].user)`,
    )
    // A path prefix is fine (a server behind a proxy path).
    expect(
      ok(config("{}").replace("'http://127.0.0.1:6443/'", "'http://[::1]:6443/k8s/'")).server,
    ).toBe("http://[::1]:6443/k8s")
  })

  it("says what is wrong with a file that is not a kubeconfig at all", () => {
    // Before the fix: "Expected object", or the file was read as a kubeconfig.
    expect(error("")).toBe(
      "/etc/kube/config: is empty: a kubeconfig needs clusters, contexts and a current-context",
    )
    expect(error("# only a comment\n")).toMatch(/: is empty: /)
    expect(error("- a\n- b\n")).toBe(
      "/etc/kube/config: must be a mapping (a kubeconfig of kind Config), not a list",
    )
    expect(error("hello")).toMatch(/: must be a mapping .*, not a string$/)
    expect(error(config("{}").replace("kind: Config", "kind: Pod"))).toBe(
      '/etc/kube/config: kind: must be Config, not "Pod"',
    )
    expect(error(config("{}").replace("apiVersion: v1", "apiVersion: v2"))).toBe(
      '/etc/kube/config: apiVersion: must be v1, not "v2"',
    )
  })

  it("refuses duplicate names and cluster fields it cannot honour", () => {
    // Kubernetes refuses duplicates; before the fix the first one silently won.
    expect(error(config("{}").replace("- name: other", "- name: flotilla"))).toBe(
      '/etc/kube/config: contexts[1].name: duplicate name "flotilla"',
    )
    expect(error(config("{}").replace("- name: remote", "- name: local"))).toBe(
      '/etc/kube/config: clusters[1].name: duplicate name "local"',
    )
    expect(
      error(
        config("{}").replace(
          "{ server: https://10.0.0.1:443 }",
          "{ server: https://10.0.0.1:443, certificate-authority-data: AAAA }",
        ),
      ),
    ).toBe(
      "/etc/kube/config: clusters[1].cluster.certificate-authority-data: not supported (this client trusts the system's certificate authorities only)",
    )
    expect(
      error(
        config("{}").replace(
          "{ server: https://10.0.0.1:443 }",
          "{ server: https://10.0.0.1:443, insecure-skip-tls-verify: true }",
        ),
      ),
    ).toBe(
      "/etc/kube/config: clusters[1].cluster.insecure-skip-tls-verify: not supported (this client always verifies https servers)",
    )
  })

  it("refuses a token no HTTP header can carry, or an empty token file", () => {
    // Before the fix these were accepted and every request failed in fetch.
    expect(error(config('{ token: "abc\\n" }'))).toBe(
      "/etc/kube/config: users[0].user.token: the token contains a line break or control character",
    )
    expect(error(config("{ tokenFile: t }"), { readFile: () => "ab\ncd\n" })).toBe(
      "/etc/kube/config: users[0].user.tokenFile: the token contains a line break or control character",
    )
    expect(error(config("{ tokenFile: t }"), { readFile: () => "\n" })).toBe(
      "/etc/kube/config: users[0].user.tokenFile: the file is empty",
    )
    expect(ok(config('{ token: "" }')).token).toBeUndefined()
    // Before the fix: accepted, and fetch threw "Cannot convert argument to a ByteString" on every request.
    expect(error(config("{ token: abc→def }"))).toBe(
      '/etc/kube/config: users[0].user.token: the token contains a character an HTTP header cannot carry ("→")',
    )
  })

  it("reads no further than 16 MiB, and names a file it cannot read", async () => {
    const message = async (file: string) =>
      (await Effect.runPromise(Effect.flip(readKubeconfig(file)))).message
    // Before: /dev/zero was read until memory ran out; errors were Node's ("ENOENT: ..., open '...'").
    expect(await message("/dev/zero")).toBe("/dev/zero: cannot read: larger than 16 MiB")
    expect(await message("/nonexistent/kubeconfig")).toBe(
      "/nonexistent/kubeconfig: cannot read: no such file or directory",
    )
    expect(await message("/")).toBe("/: cannot read: is a directory")
  })
})
