// End-to-end test support: a real API server (on an in-memory store) started
// in the test process on a free port of 127.0.0.1, objects in Kubernetes'
// wire shape, waits on conditions with deadlines, and the real kubectl.
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Event, Node, Pod } from "@flotilla/api"
import { serve } from "@flotilla/apiserver"
import { type KubeClientShape, makeClient } from "@flotilla/client"
import { KV } from "@flotilla/store"
import { Context, Duration, Effect, Layer, type Scope } from "effect"
import { stringify } from "yaml"

export interface TestCluster {
  readonly client: KubeClientShape
  readonly url: string
  /** A scratch directory removed with the scope. */
  readonly dir: string
}

/** Starts an API server in the current scope. */
export const startCluster: Effect.Effect<TestCluster, never, Scope.Scope> = Effect.gen(
  function* () {
    const context = yield* Layer.build(KV.layerMemory())
    const server = yield* Effect.orDie(serve(Context.get(context, KV), {}))
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "flotilla-scheduler-"))),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true })),
    )
    return {
      client: makeClient({ server: server.url, userAgent: "scheduler-test/v0" }),
      url: server.url,
      dir,
    }
  },
)

type Quantities = Readonly<Record<string, string>>

/** A node as a kubelet registers it: capacity = allocatable, Ready, labelled with its hostname. */
export const apiNode = (
  name: string,
  o: {
    readonly cpu?: string
    readonly memory?: string
    readonly labels?: Readonly<Record<string, string>>
    readonly taints?: ReadonlyArray<{ key: string; value?: string; effect: string }>
  } = {},
): Node => {
  const resources: Quantities = { cpu: o.cpu ?? "4", memory: o.memory ?? "16Gi", pods: "110" }
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...o.labels } },
    spec: o.taints === undefined ? {} : { taints: o.taints },
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady" }],
    },
  } as unknown as Node
}

/** A pod with one container requesting `cpu` (and 128Mi). */
export const apiPod = (
  name: string,
  o: {
    readonly cpu?: string
    readonly schedulerName?: string
    readonly nodeName?: string
    readonly nodeSelector?: Readonly<Record<string, string>>
    readonly tolerations?: ReadonlyArray<{
      key: string
      operator?: string
      value?: string
      effect?: string
    }>
    readonly finalizers?: ReadonlyArray<string>
  } = {},
): Pod =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      labels: { app: name },
      ...(o.finalizers === undefined ? {} : { finalizers: o.finalizers }),
    },
    spec: {
      containers: [
        {
          name: "main",
          image: "nginx:1.27",
          resources: { requests: { cpu: o.cpu ?? "100m", memory: "128Mi" } },
        },
      ],
      ...(o.schedulerName === undefined ? {} : { schedulerName: o.schedulerName }),
      ...(o.nodeName === undefined ? {} : { nodeName: o.nodeName }),
      ...(o.nodeSelector === undefined ? {} : { nodeSelector: o.nodeSelector }),
      ...(o.tolerations === undefined ? {} : { tolerations: o.tolerations }),
    },
  }) as unknown as Pod

/**
 * Probes until `probe` returns a value (not undefined), failing with `what`
 * after the deadline. The probe reads the API server; the pause between
 * probes only spaces them out, it never stands in for the condition.
 */
export const waitFor = <A, E>(
  what: string,
  probe: Effect.Effect<A | undefined, E>,
  deadlineMs = 20_000,
): Effect.Effect<A, E | Error> =>
  Effect.gen(function* () {
    const start = Date.now()
    for (;;) {
      const value = yield* probe
      if (value !== undefined) return value
      if (Date.now() - start > deadlineMs) {
        return yield* Effect.fail(new Error(`timed out after ${deadlineMs} ms waiting for ${what}`))
      }
      yield* Effect.sleep(Duration.millis(20))
    }
  })

/** Waits until the pod is bound and returns it. */
export const waitForBinding = (client: KubeClientShape, name: string) =>
  waitFor(
    `pod ${name} to be bound`,
    Effect.map(client.pods.get("default", name), (p) =>
      (p.spec.nodeName ?? "") === "" ? undefined : (p as Pod),
    ),
  )

/** Events about a pod, as the API server stores them. */
export const eventsOf = (client: KubeClientShape, pod: string) =>
  Effect.map(
    client.events.list("default", { fieldSelector: `involvedObject.name=${pod}` }),
    (l) => l.items as ReadonlyArray<Event>,
  )

/** Waits for an event of the pod with the reason, and returns it. */
export const waitForEvent = (client: KubeClientShape, pod: string, reason: string) =>
  waitFor(
    `a ${reason} event for ${pod}`,
    Effect.map(eventsOf(client, pod), (es) => es.find((e) => e.reason === reason)),
  )

export interface Kubectl {
  readonly run: (...args: ReadonlyArray<string>) => Promise<string>
}

/** The real kubectl with its own kubeconfig and cache under `dir`. */
export const kubectlFor = (url: string, dir: string): Kubectl => {
  const kubeconfig = join(dir, "kubeconfig")
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "test", cluster: { server: url } }],
    users: [{ name: "test", user: {} }],
    contexts: [{ name: "test", context: { cluster: "test", user: "test", namespace: "default" } }],
    "current-context": "test",
  }
  writeFileSync(kubeconfig, stringify(config))
  const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: dir, NO_COLOR: "1" }
  return {
    run: (...args) =>
      new Promise((resolve, reject) => {
        execFile(
          "/usr/bin/kubectl",
          ["--cache-dir", join(dir, "cache"), ...args],
          { env, encoding: "utf8", timeout: 60_000 },
          (error, stdout, stderr) =>
            error === null
              ? resolve(stdout)
              : reject(new Error(`kubectl ${args.join(" ")}: ${stderr || error.message}`)),
        )
      }),
  }
}

/**
 * Reads a kubectl table (`get ... -o wide`) into rows keyed by column header;
 * columns are cut at the header's positions, as kubectl aligns them.
 */
export const parseTable = (text: string): Array<Record<string, string>> => {
  const [header, ...rows] = text.split("\n").filter((l) => l.trim() !== "")
  if (header === undefined) return []
  const starts: Array<{ name: string; at: number }> = []
  for (const m of header.matchAll(/\S+(?: \S+)*/g)) starts.push({ name: m[0], at: m.index })
  return rows.map((row) => {
    const out: Record<string, string> = {}
    starts.forEach((c, i) => {
      const end = starts[i + 1]?.at ?? row.length
      out[c.name] = row.slice(c.at, end).trim()
    })
    return out
  })
}
