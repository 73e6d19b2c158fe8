// `kubectl logs` through the API server to a kubelet: the server finds the
// node's address and kubelet port and streams `/containerLogs` back.
import { createServer, type Server } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Kubectl, kubectlFor, startServer, type TestServer } from "../support.ts"

let server: TestServer
let kubelet: Server
let k: Kubectl
const requests: Array<string> = []

beforeAll(async () => {
  kubelet = createServer((req, res) => {
    requests.push(req.url ?? "")
    if (!(req.url ?? "").startsWith("/containerLogs/default/web/main")) {
      res.writeHead(404).end("no such container")
      return
    }
    res.writeHead(200, { "content-type": "text/plain" })
    res.write("line 1\n")
    // The second line comes in a later chunk, as a following log does.
    setImmediate(() => res.end("line 2\n"))
  })
  await new Promise<void>((resolve) => kubelet.listen(0, "127.0.0.1", resolve))
  server = await startServer()
  k = kubectlFor(server.url)
  const port = (kubelet.address() as { port: number }).port
  const node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n1" },
    status: {
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      daemonEndpoints: { kubeletEndpoint: { Port: port } },
      conditions: [{ type: "Ready", status: "True" }],
    },
  }
  expect((await k.run(["create", "-f", "-"], JSON.stringify(node))).code).toBe(0)
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web" },
    spec: {
      nodeName: "n1",
      containers: [
        { name: "main", image: "x" },
        { name: "side", image: "y" },
      ],
    },
  }
  expect((await k.run(["create", "-f", "-"], JSON.stringify(pod))).code).toBe(0)
})

afterAll(async () => {
  k.cleanup()
  await server.close()
  await new Promise((resolve) => kubelet.close(resolve))
})

describe("kubectl logs", () => {
  it("streams the container's log from the node's kubelet", async () => {
    const r = await k.run(["logs", "web", "-c", "main", "--tail=5"])
    expect(r.stdout).toBe("line 1\nline 2\n")
    expect(requests.at(-1)).toBe("/containerLogs/default/web/main?tailLines=5")
    const followed = await k.run(["logs", "-f", "web", "-c", "main"])
    expect(followed.stdout).toBe("line 1\nline 2\n")
    expect(requests.at(-1)).toBe("/containerLogs/default/web/main?follow=true")
  })

  it("names the containers when none is given, and refuses unknown ones", async () => {
    const none = await k.run(["logs", "web"])
    expect(none.stdout).toBe("line 1\nline 2\n")
    const unknown = await k.run(["logs", "web", "-c", "nope"])
    expect(unknown.stderr).toContain("container nope is not valid for pod web")
  })
})
