// The npm @kubernetes/client-node as a second real client: create, list,
// patch (merge, strategic and server-side apply), watch and its informer.
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Pod,
  Watch,
} from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type TestServer } from "../support.ts"

let server: TestServer
let config: KubeConfig

beforeAll(async () => {
  server = await startServer()
  config = new KubeConfig()
  config.loadFromOptions({
    clusters: [{ name: "flotilla", server: server.url, skipTLSVerify: true }],
    users: [{ name: "flotilla" }],
    contexts: [{ name: "flotilla", cluster: "flotilla", user: "flotilla", namespace: "default" }],
    currentContext: "flotilla",
  })
})

afterAll(async () => {
  await server.close()
})

const pod = (name: string): V1Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels: { app: "cn" } },
  spec: { containers: [{ name: "main", image: "nginx:1.27" }] },
})

const deployment = (name: string): V1Deployment => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "main", image: "nginx:1.27" }] },
    },
  },
})

/** Resolves when `check` holds, re-checking on each call of the returned nudge (no timers). */
const condition = <A>(check: () => A | undefined, deadlineMs = 20_000) => {
  let resolveFn: (a: A) => void = () => {}
  const promise = new Promise<A>((resolve, reject) => {
    resolveFn = resolve
    setTimeout(() => reject(new Error("condition not met in time")), deadlineMs).unref()
  })
  const nudge = () => {
    const v = check()
    if (v !== undefined) resolveFn(v)
  }
  return { promise, nudge }
}

describe("@kubernetes/client-node against the API server", () => {
  it("creates and lists", async () => {
    const core = config.makeApiClient(CoreV1Api)
    const created = await core.createNamespacedPod({ namespace: "default", body: pod("cn-a") })
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/)
    expect(created.status?.phase).toBe("Pending")
    const list = await core.listNamespacedPod({ namespace: "default", labelSelector: "app=cn" })
    expect(list.items.map((p) => p.metadata?.name)).toEqual(["cn-a"])
    const namespaces = await core.listNamespace()
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(
      expect.arrayContaining(["default", "kube-system", "kube-node-lease", "kube-public"]),
    )
  })

  it("patches with merge, strategic merge and server-side apply", async () => {
    const apps = config.makeApiClient(AppsV1Api)
    await apps.createNamespacedDeployment({ namespace: "default", body: deployment("cn-web") })
    const merged = await apps.patchNamespacedDeployment(
      { name: "cn-web", namespace: "default", body: { spec: { replicas: 3 } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )
    expect(merged.spec?.replicas).toBe(3)
    expect(merged.metadata?.generation).toBe(2)
    const strategic = await apps.patchNamespacedDeployment(
      {
        name: "cn-web",
        namespace: "default",
        body: {
          spec: { template: { spec: { containers: [{ name: "side", image: "busybox" }] } } },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    )
    expect(strategic.spec?.template.spec?.containers.map((c) => c.name)).toEqual(["main", "side"])
    const applied = await apps.patchNamespacedDeployment(
      {
        name: "cn-web",
        namespace: "default",
        body: {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "cn-web", labels: { owner: "ssa" } },
        },
        fieldManager: "client-node",
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    )
    expect(applied.metadata?.labels).toEqual({ owner: "ssa" })
    expect(
      applied.metadata?.managedFields?.some(
        (e) => e.manager === "client-node" && e.operation === "Apply",
      ),
    ).toBe(true)
  })

  it("watches changes", async () => {
    const core = config.makeApiClient(CoreV1Api)
    const list = await core.listNamespacedPod({ namespace: "default" })
    const events: Array<string> = []
    const done = condition(() => (events.length >= 3 ? events : undefined))
    const controller = await new Watch(config).watch(
      "/api/v1/namespaces/default/pods",
      { resourceVersion: list.metadata?.resourceVersion ?? "" },
      (type, object: V1Pod) => {
        events.push(`${type} ${object.metadata?.name}`)
        done.nudge()
      },
      () => {},
    )
    try {
      await core.createNamespacedPod({ namespace: "default", body: pod("cn-w") })
      await core.patchNamespacedPod(
        { name: "cn-w", namespace: "default", body: { metadata: { labels: { seen: "yes" } } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      )
      await core.deleteNamespacedPod({ name: "cn-w", namespace: "default" })
      expect(await done.promise).toEqual(["ADDED cn-w", "MODIFIED cn-w", "DELETED cn-w"])
    } finally {
      controller.abort()
    }
  })

  it("feeds client-node's informer", async () => {
    const core = config.makeApiClient(CoreV1Api)
    const informer = makeInformer(config, "/api/v1/namespaces/default/pods", () =>
      core.listNamespacedPod({ namespace: "default" }),
    )
    const added = condition(() =>
      informer.get("cn-i", "default") === undefined ? undefined : true,
    )
    informer.on("add", () => added.nudge())
    await informer.start()
    try {
      await core.createNamespacedPod({ namespace: "default", body: pod("cn-i") })
      await added.promise
      expect(informer.list("default").map((p) => p.metadata?.name)).toContain("cn-a")
    } finally {
      await informer.stop()
    }
  })
})
