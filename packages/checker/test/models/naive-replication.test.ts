import { describe, expect, it } from "vitest"
import { bfs } from "../../src/core/bfs.ts"
import { dfs } from "../../src/core/dfs.ts"
import { operationsOf } from "../../src/core/history.ts"
import { simulate } from "../../src/core/simulate.ts"
import { replayTrace, statesAlong, traceOf } from "../../src/core/trace.ts"
import { type NaiveSystemState, naiveReplication } from "../../src/models/naive-replication.ts"

const labels = (
  model: ReturnType<typeof naiveReplication>,
  path: { init: number; actions: ReadonlyArray<number> },
) =>
  traceOf(model, { name: "linearizable", kind: "always", status: "violated", path }).steps.map(
    (s) => s.label,
  )

const serverValues = (s: NaiveSystemState) =>
  s.actors.flatMap((a) => (a !== undefined && a.role === "server" ? [a.value] : []))

describe("naive replication: the seed's first failure (concurrent writes)", () => {
  const model = naiveReplication({ servers: 3, scenario: "concurrent-writes" })

  it("is a linearizability violation whose shortest trace diverges the replicas", () => {
    const r = bfs(model)
    const p = r.properties.find((x) => x.name === "linearizable")!
    expect(p.status).toBe("violated")
    expect(p.path!.actions).toHaveLength(14)
    // Pinned: the shortest counterexample, step by step.
    expect(labels(model, p.path!)).toEqual([
      "deliver client2 → B: Write(Z)",
      "deliver B → client2: WriteOk",
      "deliver client1 → A: Write(Y)",
      "deliver A → client1: WriteOk",
      "deliver B → A: Update(Z)",
      "deliver A → C: Update(Y)",
      "deliver B → C: Update(Z)",
      "deliver A → B: Update(Y)",
      'client1: timer "settled" fires',
      "deliver client1 → A: Read",
      "deliver A → client1: ReadOk(Z)",
      'client2: timer "settled" fires',
      "deliver client2 → B: Read",
      "deliver B → client2: ReadOk(Y)",
    ])
    const last = statesAlong(model, p.path!).at(-1)!
    // The replicas have diverged for good: nothing is in flight.
    expect(serverValues(last)).toEqual(["Z", "Y", "Z"])
    expect(last.network).toHaveLength(0)
    const reads = operationsOf(last.history).filter((o) => o.input.type === "read")
    expect(reads.map((o) => o.output)).toEqual(["Z", "Y"])
  })

  it("is found by depth-first search and by random walks, shrunk to the same length", () => {
    const d = dfs(model)
    expect(d.properties[0]!.status).toBe("violated")
    const s = simulate(model, { seed: 1, walks: 2000 })
    const p = s.properties[0]!
    expect(p.status).toBe("violated")
    expect(p.path!.actions).toHaveLength(14)
    const last = statesAlong(model, p.path!).at(-1)!
    expect(new Set(serverValues(last)).size).toBeGreaterThan(1)
  })

  it("needs only two servers", () => {
    const two = naiveReplication({ servers: 2, scenario: "concurrent-writes" })
    const p = bfs(two).properties[0]!
    expect(p.status).toBe("violated")
    expect(serverValues(statesAlong(two, p.path!).at(-1)!)).toEqual(["Z", "Y"])
  })

  it("replays its saved trace", () => {
    const p = bfs(model).properties[0]!
    const trace = traceOf(
      model,
      { ...p, path: p.path! },
      { options: { servers: "3", scenario: "concurrent-writes" } },
    )
    const again = replayTrace(model, JSON.parse(JSON.stringify(trace)))
    expect(again.problems).toEqual([])
    expect(again.ok).toBe(true)
  })
})

describe("naive replication: the seed's second failure (stale read after a partition heals)", () => {
  const model = naiveReplication({ servers: 3, scenario: "partition" })

  it("is a linearizability violation with a 7-step shortest trace", () => {
    const r = bfs(model)
    const p = r.properties.find((x) => x.name === "linearizable")!
    expect(p.status).toBe("violated")
    expect(labels(model, p.path!)).toEqual([
      "deliver client1 → A: Write(Y)",
      "deliver A → client1: WriteOk",
      "partition: A cut off from B, C",
      "partition heals",
      'client2: timer "settled" fires',
      "deliver client2 → C: Read",
      "deliver C → client2: ReadOk(X)",
    ])
    const last = statesAlong(model, p.path!).at(-1)!
    const ops = operationsOf(last.history)
    // The write of Y completed before the read began, yet the read saw X.
    expect(ops[0]).toMatchObject({ input: { type: "write", value: "Y" }, output: null })
    expect(ops[1]).toMatchObject({ input: { type: "read" }, output: "X" })
    expect(ops[0]!.return!).toBeLessThan(ops[1]!.call)
  })

  it("needs the partition: without one every settled read sees the write", () => {
    const r = bfs(
      {
        ...model,
        actions: (s, out) => {
          model.actions(s, out)
          for (let i = out.length - 1; i >= 0; i--) if (out[i]!.kind === "isolate") out.splice(i, 1)
        },
      },
      { exhaustive: true },
    )
    expect(r.properties[0]!.status).toBe("holds")
    expect(r.properties.map((p) => p.status)).toEqual(["holds", "reached", "reached"])
  })

  it("is found by random walks and shrunk", () => {
    const s = simulate(model, { seed: 4, walks: 2000 })
    const p = s.properties[0]!
    expect(p.status).toBe("violated")
    expect(p.path!.actions.length).toBeLessThanOrEqual(8)
    const last = statesAlong(model, p.path!).at(-1)!
    expect(operationsOf(last.history).find((o) => o.input.type === "read")!.output).toBe("X")
  })
})
