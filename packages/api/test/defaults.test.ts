import { describe, expect, it } from "vitest"
import type { Deployment } from "../src/apps/v1.ts"
import type * as AppsV1beta1 from "../src/apps/v1beta1.ts"
import type { Container, Namespace, Node, Pod, Service } from "../src/core/v1.ts"
import { applyDefaults, defaultImagePullPolicy, MaxInt32 } from "../src/defaults.ts"
import type * as ExtensionsV1beta1 from "../src/extensions/v1beta1.ts"

const template = {
  metadata: { labels: { app: "web" } },
  spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
}

const deploymentIn = (apiVersion: string): Deployment =>
  ({
    apiVersion,
    kind: "Deployment",
    metadata: { name: "web" },
    spec: { template },
    status: {},
  }) as unknown as Deployment

describe("Deployment defaults per version", () => {
  it("apps/v1: 1 replica, RollingUpdate 25%/25%, 10 revisions, 600s deadline, no selector", () => {
    const d = applyDefaults(deploymentIn("apps/v1"))
    expect(d.spec.replicas).toBe(1)
    expect(d.spec.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" },
    })
    expect(d.spec.revisionHistoryLimit).toBe(10)
    expect(d.spec.progressDeadlineSeconds).toBe(600)
    expect(d.spec.selector).toBeUndefined()
    expect(d.metadata.labels).toBeUndefined()
  })

  it("apps/v1beta2: as apps/v1", () => {
    const d = applyDefaults(deploymentIn("apps/v1beta2"))
    expect([d.spec.revisionHistoryLimit, d.spec.progressDeadlineSeconds, d.spec.selector]).toEqual([
      10,
      600,
      undefined,
    ])
  })

  it("apps/v1beta1: selector and labels from the template, 2 revisions", () => {
    const d = applyDefaults(deploymentIn("apps/v1beta1")) as unknown as AppsV1beta1.Deployment
    expect(d.spec.selector).toEqual({ matchLabels: { app: "web" } })
    expect(d.metadata.labels).toEqual({ app: "web" })
    expect(d.spec.revisionHistoryLimit).toBe(2)
    expect(d.spec.progressDeadlineSeconds).toBe(600)
    expect(d.spec.strategy?.rollingUpdate).toEqual({ maxUnavailable: "25%", maxSurge: "25%" })
  })

  it("extensions/v1beta1: surge and unavailable 1, no deadline, every revision kept", () => {
    const d = applyDefaults(
      deploymentIn("extensions/v1beta1"),
    ) as unknown as ExtensionsV1beta1.Deployment
    expect(d.spec.selector).toEqual({ matchLabels: { app: "web" } })
    expect(d.spec.strategy?.rollingUpdate).toEqual({ maxUnavailable: 1, maxSurge: 1 })
    expect(d.spec.revisionHistoryLimit).toBe(MaxInt32)
    expect(d.spec.progressDeadlineSeconds).toBe(MaxInt32)
  })

  it("never changes what is set, and leaves Recreate without rollingUpdate", () => {
    const d = applyDefaults({
      ...deploymentIn("apps/v1beta1"),
      metadata: { name: "web", labels: { team: "a" } },
      spec: {
        template,
        replicas: 0,
        selector: { matchLabels: { app: "web", tier: "x" } },
        strategy: { type: "Recreate" },
        revisionHistoryLimit: 0,
      },
    })
    expect(d.spec.replicas).toBe(0)
    expect(d.spec.selector).toEqual({ matchLabels: { app: "web", tier: "x" } })
    expect(d.metadata.labels).toEqual({ team: "a" })
    expect(d.spec.strategy).toEqual({ type: "Recreate" })
    expect(d.spec.revisionHistoryLimit).toBe(0)
  })

  it("defaults the pod template", () => {
    const d = applyDefaults(deploymentIn("apps/v1"))
    expect(d.spec.template.spec.restartPolicy).toBe("Always")
    expect(d.spec.template.spec.containers[0]?.imagePullPolicy).toBe("IfNotPresent")
  })
})

const pod = (containers: ReadonlyArray<Container>, spec: Partial<Pod["spec"]> = {}): Pod =>
  applyDefaults({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: { containers, ...spec },
    status: {},
  } satisfies Pod)

describe("Pod defaults", () => {
  it("fills the spec and each container as Kubernetes does", () => {
    const p = pod([{ name: "web", image: "nginx", ports: [{ containerPort: 80 }] }])
    expect(p.spec).toEqual({
      containers: [
        {
          name: "web",
          image: "nginx",
          ports: [{ containerPort: 80, protocol: "TCP" }],
          terminationMessagePath: "/dev/termination-log",
          terminationMessagePolicy: "File",
          imagePullPolicy: "Always",
        },
      ],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      securityContext: {},
      schedulerName: "default-scheduler",
      enableServiceLinks: true,
    })
  })

  it("pulls :latest and untagged images Always, pinned ones IfNotPresent", () => {
    expect(
      [
        "nginx",
        "nginx:latest",
        "nginx:1.27",
        "registry.local:5000/nginx",
        "registry.local:5000/nginx:1.27",
        "nginx@sha256:abc",
      ].map(defaultImagePullPolicy),
    ).toEqual(["Always", "Always", "IfNotPresent", "Always", "IfNotPresent", "IfNotPresent"])
  })

  it("defaults probes and requests from limits", () => {
    const p = pod([
      {
        name: "web",
        image: "nginx",
        readinessProbe: { httpGet: { port: 80 } },
        resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m" } },
      },
    ])
    const c = p.spec.containers[0]
    expect(c?.readinessProbe).toEqual({
      httpGet: { port: 80, path: "/", scheme: "HTTP" },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    })
    expect(c?.resources?.requests).toEqual({ cpu: "500m", memory: "1Gi" })
  })

  it("uses the container port as host port with host networking", () => {
    const p = pod([{ name: "web", image: "nginx", ports: [{ containerPort: 80 }] }], {
      hostNetwork: true,
    })
    expect(p.spec.containers[0]?.ports).toEqual([
      { containerPort: 80, hostPort: 80, protocol: "TCP" },
    ])
  })
})

describe("Service defaults", () => {
  const service = (spec: Service["spec"]): Service =>
    applyDefaults({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec,
      status: {},
    } satisfies Service)

  it("ClusterIP, no affinity, TCP, targetPort = port", () => {
    expect(service({ ports: [{ port: 80 }, { port: 443, targetPort: "https" }] }).spec).toEqual({
      ports: [
        { port: 80, protocol: "TCP", targetPort: 80 },
        { port: 443, protocol: "TCP", targetPort: "https" },
      ],
      type: "ClusterIP",
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
    })
  })

  it("LoadBalancer and ClientIP affinity get their own defaults", () => {
    const spec = service({
      type: "LoadBalancer",
      sessionAffinity: "ClientIP",
      ports: [{ port: 80 }],
    }).spec
    expect(spec.externalTrafficPolicy).toBe("Cluster")
    expect(spec.allocateLoadBalancerNodePorts).toBe(true)
    expect(spec.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 10800 } })
  })
})

describe("other kinds", () => {
  it("a Namespace gets its name label and phase Active", () => {
    const input: Namespace = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "dev" },
      spec: {},
      status: {},
    }
    const ns = applyDefaults(input)
    expect(ns.metadata.labels).toEqual({ "kubernetes.io/metadata.name": "dev" })
    expect(ns.status.phase).toBe("Active")
  })

  it("a Node allocates its capacity unless told otherwise", () => {
    const input: Node = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "n" },
      spec: {},
      status: { capacity: { cpu: "4", pods: "110" } },
    }
    const node = applyDefaults(input)
    expect(node.status.allocatable).toEqual({ cpu: "4", pods: "110" })
  })

  it("kinds without defaults come back unchanged", () => {
    const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: {}, spec: {} }
    expect(applyDefaults(lease)).toBe(lease)
  })
})

describe("imagePullPolicy defaulting (Kubernetes' ParseImageName)", () => {
  const digest = `sha256:${"a".repeat(64)}`
  it.each([
    ["nginx", "Always"],
    ["nginx:latest", "Always"],
    ["library/nginx", "Always"],
    ["localhost:5000/img", "Always"],
    ["registry.k8s.io/pause", "Always"],
    ["[::1]:5000/img", "Always"],
    ["nginx:1.27", "IfNotPresent"],
    ["localhost:5000/img:v1", "IfNotPresent"],
    [`nginx@${digest}`, "IfNotPresent"],
    [`nginx:latest@${digest}`, "IfNotPresent"],
    // References Kubernetes cannot parse have no tag: IfNotPresent.
    ["", "IfNotPresent"],
    ["Nginx", "IfNotPresent"],
    ["nginx:", "IfNotPresent"],
    ["nginx@sha256:abc", "IfNotPresent"],
    ["nginx::1", "IfNotPresent"],
  ])("%j -> %s", (image, policy) => {
    expect(defaultImagePullPolicy(image)).toBe(policy)
  })
})
