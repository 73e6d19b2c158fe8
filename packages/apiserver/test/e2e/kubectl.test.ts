// End to end with the real kubectl (/usr/bin/kubectl, v1.32) against an API
// server started by the test on an in-memory store.
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Kubectl, kubectlFor, startServer, type TestServer, tableRows } from "../support.ts"

const seedManifest = fileURLToPath(
  new URL("../../../../docs/examples/hello-kubecon.yaml", import.meta.url),
)

const deployment = (
  name: string,
  replicas: number,
  image: string,
  extra = "",
) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: main
        image: ${image}
${extra}`

const node = (name: string) => `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels: {kubernetes.io/hostname: ${name}}
status:
  conditions:
  - {type: Ready, status: "True", reason: KubeletReady, message: kubelet is posting ready status}
  addresses: [{type: InternalIP, address: 127.0.0.9}]
  nodeInfo: {kubeletVersion: v1.32.4, osImage: Flotilla, kernelVersion: "6.1", containerRuntimeVersion: "flotilla://1", machineID: m, systemUUID: s, bootID: b, kubeProxyVersion: v1.32.4, operatingSystem: linux, architecture: amd64}
`

// biome-ignore lint/suspicious/noExplicitAny: kubectl's JSON output, navigated by the assertions
type Doc = any

let server: TestServer
let k: Kubectl

const json = async (args: ReadonlyArray<string>) => {
  const r = await k.run([...args, "-o", "json"])
  expect(r.stderr).toBe("")
  return JSON.parse(r.stdout) as Doc
}

beforeAll(async () => {
  server = await startServer({
    logs: (pod, container) =>
      Effect.succeed(`hello from ${container} in ${(pod.metadata as { name: string }).name}\n`),
  })
  k = kubectlFor(server.url)
})

afterAll(async () => {
  k.cleanup()
  await server.close()
})

describe("kubectl against the API server", () => {
  it("reports a v1.32 server", async () => {
    const r = await k.run(["version", "-o", "json"])
    const v = JSON.parse(r.stdout)
    expect(v.serverVersion.major).toBe("1")
    expect(v.serverVersion.minor).toBe("32")
  })

  it("applies client-side: created, unchanged, configured", async () => {
    const file = join(k.dir, "web.yaml")
    const write = (text: string) => writeFileSync(file, text)
    write(deployment("web", 1, "nginx:1.27"))
    expect((await k.run(["apply", "-f", file])).stdout.trim()).toBe("deployment.apps/web created")
    expect((await k.run(["apply", "-f", file])).stdout.trim()).toBe("deployment.apps/web unchanged")
    const before = await json(["get", "deploy", "web"])
    write(deployment("web", 2, "nginx:1.28"))
    expect((await k.run(["apply", "-f", file])).stdout.trim()).toBe(
      "deployment.apps/web configured",
    )
    const after = await json(["get", "deploy", "web"])
    expect(after.spec.replicas).toBe(2)
    expect(after.spec.template.spec.containers[0].image).toBe("nginx:1.28")
    expect(after.metadata.generation).toBe(before.metadata.generation + 1)
    expect(after.metadata.uid).toBe(before.metadata.uid)
    expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(
      Number(before.metadata.resourceVersion),
    )
    expect(
      after.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"],
    ).toContain("nginx:1.28")
  })

  it("applies server-side, reports conflicts, and forces them", async () => {
    const file = join(k.dir, "ssa.yaml")
    writeFileSync(file, deployment("ssa", 1, "nginx:1.27"))
    const created = await k.run(["apply", "--server-side", "--field-manager=alice", "-f", file])
    expect(created.stdout.trim()).toBe("deployment.apps/ssa serverside-applied")
    const live = await json(["get", "deploy", "ssa", "--show-managed-fields"])
    expect(live.metadata.managedFields.map((e: Doc) => [e.manager, e.operation])).toEqual([
      ["alice", "Apply"],
    ])
    writeFileSync(file, deployment("ssa", 3, "nginx:1.27"))
    const conflicting = await k.run(["apply", "--server-side", "--field-manager=bob", "-f", file])
    expect(conflicting.code).not.toBe(0)
    expect(conflicting.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "alice": .spec.replicas',
    )
    expect((await json(["get", "deploy", "ssa"])).spec.replicas).toBe(1)
    const forced = await k.run([
      "apply",
      "--server-side",
      "--field-manager=bob",
      "--force-conflicts",
      "-f",
      file,
    ])
    expect(forced.stdout.trim()).toBe("deployment.apps/ssa serverside-applied")
    const after = await json(["get", "deploy", "ssa", "--show-managed-fields"])
    expect(after.spec.replicas).toBe(3)
    const bob = after.metadata.managedFields.find((e: Doc) => e.manager === "bob")
    expect(bob.fieldsV1["f:spec"]["f:replicas"]).toEqual({})
    const alice = after.metadata.managedFields.find((e: Doc) => e.manager === "alice")
    expect(alice.fieldsV1["f:spec"]["f:replicas"]).toBeUndefined()
  })

  it("applies the seed's apps/v1beta1 manifest, served as apps/v1", async () => {
    const r = await k.run(["apply", "-f", seedManifest])
    expect(r.stderr).toBe("")
    expect(r.stdout.trim().split("\n")).toEqual([
      "deployment.apps/hello-kubecon-deployment created",
      "service/hello-kubecon-service created",
    ])
    const d = await json(["get", "deploy", "hello-kubecon-deployment"])
    expect(d.apiVersion).toBe("apps/v1")
    expect(d.spec.selector).toEqual({ matchLabels: { app: "hello-kubecon" } })
    expect(d.spec.revisionHistoryLimit).toBe(2)
    const svc = await json(["get", "svc", "hello-kubecon-service"])
    expect(svc.spec.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./)
    expect(svc.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000)
    const again = await k.run(["apply", "-f", seedManifest])
    expect(again.stdout).toContain("deployment.apps/hello-kubecon-deployment unchanged")
    const serverSide = await k.run(["apply", "--server-side", "-f", seedManifest])
    expect(serverSide.stderr).toBe("")
    expect(serverSide.stdout).toContain(
      "deployment.apps/hello-kubecon-deployment serverside-applied",
    )
    const migrated = await json([
      "get",
      "deploy",
      "hello-kubecon-deployment",
      "--show-managed-fields",
    ])
    expect(
      migrated.metadata.managedFields.map((e: Doc) => `${e.manager}/${e.operation}`),
    ).toContain("kubectl/Apply")
    const rows = tableRows((await k.run(["get", "deploy", "hello-kubecon-deployment"])).stdout)
    expect(rows[0]).toEqual(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"])
    expect(rows[1]?.slice(0, 4)).toEqual(["hello-kubecon-deployment", "0/3", "0", "0"])
    const svcRows = tableRows((await k.run(["get", "svc", "hello-kubecon-service"])).stdout)
    expect(svcRows[0]).toEqual(["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"])
    expect(svcRows[1]?.[1]).toBe("LoadBalancer")
    expect(svcRows[1]?.[3]).toBe("<pending>")
    expect(svcRows[1]?.[4]).toMatch(/^80:3\d{4}\/TCP$/)
  })

  it("prints pods with READY, STATUS, RESTARTS, AGE and the wide columns", async () => {
    expect((await k.run(["run", "pod-a", "--image=nginx:1.27"])).stdout.trim()).toBe(
      "pod/pod-a created",
    )
    const rows = tableRows((await k.run(["get", "pods"])).stdout)
    expect(rows[0]).toEqual(["NAME", "READY", "STATUS", "RESTARTS", "AGE"])
    expect(rows.find((r) => r[0] === "pod-a")?.slice(0, 4)).toEqual([
      "pod-a",
      "0/1",
      "Pending",
      "0",
    ])
    const wide = tableRows((await k.run(["get", "pods", "-o", "wide"])).stdout)
    expect(wide[0]).toEqual([
      "NAME",
      "READY",
      "STATUS",
      "RESTARTS",
      "AGE",
      "IP",
      "NODE",
      "NOMINATED NODE",
      "READINESS GATES",
    ])
    expect(wide.find((r) => r[0] === "pod-a")?.slice(5)).toEqual([
      "<none>",
      "<none>",
      "<none>",
      "<none>",
    ])
  })

  it("streams changes to get -w", async () => {
    const w = k.start(["get", "deploy", "-w"])
    try {
      await w.waitFor((out) => out.includes("NAME"))
      const file = join(k.dir, "watched.yaml")
      writeFileSync(file, deployment("watched", 1, "nginx:1.27"))
      await k.run(["apply", "-f", file])
      await w.waitFor((out) => /watched\s+0\/1/.test(out))
      await k.run(["scale", "deploy", "watched", "--replicas=4"])
      await w.waitFor((out) => /watched\s+0\/4/.test(out))
      expect(w.output()).toMatch(/watched\s+0\/1\s+0\s+0/)
    } finally {
      w.stop()
    }
  })

  it("scales a deployment through its scale subresource", async () => {
    const r = await k.run(["scale", "deploy", "web", "--replicas=5"])
    expect(r.stdout.trim()).toBe("deployment.apps/web scaled")
    const d = await json(["get", "deploy", "web"])
    expect(d.spec.replicas).toBe(5)
  })

  it("exposes a deployment and sets its image", async () => {
    expect(
      (await k.run(["expose", "deploy", "web", "--port=80", "--target-port=8080"])).stdout.trim(),
    ).toBe("service/web exposed")
    const svc = await json(["get", "svc", "web"])
    expect(svc.spec.selector).toEqual({ app: "web" })
    expect(svc.spec.ports[0]).toMatchObject({ port: 80, targetPort: 8080, protocol: "TCP" })
    expect((await k.run(["set", "image", "deploy/web", "main=nginx:1.29"])).stdout.trim()).toBe(
      "deployment.apps/web image updated",
    )
    expect((await json(["get", "deploy", "web"])).spec.template.spec.containers[0].image).toBe(
      "nginx:1.29",
    )
  })

  it("describes a deployment with its events", async () => {
    const d = await json(["get", "deploy", "web"])
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "web.scaled" },
      involvedObject: {
        kind: "Deployment",
        name: "web",
        namespace: "default",
        uid: d.metadata.uid,
        apiVersion: "apps/v1",
      },
      reason: "ScalingReplicaSet",
      message: "Scaled up replica set web-6d4b to 5",
      type: "Normal",
      source: { component: "deployment-controller" },
      firstTimestamp: `${new Date().toISOString().slice(0, 19)}Z`,
      lastTimestamp: `${new Date().toISOString().slice(0, 19)}Z`,
      count: 1,
    }
    expect((await k.run(["create", "-f", "-"], JSON.stringify(event))).stdout.trim()).toBe(
      "event/web.scaled created",
    )
    const out = (await k.run(["describe", "deploy", "web"])).stdout
    expect(out).toMatch(/Replicas:\s+5 desired \| 0 updated \| 0 total \| 0 available/)
    expect(out).toMatch(
      /Normal\s+ScalingReplicaSet\s+.*deployment-controller\s+Scaled up replica set web-6d4b to 5/,
    )
    const events = tableRows((await k.run(["get", "events"])).stdout)
    expect(events[0]).toEqual(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"])
    expect(events.find((r) => r[3] === "deployment/web")?.slice(1)).toEqual([
      "Normal",
      "ScalingReplicaSet",
      "deployment/web",
      "Scaled up replica set web-6d4b to 5",
    ])
  })

  it("cordons a node", async () => {
    expect((await k.run(["create", "-f", "-"], node("node-1"))).stdout.trim()).toBe(
      "node/node-1 created",
    )
    expect((await k.run(["cordon", "node-1"])).stdout.trim()).toBe("node/node-1 cordoned")
    const rows = tableRows((await k.run(["get", "nodes"])).stdout)
    expect(rows[0]).toEqual(["NAME", "STATUS", "ROLES", "AGE", "VERSION"])
    expect(rows[1]?.slice(0, 3)).toEqual(["node-1", "Ready,SchedulingDisabled", "<none>"])
    expect(rows[1]?.[4]).toBe("v1.32.4")
  })

  it("creates a deployment from kubectl's protobuf body", async () => {
    const r = await k.run([
      "create",
      "deployment",
      "made",
      "--image=nginx:1.27",
      "--replicas=2",
      "--port=80",
    ])
    expect(r.stdout.trim()).toBe("deployment.apps/made created")
    const d = await json(["get", "deploy", "made"])
    expect(d.spec.replicas).toBe(2)
    expect(d.spec.selector).toEqual({ matchLabels: { app: "made" } })
    expect(d.spec.template.spec.containers).toMatchObject([
      { name: "nginx", image: "nginx:1.27", ports: [{ containerPort: 80, protocol: "TCP" }] },
    ])
  })

  it("serves pod logs as text", async () => {
    const pod = await json(["get", "pod", "pod-a"])
    const bind = await fetch(`${server.url}/api/v1/namespaces/default/pods/pod-a/binding`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name: "pod-a", uid: pod.metadata.uid },
        target: { kind: "Node", name: "node-1" },
      }),
    })
    expect(bind.status).toBe(201)
    const r = await k.run(["logs", "pod-a"])
    expect(r.stdout).toBe("hello from pod-a in pod-a\n")
  })

  it("deletes", async () => {
    expect((await k.run(["delete", "deploy", "made"])).stdout.trim()).toBe(
      'deployment.apps "made" deleted',
    )
    const r = await k.run(["get", "deploy", "made"])
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim()).toBe('Error from server (NotFound): deployments.apps "made" not found')
    const byFile = await k.run(["delete", "-f", seedManifest])
    expect(byFile.stdout).toContain('deployment.apps "hello-kubecon-deployment" deleted')
    expect(byFile.stdout).toContain('service "hello-kubecon-service" deleted')
  })

  describe("bad input changes nothing", () => {
    const unchanged = async (action: () => Promise<void>) => {
      const before = await json(["get", "deploy", "web"])
      await action()
      const after = await json(["get", "deploy", "web"])
      expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion)
    }

    it("malformed YAML", async () => {
      await unchanged(async () => {
        const r = await k.run(
          ["apply", "-f", "-"],
          "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n spec: [\n",
        )
        expect(r.code).not.toBe(0)
        expect(r.stderr).toContain("error converting YAML to JSON")
      })
    })

    it("unknown fields under Strict validation", async () => {
      await unchanged(async () => {
        const text = deployment("web", 1, "nginx:1.27").replace("replicas: 1", "replicaz: 1")
        const r = await k.run(["apply", "-f", "-"], text)
        expect(r.code).not.toBe(0)
        expect(r.stderr).toContain('strict decoding error: unknown field "spec.replicaz"')
      })
    })

    it("repeated keys under Strict validation", async () => {
      await unchanged(async () => {
        // kubectl's own YAML-to-JSON conversion drops repeated keys; --raw sends the bytes as they are.
        const text =
          '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","name":"web"},' +
          '"spec":{"replicas":7,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":' +
          '{"labels":{"app":"web"}},"spec":{"containers":[{"name":"main","image":"nginx:1.27"}]}}}}'
        const r = await k.run(
          [
            "replace",
            "--raw",
            "/apis/apps/v1/namespaces/default/deployments/web?fieldValidation=Strict",
            "-f",
            "-",
          ],
          text,
        )
        expect(r.code).not.toBe(0)
        expect(r.stderr).toContain('strict decoding error: duplicate field "metadata.name"')
      })
    })

    it("invalid names", async () => {
      const r = await k.run(["create", "-f", "-"], deployment("Bad_Name", 1, "nginx:1.27"))
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain(
        'The Deployment "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain',
      )
      expect((await k.run(["get", "deploy", "Bad_Name"])).code).not.toBe(0)
    })

    it("a stale resourceVersion", async () => {
      const stale = await json(["get", "deploy", "web"])
      await k.run(["label", "deploy", "web", "touched=yes"])
      const fresh = await json(["get", "deploy", "web"])
      stale.spec.replicas = 9
      const r = await k.run(["replace", "-f", "-"], JSON.stringify(stale))
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain(
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
      )
      const after = await json(["get", "deploy", "web"])
      expect(after.metadata.resourceVersion).toBe(fresh.metadata.resourceVersion)
      expect(after.spec.replicas).toBe(5)
    })
  })
})

describe("explain", () => {
  it("explains fields from the served OpenAPI schemas", async () => {
    const r = await k.run(["explain", "deployment.spec.replicas"])
    expect(r.stdout).toMatch(/GROUP:\s+apps/)
    expect(r.stdout).toMatch(/FIELD: replicas <integer>/)
    const containers = await k.run(["explain", "pod.spec.containers"])
    expect(containers.stdout).toMatch(/FIELD: containers <\[\]Object>/)
    expect(containers.stdout).toContain("image\t<string>")
  })
})

describe("namespaces", () => {
  it("deletes a namespace with its contents, as kubectl waits for it", async () => {
    expect((await k.run(["create", "namespace", "doomed"])).stdout.trim()).toBe(
      "namespace/doomed created",
    )
    expect(
      (await k.run(["-n", "doomed", "run", "victim", "--image=nginx:1.27"])).stdout.trim(),
    ).toBe("pod/victim created")
    const r = await k.run(["delete", "namespace", "doomed"])
    expect(r.stdout.trim()).toBe('namespace "doomed" deleted')
    const gone = await k.run(["get", "namespace", "doomed"])
    expect(gone.stderr.trim()).toBe('Error from server (NotFound): namespaces "doomed" not found')
    const system = await k.run(["delete", "namespace", "kube-system"])
    expect(system.stderr).toContain(
      'namespaces "kube-system" is forbidden: this namespace may not be deleted',
    )
  })
})
