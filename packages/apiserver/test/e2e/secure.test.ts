// HTTPS with a certificate and bearer-token authentication, checked with
// kubectl (the kubeconfig carries the CA and the token).
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { kubectlFor, startServer, type TestServer } from "../support.ts"

let dir: string
let server: TestServer

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flotilla-tls-"))
  execFileSync(
    "/usr/bin/openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ],
    { stdio: "ignore" },
  )
  server = await startServer({
    tls: { cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) },
    token: "s3cret",
  })
})

afterAll(async () => {
  await server.close()
  rmSync(dir, { recursive: true, force: true })
})

describe("HTTPS and bearer tokens", () => {
  it("serves kubectl with the right token and refuses the wrong one", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const k = kubectlFor(server.url)
    try {
      const ca = Buffer.from(readFileSync(join(dir, "cert.pem"))).toString("base64")
      const config = (token: string) =>
        [
          "apiVersion: v1",
          "kind: Config",
          `clusters: [{name: c, cluster: {server: "${server.url}", certificate-authority-data: "${ca}"}}]`,
          `users: [{name: u, user: {token: "${token}"}}]`,
          "contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]",
          "current-context: x",
          "",
        ].join("\n")
      writeFileSync(k.kubeconfig, config("s3cret"))
      const ok = await k.run(["get", "namespaces", "-o", "name"])
      expect(ok.stdout).toContain("namespace/default")
      writeFileSync(k.kubeconfig, config("wrong"))
      const refused = await k.run(["get", "namespaces"])
      expect(refused.code).not.toBe(0)
      expect(refused.stderr).toMatch(/Unauthorized|must be logged in/)
    } finally {
      k.cleanup()
    }
  })
})
