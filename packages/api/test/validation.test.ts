import { describe, expect, it } from "vitest"
import type { Deployment, ReplicaSet } from "../src/apps/v1.ts"
import type { KubeObject } from "../src/codec.ts"
import { applyDefaults } from "../src/defaults.ts"
import { errorString } from "../src/errors.ts"
import type {
  autoscalingv1,
  Container,
  Lease,
  Namespace,
  Node,
  Pod,
  Service,
} from "../src/index.ts"
import { validate, validateUpdate, validationStatus } from "../src/validation/index.ts"

// Kubernetes' messages, spelled out (including their double spaces).
const dns1123Subdomain =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
const dns1123Label =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
const dns1035Label =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
const qualifiedNamePart =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
const labelValue =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
const portRange = "must be between 1 and 65535, inclusive"

const errors = (object: KubeObject): Array<string> => validate(object).map(errorString)

const container = (overrides: Partial<Container> = {}): Container => ({
  name: "web",
  image: "nginx:1.27",
  ports: [{ containerPort: 80 }],
  ...overrides,
})

const pod = (
  containers: ReadonlyArray<Container> = [container()],
  extra: Partial<Pod["spec"]> = {},
): Pod =>
  applyDefaults({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "default" },
    spec: { containers, ...extra },
    status: {},
  } satisfies Pod)

const deployment = (spec: Partial<Deployment["spec"]> = {}, name = "web"): Deployment =>
  applyDefaults({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [container()] } },
      ...spec,
    },
    status: {},
  } satisfies Deployment)

const service = (spec: Partial<Service["spec"]> = {}, name = "web"): Service =>
  applyDefaults({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: { selector: { app: "web" }, ports: [{ port: 80 }], ...spec },
    status: {},
  } satisfies Service)

describe("valid objects", () => {
  it("have no errors", () => {
    expect(errors(pod())).toEqual([])
    expect(errors(deployment())).toEqual([])
    expect(errors(service())).toEqual([])
  })
})

describe("metadata", () => {
  it("name is required", () => {
    const d = deployment()
    expect(errors({ ...d, metadata: { namespace: "default" } })).toEqual([
      "metadata.name: Required value: name or generateName is required",
    ])
  })
  it("names of Deployments are DNS-1123 subdomains", () => {
    expect(errors(deployment({}, "Web"))).toEqual([
      `metadata.name: Invalid value: "Web": ${dns1123Subdomain}`,
    ])
  })
  it("names of Services are DNS-1035 labels", () => {
    expect(errors(service({}, "1web"))).toEqual([
      `metadata.name: Invalid value: "1web": ${dns1035Label}`,
    ])
  })
  it("names of Namespaces are DNS-1123 labels", () => {
    const ns = (name: string): Namespace => ({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name },
      spec: {},
      status: {},
    })
    expect(errors(ns("a_b"))).toEqual([`metadata.name: Invalid value: "a_b": ${dns1123Label}`])
    // A valid subdomain that is not a label gets current Kubernetes' shorter message.
    expect(errors(ns("a.b"))).toEqual([
      'metadata.name: Invalid value: "a.b": must not contain dots',
    ])
  })
  it("generateName is checked as a prefix", () => {
    const d = deployment()
    expect(errors({ ...d, metadata: { namespace: "default", generateName: "web-" } })).toEqual([
      "metadata.name: Required value: name or generateName is required",
    ])
    expect(errors({ ...d, metadata: { ...d.metadata, generateName: "Web-" } })).toEqual([
      `metadata.generateName: Invalid value: "Web-": ${dns1123Subdomain}`,
    ])
  })
  it("namespaced kinds require a namespace", () => {
    const p = pod()
    expect(errors({ ...p, metadata: { name: "web-1" } })).toEqual([
      "metadata.namespace: Required value",
    ])
  })
  it("cluster-scoped kinds may not have one", () => {
    const node: Node = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "n1", namespace: "default" },
      spec: {},
      status: {},
    }
    expect(errors(node)).toEqual(["metadata.namespace: Forbidden: not allowed on this type"])
  })
  it("label keys are qualified names", () => {
    const d = deployment()
    expect(errors({ ...d, metadata: { ...d.metadata, labels: { "-bad": "x" } } })).toEqual([
      `metadata.labels: Invalid value: "-bad": ${qualifiedNamePart}`,
    ])
  })
  it("label values are valid label values", () => {
    const d = deployment()
    expect(errors({ ...d, metadata: { ...d.metadata, labels: { tier: "front end" } } })).toEqual([
      `metadata.labels: Invalid value: "front end": ${labelValue}`,
    ])
  })
  it("annotation keys are qualified names in any case", () => {
    const d = deployment()
    expect(
      errors({
        ...d,
        metadata: { ...d.metadata, annotations: { "Example.com/Note": "ok", "a b": "x" } },
      }),
    ).toEqual([`metadata.annotations: Invalid value: "a b": ${qualifiedNamePart}`])
  })
  it("generation is non-negative", () => {
    const d = deployment()
    expect(errors({ ...d, metadata: { ...d.metadata, generation: -1 } })).toEqual([
      "metadata.generation: Invalid value: -1: must be greater than or equal to 0",
    ])
  })
  it("owner references name their owner", () => {
    const d = deployment()
    const owner = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "", uid: "u1" }
    expect(errors({ ...d, metadata: { ...d.metadata, ownerReferences: [owner] } })).toEqual([
      'metadata.ownerReferences.name: Invalid value: "": must not be empty',
    ])
  })
})

describe("managedFields", () => {
  const withEntry = (entry: Record<string, unknown>): KubeObject => {
    const d = deployment()
    return {
      ...d,
      metadata: {
        ...d.metadata,
        managedFields: [{ operation: "Update", fieldsType: "FieldsV1", fieldsV1: {}, ...entry }],
      },
    } as KubeObject
  }
  it("names of managers are at most 128 bytes of printable characters (ValidateFieldManager)", () => {
    expect(errors(withEntry({ manager: "m".repeat(128) }))).toEqual([])
    expect(errors(withEntry({ manager: "kubectl-client-side-apply é ü" }))).toEqual([])
    expect(errors(withEntry({ manager: "m".repeat(129) }))).toEqual([
      "metadata.managedFields[0].manager: Too long: may not be more than 128 bytes",
    ])
    expect(errors(withEntry({ manager: "é".repeat(65) }))).toEqual([
      "metadata.managedFields[0].manager: Too long: may not be more than 128 bytes",
    ])
    expect(errors(withEntry({ manager: "a\u0000b\u2028" }))).toEqual([
      'metadata.managedFields[0].manager: Invalid value: "a\\u0000b\u2028": invalid character U+0000 (at position 1)',
      'metadata.managedFields[0].manager: Invalid value: "a\\u0000b\u2028": invalid character U+2028 (at position 3)',
    ])
  })
  it("subresources are at most 256 bytes; operations Apply or Update", () => {
    expect(errors(withEntry({ manager: "m", subresource: "s".repeat(257) }))).toEqual([
      "metadata.managedFields[0].subresource: Too long: may not be more than 256 bytes",
    ])
    expect(errors(withEntry({ manager: "m", operation: "Bogus" }))).toEqual([
      'metadata.managedFields[0].operation: Invalid value: "Bogus": must be `Apply` or `Update`',
    ])
  })
})

describe("selectors", () => {
  it("are required, and an absent one matches no template", () => {
    const { selector: _, ...spec } = deployment().spec
    const noSelector: Deployment = { ...deployment(), spec }
    expect(errors(noSelector)).toEqual([
      "spec.selector: Required value",
      'spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`',
    ])
  })
  it("must match the template's labels", () => {
    expect(errors(deployment({ selector: { matchLabels: { app: "api" } } }))).toEqual([
      'spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`',
    ])
  })
  it("may not be empty", () => {
    expect(errors(deployment({ selector: {} }))).toEqual([
      "spec.selector: Invalid value: {}: empty selector is invalid for deployment",
    ])
  })
  it("have valid operators and values", () => {
    const selector = {
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "Like", values: ["a"] },
        { key: "env", operator: "In" },
        { key: "track", operator: "Exists", values: ["x"] },
      ],
    }
    expect(errors(deployment({ selector }))).toEqual([
      'spec.selector.matchExpressions[0].operator: Invalid value: "Like": not a valid selector operator',
      "spec.selector.matchExpressions[1].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      "spec.selector.matchExpressions[2].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      'spec.selector: Invalid value: {"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"Like","values":["a"]},{"key":"env","operator":"In"},{"key":"track","operator":"Exists","values":["x"]}]}: invalid label selector',
    ])
  })
})

describe("containers", () => {
  it("need a name", () => {
    const spec = deployment().spec
    const template = {
      ...spec.template,
      spec: {
        ...spec.template.spec,
        containers: [{ ...spec.template.spec.containers[0]!, name: "" }],
      },
    }
    expect(errors(deployment({ template }))).toEqual([
      "spec.template.spec.containers[0].name: Required value",
    ])
  })
  it("have DNS-1123 label names", () => {
    expect(errors(pod([container({ name: "Web_1" })]))).toEqual([
      `spec.containers[0].name: Invalid value: "Web_1": ${dns1123Label}`,
    ])
  })
  it("have unique names", () => {
    expect(errors(pod([container(), container({ ports: [] })]))).toEqual([
      'spec.containers[1].name: Duplicate value: "web"',
    ])
  })
  it("need an image", () => {
    const { image: _, ...noImage } = container()
    expect(errors(pod([noImage]))).toEqual(["spec.containers[0].image: Required value"])
  })
  it("must exist", () => {
    expect(errors(pod([]))).toEqual(["spec.containers: Required value"])
  })
  it("have a supported pull policy", () => {
    expect(errors(pod([container({ imagePullPolicy: "Sometimes" })]))).toEqual([
      'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
    ])
  })
  it("have env var names", () => {
    expect(errors(pod([container({ env: [{ name: "" }] })]))).toEqual([
      "spec.containers[0].env[0].name: Required value",
    ])
  })
  it("have probes with exactly one handler", () => {
    expect(errors(pod([container({ livenessProbe: { periodSeconds: 5 } })]))).toEqual([
      "spec.containers[0].livenessProbe: Required value: must specify a handler type",
    ])
    expect(
      errors(
        pod([
          container({ readinessProbe: { exec: { command: ["true"] }, tcpSocket: { port: 80 } } }),
        ]),
      ),
    ).toEqual([
      "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
    ])
  })
})

describe("ports", () => {
  it("containerPort is required and in range", () => {
    expect(errors(pod([container({ ports: [{ containerPort: 0 }] })]))).toEqual([
      "spec.containers[0].ports[0].containerPort: Required value",
    ])
    expect(errors(pod([container({ ports: [{ containerPort: 70000 }] })]))).toEqual([
      `spec.containers[0].ports[0].containerPort: Invalid value: 70000: ${portRange}`,
    ])
  })
  it("hostPort is in range and unique in the pod", () => {
    expect(errors(pod([container({ ports: [{ containerPort: 80, hostPort: 65536 }] })]))).toEqual([
      `spec.containers[0].ports[0].hostPort: Invalid value: 65536: ${portRange}`,
    ])
    const a = container({ ports: [{ containerPort: 80, hostPort: 8080 }] })
    const b = container({ name: "b", ports: [{ containerPort: 81, hostPort: 8080 }] })
    expect(errors(pod([a, b]))).toEqual([
      'spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"',
    ])
  })
  it("protocols are TCP, UDP or SCTP", () => {
    expect(errors(pod([container({ ports: [{ containerPort: 80, protocol: "ICMP" }] })]))).toEqual([
      'spec.containers[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
    ])
  })
  it("port names are IANA service names", () => {
    expect(errors(pod([container({ ports: [{ containerPort: 80, name: "HTTP" }] })]))).toEqual([
      'spec.containers[0].ports[0].name: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.containers[0].ports[0].name: Invalid value: "HTTP": must contain at least one letter (a-z)',
    ])
  })
  it("service ports are in range, named when several, with valid target ports", () => {
    expect(errors(service({ ports: [{ port: 0, targetPort: 8080 }] }))).toEqual([
      `spec.ports[0].port: Invalid value: 0: ${portRange}`,
    ])
    expect(errors(service({ ports: [{ port: 80 }, { port: 443, name: "https" }] }))).toEqual([
      "spec.ports[0].name: Required value",
    ])
    expect(errors(service({ ports: [{ port: 80, targetPort: "web_port" }] }))).toEqual([
      'spec.ports[0].targetPort: Invalid value: "web_port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
    ])
  })
  it("service ports need ports, and a supported type and affinity", () => {
    expect(errors(service({ ports: [] }))).toEqual(["spec.ports: Required value"])
    expect(errors(service({ type: "Magic" }))).toEqual([
      'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    ])
    expect(errors(service({ sessionAffinity: "Cookie" }))).toEqual([
      'spec.sessionAffinity: Unsupported value: "Cookie": supported values: "ClientIP", "None"',
    ])
  })
})

describe("resources", () => {
  const withResources = (resources: NonNullable<Container["resources"]>) =>
    pod([container({ resources })])
  it("quantities are non-negative", () => {
    expect(errors(withResources({ requests: { cpu: "-1" } }))).toEqual([
      'spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0',
    ])
  })
  it("requests are at most the limits", () => {
    expect(errors(withResources({ limits: { cpu: "1" }, requests: { cpu: "1500m" } }))).toEqual([
      'spec.containers[0].resources.requests: Invalid value: "1500m": must be less than or equal to cpu limit of 1',
    ])
  })
  it("resource names are standard or fully qualified", () => {
    expect(errors(withResources({ limits: { ram: "1Gi" } }))).toEqual([
      'spec.containers[0].resources.limits[ram]: Invalid value: "ram": must be a standard resource type or fully qualified',
      'spec.containers[0].resources.limits[ram]: Invalid value: "ram": must be a standard resource for containers',
      // limits default the requests, so the request is checked too
      'spec.containers[0].resources.requests[ram]: Invalid value: "ram": must be a standard resource type or fully qualified',
      'spec.containers[0].resources.requests[ram]: Invalid value: "ram": must be a standard resource for containers',
    ])
  })
  it("answers the same however often names and quantities were seen (memos, and their bound)", () => {
    // More distinct names and quantities than the memos keep, valid and not,
    // each pod validated cold and again after the memos have turned over.
    const pods = Array.from({ length: 1500 }, (_, i) =>
      withResources({
        limits: { [i % 3 === 0 ? `r${i}` : `example.com/r${i}`]: `${i % 7 === 0 ? -i : i}m` },
        requests: { cpu: `${i}m`, memory: `${i}Mi` },
      }),
    )
    const cold = pods.map(errors)
    const warm = pods.map(errors)
    expect(warm).toEqual(cold)
    expect(cold.flat().some((e) => e.includes("must be a standard resource"))).toBe(true)
    expect(cold.flat().some((e) => e.includes("must be an integer"))).toBe(true)
    expect(cold.flat().some((e) => e.includes("greater than or equal to 0"))).toBe(true)
  })
  it("extended resources are whole and not overcommitted", () => {
    expect(errors(withResources({ limits: { "example.com/gpu": "500m" } }))).toEqual([
      'spec.containers[0].resources.limits[example.com/gpu]: Invalid value: "500m": must be an integer',
      'spec.containers[0].resources.requests[example.com/gpu]: Invalid value: "500m": must be an integer',
    ])
    expect(errors(withResources({ requests: { "example.com/gpu": "1" } }))).toEqual([
      "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources",
    ])
  })
})

describe("pod policies and scheduling constraints", () => {
  it("restartPolicy is Always, OnFailure or Never", () => {
    expect(errors(pod(undefined, { restartPolicy: "Sometimes" }))).toEqual([
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ])
  })
  it("templates of Deployments restart Always", () => {
    const spec = deployment().spec
    const template = { ...spec.template, spec: { ...spec.template.spec, restartPolicy: "Never" } }
    expect(errors(deployment({ template }))).toEqual([
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    ])
  })
  it("nodeSelector is a label set", () => {
    expect(errors(pod(undefined, { nodeSelector: { "disk type": "ssd" } }))).toEqual([
      `spec.nodeSelector: Invalid value: "disk type": ${qualifiedNamePart}`,
    ])
  })
  it("node affinity needs terms with valid operators", () => {
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "zone", operator: "Gt", values: ["1", "2"] }] },
          ],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, preference: {} }],
      },
    }
    expect(errors(pod(undefined, { affinity }))).toEqual([
      "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'",
      "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100",
    ])
  })
  it("pod affinity terms need a topology key", () => {
    const affinity = {
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "" }] },
    }
    expect(errors(pod(undefined, { affinity }))).toEqual([
      "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty",
      'spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: "": name part must be non-empty',
      `spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: "": ${qualifiedNamePart}`,
    ])
  })
  it("tolerations with no key use Exists", () => {
    expect(errors(pod(undefined, { tolerations: [{ operator: "Equal", value: "x" }] }))).toEqual([
      'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"',
    ])
  })
})

describe("deployment spec", () => {
  it("replicas are non-negative", () => {
    expect(errors(deployment({ replicas: -1 }))).toEqual([
      "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    ])
  })
  it("maxSurge and maxUnavailable are not both 0", () => {
    expect(
      errors(
        deployment({
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: "0%" } },
        }),
      ),
    ).toEqual([
      "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0%: may not be 0 when `maxSurge` is 0",
    ])
  })
  it("maxSurge is an integer or a percentage, maxUnavailable at most 100%", () => {
    expect(
      errors(
        deployment({
          strategy: {
            type: "RollingUpdate",
            rollingUpdate: { maxSurge: "lots", maxUnavailable: "110%" },
          },
        }),
      ),
    ).toEqual([
      "spec.strategy.rollingUpdate.maxSurge: Invalid value: lots: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 110%: must not be greater than 100%",
    ])
  })
  it("strategy types are Recreate or RollingUpdate", () => {
    expect(errors(deployment({ strategy: { type: "Canary" } }))).toEqual([
      'spec.strategy: Unsupported value: {"type":"Canary"}: supported values: "Recreate", "RollingUpdate"',
    ])
    expect(errors(deployment({ strategy: { type: "Recreate", rollingUpdate: {} } }))).toEqual([
      "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ])
  })
  it("progressDeadlineSeconds exceeds minReadySeconds", () => {
    expect(errors(deployment({ minReadySeconds: 600, progressDeadlineSeconds: 600 }))).toEqual([
      "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds",
    ])
  })
  it("ReplicaSets follow the same selector and template rules", () => {
    const rs: ReplicaSet = applyDefaults({
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "web-abc", namespace: "default" },
      spec: { replicas: -2, template: { metadata: {}, spec: { containers: [container()] } } },
      status: { replicas: 0 },
    } satisfies ReplicaSet)
    expect(errors(rs)).toEqual([
      "spec.replicas: Invalid value: -2: must be greater than or equal to 0",
      "spec.selector: Required value",
      "spec.template.metadata.labels: Invalid value: null: `selector` does not match template `labels`",
    ])
  })
})

describe("other kinds", () => {
  it("node taints have a supported effect", () => {
    const node: Node = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "n1" },
      spec: { taints: [{ key: "dedicated", effect: "Sometimes" }] },
      status: {},
    }
    expect(errors(node)).toEqual([
      'spec.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
    ])
  })
  it("scales ask for a non-negative count", () => {
    const scale: autoscalingv1.Scale = {
      apiVersion: "autoscaling/v1",
      kind: "Scale",
      metadata: { name: "web", namespace: "default" },
      spec: { replicas: -1 },
      status: { replicas: 0 },
    }
    expect(errors(scale)).toEqual([
      "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    ])
  })
  it("leases last a positive time", () => {
    const lease: Lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "n1", namespace: "kube-node-lease" },
      spec: { leaseDurationSeconds: 0 },
    }
    expect(errors(lease)).toEqual([
      "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
    ])
  })
})

describe("updates", () => {
  it("selectors and names are immutable", () => {
    const previous = deployment()
    const next = deployment({
      selector: { matchLabels: { app: "web", track: "canary" } },
      template: {
        metadata: { labels: { app: "web", track: "canary" } },
        spec: previous.spec.template.spec,
      },
    })
    const withVersion = {
      ...next,
      metadata: { ...next.metadata, name: "web2", resourceVersion: "5" },
    }
    expect(validateUpdate(withVersion, previous).map(errorString)).toEqual([
      'metadata.name: Invalid value: "web2": field is immutable',
      'spec.selector: Invalid value: {"matchLabels":{"app":"web","track":"canary"}}: field is immutable',
    ])
  })
  it("need a resourceVersion", () => {
    const previous = pod()
    expect(validateUpdate(previous, previous).map(errorString)).toEqual([
      'metadata.resourceVersion: Invalid value: "": must be specified for an update',
    ])
  })
})

describe("the Status of a failed validation", () => {
  it("is a 422 Invalid with one cause per error", () => {
    const d = deployment({ replicas: -1, selector: { matchLabels: { app: "api" } } })
    expect(validationStatus(d, validate(d))).toEqual({
      apiVersion: "v1",
      kind: "Status",
      metadata: {},
      status: "Failure",
      message:
        'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`]',
      reason: "Invalid",
      details: {
        name: "web",
        group: "apps",
        kind: "Deployment",
        causes: [
          {
            reason: "FieldValueInvalid",
            message: "Invalid value: -1: must be greater than or equal to 0",
            field: "spec.replicas",
          },
          {
            reason: "FieldValueInvalid",
            message: 'Invalid value: {"app":"web"}: `selector` does not match template `labels`',
            field: "spec.template.metadata.labels",
          },
        ],
      },
      code: 422,
    })
  })
  it("names a core kind without a group, and a single error without brackets", () => {
    const p = pod([])
    expect(validationStatus(p, validate(p)).message).toBe(
      'Pod "web-1" is invalid: spec.containers: Required value',
    )
  })
})
