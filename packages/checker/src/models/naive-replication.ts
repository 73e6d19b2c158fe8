import {
  type Actor,
  actorSystem,
  type Command,
  type Id,
  invoke,
  persist,
  respond,
  type SystemState,
  send,
  setTimer,
} from "../core/actor.ts"
import { linearizable } from "../core/history.ts"
import { type RegisterInput, type RegisterOutput, registerSpec } from "../core/linearizability.ts"
import { sometimes } from "../core/model.ts"

/**
 * The seed's "Not Raft" system: a node receives a write, writes it to disk,
 * acknowledges it and broadcasts the new value; receivers overwrite their
 * value with whatever arrives. Reads answer from the local value.
 *
 * Two scenarios reproduce the seed's two failures:
 * - `concurrent-writes`: client 1 writes Y at A while client 2 writes Z at B;
 *   once everything has settled each client reads its node. When A's update
 *   reaches B after B wrote Z and B's reaches A after A wrote Y, the replicas
 *   diverge for good and the reads disagree.
 * - `partition`: client 1 writes Y at A; C may be cut off by a partition,
 *   losing the broadcast; after the partition heals and the system settles,
 *   client 2 reads C and gets the stale X.
 * Both show up as violations of linearizability of the clients' history.
 * Reads wait for the system to settle (a quiet timer), so the only failures
 * found are these two and not the trivial read that races a broadcast.
 */

export type Value = string

export type NaiveMessage =
  | { readonly type: "Write"; readonly value: Value }
  | { readonly type: "Read" }
  | { readonly type: "WriteOk" }
  | { readonly type: "ReadOk"; readonly value: Value }
  | { readonly type: "Update"; readonly value: Value }

export type NaiveState =
  | { readonly role: "server"; readonly value: Value }
  | { readonly role: "client"; readonly next: number; readonly waiting: boolean }

/** A client's scripted operation. `settled` operations wait until nothing is in flight. */
export interface ClientOp {
  readonly input: RegisterInput<Value>
  readonly server: Id
  readonly settled: boolean
}

export type Scenario = "concurrent-writes" | "partition"

export interface NaiveOptions {
  readonly servers: number
  readonly scenario: Scenario
}

type Timer = "settled"
type Input = RegisterInput<Value>
type Output = RegisterOutput<Value>
type Cmd = Command<NaiveMessage, Timer, Value, Input, Output>
export type NaiveSystemState = SystemState<NaiveState, NaiveMessage, Timer, Value, Input, Output>

const INITIAL: Value = "X"

const server = (servers: number): Actor<NaiveState, NaiveMessage, Timer, Value, Input, Output> => ({
  start: (_, persisted) => ({
    state: { role: "server", value: persisted ?? INITIAL },
    commands: [],
  }),
  receive: (id, state, from, msg) => {
    if (state.role !== "server") return undefined
    switch (msg.type) {
      case "Write": {
        // Write to disk, acknowledge, broadcast: no coordination at all.
        const commands: Array<Cmd> = [persist(msg.value), send(from, { type: "WriteOk" })]
        for (let peer = 0; peer < servers; peer++) {
          if (peer !== id) commands.push(send(peer, { type: "Update", value: msg.value }))
        }
        return { state: { role: "server", value: msg.value }, commands }
      }
      case "Update":
        return {
          state: { role: "server", value: msg.value },
          commands: [persist(msg.value)],
        }
      case "Read":
        return { state, commands: [send(from, { type: "ReadOk", value: state.value })] }
      default:
        return undefined
    }
  },
})

const requestOf = (input: Input): NaiveMessage =>
  input.type === "write" ? { type: "Write", value: input.value } : { type: "Read" }

/** Issues operation `index` of the script now, or arms the settled timer. */
const issue = (script: ReadonlyArray<ClientOp>, index: number): Step => {
  const op = script[index]
  if (op === undefined)
    return { state: { role: "client", next: index, waiting: false }, commands: [] }
  if (op.settled) {
    return {
      state: { role: "client", next: index, waiting: false },
      commands: [setTimer("settled")],
    }
  }
  return {
    state: { role: "client", next: index + 1, waiting: true },
    commands: [invoke(op.input), send(op.server, requestOf(op.input))],
  }
}

type Step = { readonly state: NaiveState; readonly commands: ReadonlyArray<Cmd> }

const client = (
  script: ReadonlyArray<ClientOp>,
): Actor<NaiveState, NaiveMessage, Timer, Value, Input, Output> => ({
  start: () => issue(script, 0),
  receive: (_, state, __, msg) => {
    if (state.role !== "client" || !state.waiting) return undefined
    const output: Output | undefined =
      msg.type === "WriteOk" ? null : msg.type === "ReadOk" ? msg.value : undefined
    if (output === undefined) return undefined
    const after = issue(script, state.next)
    return { state: after.state, commands: [respond(output), ...after.commands] }
  },
  timeout: (_, state) => {
    if (state.role !== "client") return undefined
    const op = script[state.next]!
    return {
      state: { role: "client", next: state.next + 1, waiting: true },
      commands: [invoke(op.input), send(op.server, requestOf(op.input))],
    }
  },
})

const serverName = (i: number): string => String.fromCharCode(65 + i)

/** Builds the model. */
export const naiveReplication = (options: NaiveOptions) => {
  const { servers, scenario } = options
  const last = servers - 1
  const scripts: ReadonlyArray<ReadonlyArray<ClientOp>> =
    scenario === "concurrent-writes"
      ? [
          [
            { input: { type: "write", value: "Y" }, server: 0, settled: false },
            { input: { type: "read" }, server: 0, settled: true },
          ],
          [
            { input: { type: "write", value: "Z" }, server: 1, settled: false },
            { input: { type: "read" }, server: 1, settled: true },
          ],
        ]
      : [
          [{ input: { type: "write", value: "Y" }, server: 0, settled: false }],
          [{ input: { type: "read" }, server: last, settled: true }],
        ]
  const serverIds = Array.from({ length: servers }, (_, i) => i)
  const actors = [...serverIds.map(() => server(servers)), ...scripts.map((s) => client(s))]
  const names = [...serverIds.map(serverName), ...scripts.map((_, i) => `client${i + 1}`)]
  const isReturn = (s: NaiveSystemState, test: (o: Output) => boolean) =>
    s.history.some((e) => e.kind === "return" && test(e.output))
  return actorSystem<NaiveState, NaiveMessage, Timer, Value, Input, Output>({
    name: "naive-replication",
    actors,
    actorNames: names,
    network: { ordering: "unordered" },
    ...(scenario === "partition" ? { partitions: { max: 1, actors: serverIds } } : {}),
    quietTimer: () => true,
    properties: [
      linearizable(registerSpec<Value>(INITIAL)),
      sometimes("a write is acknowledged", (s) => isReturn(s, (o) => o === null)),
      sometimes("a read returns", (s) => isReturn(s, (o) => typeof o === "string")),
    ],
    describe: {
      state: (s, id) => {
        if (s.role === "server") return `value ${s.value}`
        const script = scripts[id - servers]!
        const show = (op: ClientOp) =>
          `${op.input.type === "write" ? `write ${op.input.value} to` : "read"} ${serverName(op.server)}`
        if (s.waiting) return `awaiting ${show(script[s.next - 1]!)}`
        const op = script[s.next]
        if (op === undefined) return "done"
        return op.settled ? `will ${show(op)} once settled` : `will ${show(op)}`
      },
      persisted: (v) => v,
      msg: (m) => ("value" in m ? `${m.type}(${m.value})` : m.type),
      input: (i) => (i.type === "write" ? `write(${i.value})` : i.type),
      output: (o) => (o === null ? "ok" : String(o)),
    },
  })
}
