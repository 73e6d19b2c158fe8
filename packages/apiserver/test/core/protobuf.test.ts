import { readFileSync } from "node:fs"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeProtobuf } from "../../src/core/protobuf.ts"

const fixture = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../fixtures/${name}`, import.meta.url)))

describe("protobuf bodies (recorded from kubectl create)", () => {
  it("decode a Deployment with replicas, a port and a command", () => {
    const d = decodeProtobuf(fixture("create-deployment.pb"))
    expect(d).toEqual({
      ok: true,
      object: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", labels: { app: "web" } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              containers: [
                {
                  name: "nginx",
                  image: "nginx:1.27",
                  ports: [{ containerPort: 80 }],
                  resources: {},
                },
              ],
            },
          },
          strategy: {},
        },
        status: {},
      },
    })
    const withCommand = decodeProtobuf(fixture("create-deployment-command.pb"))
    expect(
      withCommand.ok &&
        (
          withCommand.object.spec as {
            template: { spec: { containers: Array<{ command: Array<string> }> } }
          }
        ).template.spec.containers[0]?.command,
    ).toEqual(["sleep", "100"])
  })

  it("decode a Namespace and a Service", () => {
    expect(decodeProtobuf(fixture("create-namespace.pb"))).toEqual({
      ok: true,
      object: {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "foo" },
        spec: {},
        status: {},
      },
    })
    const svc = decodeProtobuf(fixture("create-service.pb"))
    expect(svc.ok && svc.object.spec).toEqual({
      ports: [{ name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080 }],
      selector: { app: "my" },
      type: "ClusterIP",
    })
  })

  it("refuse what is not a supported protobuf body, and never throw (property)", () => {
    expect(decodeProtobuf(new TextEncoder().encode("{}")).ok).toBe(false)
    const truncated = fixture("create-deployment.pb").slice(0, 100)
    const t = decodeProtobuf(truncated)
    expect(t.ok ? "" : t.message).toMatch(/cannot decode protobuf body/)
    const magic = [0x6b, 0x38, 0x73, 0x00]
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodeProtobuf(new Uint8Array([...magic, ...bytes]))
        expect(typeof r.ok).toBe("boolean")
      }),
    )
  })
})
