import { describe, expect, it } from "vitest"
import { humanDuration, nodeRoles, nodeStatus, printerFor, table } from "../../src/core/table.ts"

const now = Date.parse("2026-01-01T12:00:00Z")
const created = "2026-01-01T11:59:00Z"

const pod = (status: object, spec: object = {}, meta: object = {}) => ({
  metadata: { name: "p", creationTimestamp: created, ...meta },
  spec: { containers: [{ name: "a" }, { name: "b" }], ...spec },
  status,
})
const podCells = (p: object) => printerFor("pods").row(p as never, now).cells

describe("humanDuration", () => {
  it("prints durations as kubectl users know them", () => {
    const s = 1000
    const cases: Array<[number, string]> = [
      [-3 * s, "<invalid>"],
      [-1 * s, "0s"],
      [0, "0s"],
      [59 * s, "59s"],
      [119 * s, "119s"],
      [120 * s, "2m"],
      [185 * s, "3m5s"],
      [15 * 60 * s, "15m"],
      [179 * 60 * s, "179m"],
      [3 * 3600 * s, "3h"],
      [(5 * 60 + 20) * 60 * s, "5h20m"],
      [30 * 3600 * s, "30h"],
      [51 * 3600 * s, "2d3h"],
      [400 * 86400 * s, "400d"],
      [(3 * 365 + 30) * 86400 * s, "3y30d"],
      [10 * 365 * 86400 * s, "10y"],
    ]
    for (const [ms, text] of cases) expect([ms, humanDuration(ms)]).toEqual([ms, text])
  })
})

describe("pod rows", () => {
  it("count ready containers and restarts, and show the waiting reason", () => {
    const cells = podCells(
      pod(
        {
          phase: "Running",
          podIP: "10.0.0.5",
          containerStatuses: [
            { name: "a", ready: true, restartCount: 0, state: { running: {} } },
            {
              name: "b",
              ready: false,
              restartCount: 4,
              state: { waiting: { reason: "CrashLoopBackOff" } },
              lastState: { terminated: { exitCode: 1, finishedAt: "2026-01-01T11:58:00Z" } },
            },
          ],
        },
        { nodeName: "node-1" },
      ),
    )
    expect(cells).toEqual([
      "p",
      "1/2",
      "CrashLoopBackOff",
      "4 (2m ago)",
      "60s",
      "10.0.0.5",
      "node-1",
      "<none>",
      "<none>",
    ])
  })

  it("show init progress, completion and termination", () => {
    expect(
      podCells(
        pod(
          {
            phase: "Pending",
            initContainerStatuses: [
              { name: "i", restartCount: 0, state: { waiting: { reason: "PodInitializing" } } },
            ],
          },
          { initContainers: [{ name: "i" }] },
        ),
      )[2],
    ).toBe("Init:0/1")
    expect(
      podCells(
        pod({
          phase: "Succeeded",
          containerStatuses: [
            { name: "a", state: { terminated: { exitCode: 0, reason: "Completed" } } },
            { name: "b", state: { terminated: { exitCode: 0, reason: "Completed" } } },
          ],
        }),
      )[2],
    ).toBe("Completed")
    expect(
      podCells(pod({ phase: "Running" }, {}, { deletionTimestamp: "2026-01-01T12:00:30Z" }))[2],
    ).toBe("Terminating")
    expect(podCells(pod({ phase: "Failed", reason: "Evicted" }))[2]).toBe("Evicted")
  })
})

describe("node rows", () => {
  it("show readiness, cordons and roles", () => {
    const node = (ready: string | undefined, unschedulable: boolean) => ({
      spec: { unschedulable },
      status: { conditions: ready === undefined ? [] : [{ type: "Ready", status: ready }] },
    })
    expect(nodeStatus(node("True", false) as never)).toBe("Ready")
    expect(nodeStatus(node("False", true) as never)).toBe("NotReady,SchedulingDisabled")
    expect(nodeStatus(node(undefined, false) as never)).toBe("Unknown")
    expect(
      nodeRoles({
        "node-role.kubernetes.io/control-plane": "",
        "node-role.kubernetes.io/worker": "",
        other: "x",
      }),
    ).toBe("control-plane,worker")
    expect(nodeRoles({})).toBe("<none>")
  })
})

describe("service, event and endpoints rows", () => {
  it("show external IPs and ports as kubectl does", () => {
    const row = (spec: object, status: object = {}) =>
      printerFor("services").row(
        { metadata: { name: "s", creationTimestamp: created }, spec, status } as never,
        now,
      ).cells
    expect(
      row({
        type: "LoadBalancer",
        clusterIP: "10.96.0.9",
        ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }],
      }),
    ).toEqual(["s", "LoadBalancer", "10.96.0.9", "<pending>", "80:30080/TCP", "60s", "<none>"])
    expect(
      row(
        {
          type: "LoadBalancer",
          clusterIP: "10.96.0.9",
          ports: [{ port: 80, nodePort: 30080 }],
          selector: { b: "2", a: "1" },
        },
        { loadBalancer: { ingress: [{ ip: "1.2.3.4" }] } },
      ).slice(3),
    ).toEqual(["1.2.3.4", "80:30080/TCP", "60s", "a=1,b=2"])
    expect(row({ type: "ExternalName", externalName: "example.com" })[3]).toBe("example.com")
  })

  it("print events with the object as kind/name and counts", () => {
    const cells = printerFor("events").row(
      {
        metadata: { name: "e1" },
        involvedObject: { kind: "Pod", name: "web-1" },
        type: "Warning",
        reason: "BackOff",
        message: " Back-off restarting failed container \n",
        source: { component: "kubelet", host: "node-1" },
        firstTimestamp: "2026-01-01T11:00:00Z",
        lastTimestamp: "2026-01-01T11:59:30Z",
        count: 7,
      } as never,
      now,
    ).cells
    expect(cells).toEqual([
      "30s",
      "Warning",
      "BackOff",
      "pod/web-1",
      "",
      "kubelet, node-1",
      "Back-off restarting failed container",
      "60m",
      7,
      "e1",
    ])
  })

  it("list at most three endpoints", () => {
    const ep = {
      metadata: { name: "e", creationTimestamp: created },
      subsets: [
        {
          addresses: [{ ip: "1.1.1.1" }, { ip: "2.2.2.2" }, { ip: "3.3.3.3" }, { ip: "4.4.4.4" }],
          ports: [{ port: 80 }],
        },
      ],
    }
    expect(printerFor("endpoints").row(ep as never, now).cells[1]).toBe(
      "1.1.1.1:80,2.2.2.2:80,3.3.3.3:80 + 1 more...",
    )
  })

  it("build Tables with column definitions, list metadata and row objects", () => {
    const t = table(
      "namespaces",
      [{ metadata: { name: "default", creationTimestamp: created }, status: { phase: "Active" } }],
      { resourceVersion: "7" },
      now,
      "Metadata",
    ) as {
      metadata: object
      columnDefinitions: Array<{ name: string }>
      rows: Array<{ cells: Array<unknown>; object: { kind: string } }>
    }
    expect(t.metadata).toEqual({ resourceVersion: "7" })
    expect(t.columnDefinitions.map((c) => c.name)).toEqual(["Name", "Status", "Age"])
    expect(t.rows[0]?.cells).toEqual(["default", "Active", "60s"])
    expect(t.rows[0]?.object.kind).toBe("PartialObjectMetadata")
  })
})
