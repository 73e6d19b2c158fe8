/**
 * The README's runnable example:
 *   npx tsx --conditions=@flotilla/source packages/checker/examples/quickstart.ts
 *
 * 1. A state-machine model (a lock shared by two processes without a real
 *    lock: check-then-set) and its shortest counterexample.
 * 2. An actor system (a client writing to a register server over a lossy
 *    network) checked for linearizability.
 * 3. The linearizability checker on its own, as a store's tests use it.
 */
import {
  type Actor,
  actorSystem,
  always,
  bfs,
  checkLinearizability,
  eventually,
  formatTrace,
  invoke,
  kvSpec,
  linearizable,
  type Model,
  registerSpec,
  respond,
  send,
  sometimes,
  traceOf,
} from "@flotilla/checker"

// 1. Two processes each check that the lock is free, then take it.
type Pc = "idle" | "checked" | "critical"
interface LockState {
  readonly pc: ReadonlyArray<Pc>
  readonly locked: boolean
}
export const naiveLock: Model<LockState, number> = {
  name: "naive-lock",
  initialStates: [{ pc: ["idle", "idle"], locked: false }],
  actions: (s, out) => {
    s.pc.forEach((pc, i) => {
      if (pc !== "critical") out.push(i)
    })
  },
  next: (s, i) => {
    const pc = s.pc[i]
    if (pc === "idle") {
      if (s.locked) return undefined
      return { ...s, pc: s.pc.map((p, j) => (j === i ? "checked" : p)) }
    }
    return { locked: true, pc: s.pc.map((p, j) => (j === i ? "critical" : p)) }
  },
  properties: [
    always("mutual exclusion", (s) => s.pc.filter((p) => p === "critical").length <= 1),
    sometimes("someone can enter", (s) => s.pc.includes("critical")),
    eventually("someone eventually enters", (s) => s.pc.includes("critical")),
  ],
  describeAction: (s, i) =>
    `process ${i} ${s.pc[i] === "idle" ? "sees the lock free" : "takes the lock"}`,
}

// 2. A client writes 1 then reads, at a server holding a register.
type S = { readonly value: number } | { readonly step: number }
type M =
  | { readonly type: "write"; readonly value: number }
  | { readonly type: "read" }
  | { readonly type: "ok"; readonly value: number | null }
type Op = { readonly type: "write"; readonly value: number } | { readonly type: "read" }
const server: Actor<S, M, never, never, Op, number | null> = {
  start: () => ({ state: { value: 0 }, commands: [] }),
  receive: (_, s, from, m) => {
    if (!("value" in s)) return undefined
    if (m.type === "write")
      return { state: { value: m.value }, commands: [send(from, { type: "ok", value: null })] }
    if (m.type === "read")
      return { state: s, commands: [send(from, { type: "ok", value: s.value })] }
    return undefined
  },
}
const client: Actor<S, M, never, never, Op, number | null> = {
  start: () => ({
    state: { step: 0 },
    commands: [invoke({ type: "write", value: 1 }), send(0, { type: "write", value: 1 })],
  }),
  receive: (_, s, __, m) => {
    if (!("step" in s) || m.type !== "ok") return undefined
    if (s.step === 0) {
      return {
        state: { step: 1 },
        commands: [respond(m.value), invoke({ type: "read" }), send(0, { type: "read" })],
      }
    }
    return { state: { step: 2 }, commands: [respond(m.value)] }
  },
}
export const register = actorSystem<S, M, never, never, Op, number | null>({
  name: "register",
  actors: [server, client],
  actorNames: ["server", "client"],
  network: { ordering: "unordered", lossy: true },
  properties: [linearizable(registerSpec(0))],
})

export const main = (): Array<string> => {
  const lines: Array<string> = []
  const lock = bfs(naiveLock)
  const broken = lock.properties.find((p) => p.status === "violated")!
  lines.push(`naive-lock: ${lock.unique} states, "${broken.name}" ${broken.status}`)
  lines.push(formatTrace(traceOf(naiveLock, { ...broken, path: broken.path! })))

  const reg = bfs(register, { exhaustive: true })
  lines.push(`register: ${reg.unique} states, linearizable ${reg.properties[0]!.status}`)

  // A store's history: client 2 reads "a" after client 1's put of it returned.
  const history = checkLinearizability(kvSpec<string, string>(), [
    { client: 1, input: { type: "put", key: "k", value: "a" }, output: null, call: 0, return: 2 },
    { client: 2, input: { type: "get", key: "k" }, output: "a", call: 3, return: 4 },
    { client: 3, input: { type: "get", key: "k" }, output: null, call: 1, return: 5 },
  ])
  lines.push(`history linearizable: ${history.linearizable}`)
  return lines
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(main().join("\n"))
