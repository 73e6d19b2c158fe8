import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type Actor,
  actorSystem,
  type Command,
  cancelTimer,
  invoke,
  type NetworkSemantics,
  persist,
  respond,
  type SystemState,
  send,
  setTimer,
} from "../../src/core/actor.ts"
import { bfs } from "../../src/core/bfs.ts"
import { dfs } from "../../src/core/dfs.ts"
import { fingerprintHexOf } from "../../src/core/hash.ts"
import { linearizable, operationsOf } from "../../src/core/history.ts"
import { registerSpec } from "../../src/core/linearizability.ts"
import { always, sometimes } from "../../src/core/model.ts"
import { formatTrace, statesAlong, traceOf } from "../../src/core/trace.ts"
import { reachable } from "./models.ts"

// Ping-pong: A sends Ping(k), B answers Pong(k); A counts pongs and stops at N.
type PP = { readonly count: number }
type PPMsg = { readonly type: "Ping" | "Pong"; readonly k: number }

const pingPong = (rounds: number, network: NetworkSemantics) => {
  const a: Actor<PP, PPMsg> = {
    start: () => ({ state: { count: 0 }, commands: [send(1, { type: "Ping", k: 0 })] }),
    receive: (_, s, __, m) => {
      // Old (duplicated) pongs are ignored.
      if (m.type !== "Pong" || m.k !== s.count) return undefined
      const count = s.count + 1
      return {
        state: { count },
        commands: count < rounds ? [send(1, { type: "Ping", k: count })] : [],
      }
    },
  }
  const b: Actor<PP, PPMsg> = {
    start: () => ({ state: { count: 0 }, commands: [] }),
    receive: (_, s, __, m) => {
      if (m.type !== "Ping") return undefined
      return {
        state: { count: Math.max(s.count, m.k + 1) },
        commands: [send(0, { type: "Pong", k: m.k })],
      }
    },
  }
  return actorSystem<PP, PPMsg>({
    name: "ping-pong",
    actors: [a, b],
    actorNames: ["A", "B"],
    network,
    properties: [sometimes("done", (s) => s.actors[0]?.count === rounds)],
  })
}

describe("actor systems: network semantics", () => {
  it("a reliable network gives one state per message exchanged", () => {
    for (const rounds of [1, 2, 3, 5]) {
      const r = bfs(pingPong(rounds, { ordering: "unordered" }), { exhaustive: true })
      expect(r.unique).toBe(2 * rounds + 1)
      expect(r.maxDepth).toBe(2 * rounds)
      expect(r.properties[0]!.status).toBe("reached")
    }
  })

  it("a lossy network adds one dead end per message that can be lost", () => {
    for (const rounds of [1, 2, 3]) {
      const model = pingPong(rounds, { ordering: "unordered", lossy: true })
      expect(bfs(model, { exhaustive: true }).unique).toBe(4 * rounds + 1)
      expect(dfs(model, { exhaustive: true }).unique).toBe(4 * rounds + 1)
    }
  })

  it("a duplicating network keeps delivered messages in flight", () => {
    const model = pingPong(3, { ordering: "unordered", duplicating: true })
    const r = bfs(model, { exhaustive: true })
    // Redelivering an old message changes nothing, so the states are the
    // reliable ones; but messages accumulate instead of disappearing.
    expect(r.unique).toBe(7)
    const end = statesAlong(model, r.properties[0]!.path!).at(-1)!
    expect(end.network.map((e) => `${e.msg.type}${e.msg.k}`).sort()).toEqual([
      "Ping0",
      "Ping1",
      "Ping2",
      "Pong0",
      "Pong1",
      "Pong2",
    ])
  })

  // A sends 1 then 2 to B on start; B records the order of arrival.
  const order = (network: NetworkSemantics) =>
    actorSystem<ReadonlyArray<number>, number>({
      name: "order",
      actors: [
        {
          start: () => ({ state: [], commands: [send(1, 1), send(1, 2)] }),
          receive: () => undefined,
        },
        {
          start: () => ({ state: [], commands: [] }),
          receive: (_, s, __, m) => ({ state: [...s, m], commands: [] }),
        },
      ],
      network,
      properties: [always("in order", (s) => s.actors[1]!.join() !== "2,1")],
    })

  it("an ordered network delivers each channel in sending order", () => {
    const r = bfs(order({ ordering: "ordered" }), { exhaustive: true })
    expect(r.unique).toBe(3)
    expect(r.properties[0]!.status).toBe("holds")
  })

  it("an unordered network may reorder", () => {
    const r = bfs(order({ ordering: "unordered" }), { exhaustive: true })
    expect(r.unique).toBe(5)
    expect(r.properties[0]!.status).toBe("violated")
    expect(r.properties[0]!.path!.actions).toHaveLength(2)
  })

  it("rejects an ordered duplicating network and unknown actor ids", () => {
    expect(() => order({ ordering: "ordered", duplicating: true })).toThrow(/cannot be ordered/)
    expect(() => actorSystem({ name: "x", actors: [], properties: [] })).toThrow(
      /at least one actor/,
    )
    expect(() =>
      actorSystem<number, number>({
        name: "x",
        actors: [{ start: () => ({ state: 0, commands: [] }), receive: () => undefined }],
        crashes: { max: 1, actors: [3] },
        properties: [],
      }),
    ).toThrow("crashes/partitions: actor id 3 is not one of 0..0")
  })
})

// A sends 1, 2 and 3 to B at once; B takes only numbers above the highest it
// took, so a number at or below it is dead and (with `discards`) removed.
const highest = (network: NetworkSemantics, discard: boolean) =>
  actorSystem<number, number>({
    name: "highest",
    actors: [
      {
        start: () => ({ state: 0, commands: [send(1, 1), send(1, 2), send(1, 3)] }),
        receive: () => undefined,
      },
      {
        start: () => ({ state: 0, commands: [] }),
        receive: (_, s, __, m) => ({ state: Math.max(s, m), commands: [] }),
        accepts: (_, s, __, m) => m > s,
        ...(discard ? { discards: (_: number, s: number, __: number, m: number) => m <= s } : {}),
      },
    ],
    network,
    properties: [
      always("B only grows", (s) => s.actors[1]! <= 3),
      sometimes("B took 3", (s) => s.actors[1] === 3),
    ],
  })

describe("actor systems: dead messages", () => {
  it("removes messages the receiver can never take, with the same outcomes", () => {
    // By hand: B's highest h and the numbers in flight. Kept: (0,123) (1,23)
    // (2,13) (3,12) (2,3) (3,2) (3,1) (3,-). Discarded: (0,123) (1,23) (2,3) (3,-).
    const kept = bfs(highest({ ordering: "unordered" }, false), { exhaustive: true })
    const removed = bfs(highest({ ordering: "unordered" }, true), { exhaustive: true })
    expect(kept.unique).toBe(8)
    expect(removed.unique).toBe(4)
    expect(removed.properties.map((p) => p.status)).toEqual(kept.properties.map((p) => p.status))
    const model = highest({ ordering: "unordered" }, true)
    const end = statesAlong(model, removed.properties[1]!.path!).at(-1)!
    expect(end.network).toHaveLength(0)
    // Traces say why a message left the network.
    const text = formatTrace(
      traceOf(model, { ...removed.properties[1]!, path: removed.properties[1]!.path! }),
    )
    expect(text).toContain("drops dead 0 → 1: 1")
    expect(text).not.toContain("lost")
  })

  // A sends numbers to B and C; B and C keep the highest number they took
  // and take only higher ones; B forwards what it takes, plus one, to C when
  // `forward` says so. A message at or below its receiver's highest is dead.
  const relay = (
    toB: ReadonlyArray<number>,
    toC: ReadonlyArray<number>,
    forward: number,
    network: NetworkSemantics,
    discard: boolean,
  ) => {
    const keeper = (
      sends: (m: number) => ReadonlyArray<Command<number>>,
    ): Actor<number, number> => ({
      start: () => ({ state: 0, commands: [] }),
      receive: (_, s, __, m) => ({ state: Math.max(s, m), commands: sends(m) }),
      accepts: (_, s, __, m) => m > s,
      ...(discard ? { discards: (_: number, s: number, __: number, m: number) => m <= s } : {}),
    })
    return actorSystem<number, number>({
      name: "relay",
      actors: [
        {
          start: () => ({
            state: 0,
            commands: [...toB.map((m) => send(1, m)), ...toC.map((m) => send(2, m))],
          }),
          receive: () => undefined,
        },
        keeper((m) => (((forward >> m) & 1) === 1 ? [send(2, m + 1)] : [])),
        keeper(() => []),
      ],
      network,
      properties: [
        always("C stays below 4", (s) => s.actors[2]! < 4),
        sometimes("C took 3", (s) => s.actors[2] === 3),
        sometimes("B and C took the same", (s) => s.actors[1]! > 0 && s.actors[1] === s.actors[2]),
      ],
    })
  }
  // Every reachable combination of actor states (the network aside).
  const actorStates = (model: ReturnType<typeof relay>): Set<string> =>
    reachable(
      model,
      (t) => fingerprintHexOf([t.actors, t.network.map((e) => [e.dst, e.msg])]),
      (s) => s.actors.join(","),
    ).projections

  it("never changes what actors can reach, nor any outcome (random relays and networks)", () => {
    const networks: Array<NetworkSemantics> = [
      { ordering: "unordered" },
      { ordering: "unordered", dedupe: true },
      { ordering: "unordered", lossy: true },
      { ordering: "unordered", duplicating: true },
    ]
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 2 }),
        fc.integer({ min: 0, max: 31 }),
        fc.constantFrom(...networks),
        (toB, toC, forward, network) => {
          const kept = relay(toB, toC, forward, network, false)
          const removed = relay(toB, toC, forward, network, true)
          expect([...actorStates(removed)].sort()).toEqual([...actorStates(kept)].sort())
          const a = bfs(kept, { exhaustive: true })
          const b = bfs(removed, { exhaustive: true })
          expect(b.properties.map((p) => p.status)).toEqual(a.properties.map((p) => p.status))
          expect(b.unique).toBeLessThanOrEqual(a.unique)
        },
      ),
      { numRuns: 60, seed: 4 },
    )
  })

  it("leaves FIFO channels alone (a message there is delivered in order anyway)", () => {
    const kept = bfs(highest({ ordering: "ordered" }, false), { exhaustive: true })
    const removed = bfs(highest({ ordering: "ordered" }, true), { exhaustive: true })
    expect(removed.unique).toBe(kept.unique)
  })
})

// A counter that ticks to 3, persisting only even values.
type Tick = { readonly n: number; readonly restarted: boolean }
const ticker = (restart: boolean) => {
  const actor: Actor<Tick, never, "tick", number> = {
    start: (_, persisted) => ({
      state: { n: persisted ?? 0, restarted: persisted !== undefined },
      commands: [setTimer("tick")],
    }),
    receive: () => undefined,
    timeout: (_, s) => {
      const n = s.n + 1
      const commands: Array<Command<never, "tick", number>> = n % 2 === 0 ? [persist(n)] : []
      if (n < 3) commands.push(setTimer("tick"))
      return { state: { ...s, n }, commands }
    },
  }
  return actorSystem<Tick, never, "tick", number>({
    name: "ticker",
    actors: [actor],
    crashes: { max: 1, actors: [0], restart },
    properties: [
      always("restart resumes from what was persisted", (s) => {
        const a = s.actors[0]
        return a === undefined || !a.restarted || a.n >= (s.persisted[0] ?? 0)
      }),
      sometimes("restarted at 2", (s) => s.actors[0]?.restarted === true && s.actors[0].n === 2),
      sometimes(
        "lost an unpersisted tick",
        (s) =>
          s.actors[0]?.restarted === true &&
          s.persisted[0] === 2 &&
          s.actors[0].n === 2 &&
          s.crashes === 1,
      ),
    ],
  })
}

describe("actor systems: crashes and timers", () => {
  it("a crash loses everything but what was persisted, once per budget", () => {
    const model = ticker(true)
    const r = bfs(model, { exhaustive: true })
    expect(r.properties.map((p) => p.status)).toEqual(["holds", "reached", "reached"])
    // Running: n = 0..3 (4 states). Crashed: with nothing persisted (from n = 0, 1)
    // or with 2 persisted (from n = 2, 3): 2 states. Restarted from nothing:
    // n = 0..3 again, now with one crash used (4); restarted from 2: n = 2, 3 (2).
    // The crash budget of one allows no second crash.
    expect(r.unique).toBe(12)
    const example = statesAlong(model, r.properties[1]!.path!)
    expect(example.map((s) => (s.actors[0] === undefined ? "down" : s.actors[0].n))).toEqual([
      0,
      1,
      2,
      "down",
      2,
    ])
  })

  it("without restarts a crashed actor stays down", () => {
    const r = bfs(ticker(false), { exhaustive: true })
    expect(r.properties[1]!.status).toBe("unreached")
    // n = 0..3 running, then crashed with nothing or 2 persisted: 4 + 2.
    expect(r.unique).toBe(6)
  })

  it("quiet timers fire only when nothing is in flight", () => {
    type S = { readonly fired: boolean; readonly inFlight: number }
    const model = actorSystem<S, "m", "quiet" | "loud">({
      name: "quiet",
      actors: [
        {
          start: () => ({
            state: { fired: false, inFlight: 2 },
            commands: [
              send(1, "m"),
              send(1, "m"),
              setTimer("quiet"),
              setTimer("loud"),
              cancelTimer("loud"),
            ],
          }),
          receive: () => undefined,
          timeout: (_, s) => ({ state: { ...s, fired: true }, commands: [] }),
        },
        {
          start: () => ({ state: { fired: false, inFlight: 0 }, commands: [] }),
          receive: (_, s) => ({ state: s, commands: [] }),
        },
      ],
      quietTimer: (t) => t === "quiet",
      properties: [
        always("fires only when quiet", (s) => !s.actors[0]!.fired || s.network.length === 0),
      ],
    })
    const r = bfs(model)
    expect(r.properties[0]!.status).toBe("holds")
    // Two identical messages in flight: deliver one, deliver the other, then the timer.
    expect(r.unique).toBe(4)
    expect(r.maxDepth).toBe(3)
  })
})

describe("actor systems: client histories", () => {
  // One server holding a register; two clients each write once then read.
  type S = { readonly value: number } | { readonly step: number }
  type M =
    | { readonly type: "w"; readonly v: number }
    | { readonly type: "r" }
    | { readonly type: "ok"; readonly v: number | null }
  type I = { type: "write"; value: number } | { type: "read" }
  const client = (v: number): Actor<S, M, never, never, I, number | null> => ({
    start: () => ({
      state: { step: 0 },
      commands: [invoke({ type: "write", value: v }), send(0, { type: "w", v })],
    }),
    receive: (_, s, __, m) => {
      if (!("step" in s) || m.type !== "ok") return undefined
      if (s.step === 0) {
        return {
          state: { step: 1 },
          commands: [respond(m.v), invoke({ type: "read" }), send(0, { type: "r" })],
        }
      }
      return { state: { step: 2 }, commands: [respond(m.v)] }
    },
  })
  const server = (stale: boolean): Actor<S, M, never, never, I, number | null> => ({
    start: () => ({ state: { value: 0 }, commands: [] }),
    receive: (_, s, from, m) => {
      if (!("value" in s)) return undefined
      if (m.type === "w")
        return { state: { value: m.v }, commands: [send(from, { type: "ok", v: null })] }
      if (m.type === "r")
        return { state: s, commands: [send(from, { type: "ok", v: stale ? 0 : s.value })] }
      return undefined
    },
  })
  const system = (stale: boolean) =>
    actorSystem<S, M, never, never, I, number | null>({
      name: "register",
      actors: [server(stale), client(1), client(2)],
      properties: [linearizable(registerSpec(0))],
    })

  it("records invocations and returns and checks them for linearizability", () => {
    const good = bfs(system(false))
    expect(good.properties[0]!.status).toBe("holds")
    const bad = bfs(system(true))
    expect(bad.properties[0]!.status).toBe("violated")
    const model = system(true)
    const last = statesAlong(model, bad.properties[0]!.path!).at(-1)! as SystemState<
      S,
      M,
      never,
      never,
      I,
      number | null
    >
    const ops = operationsOf(last.history)
    expect(ops.some((o) => o.input.type === "read" && o.output === 0)).toBe(true)
  })

  it("rejects a client with two outstanding operations", () => {
    expect(() =>
      operationsOf([
        { kind: "invoke", client: 1, input: "a" },
        { kind: "invoke", client: 1, input: "b" },
      ]),
    ).toThrow("history[1]: client 1 invoked an operation while one was outstanding")
    expect(() => operationsOf([{ kind: "return", client: 1, output: "a" }])).toThrow(
      "history[0]: client 1 returned without an invocation",
    )
  })
})
