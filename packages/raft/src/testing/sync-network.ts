// A synchronous, in-order network of cores for unit tests (in the spirit of
// etcd-io/raft's `network` test helper): messages wait in one FIFO queue until
// `deliver` runs; writes are durable at once; links can be cut. Every command a
// node returns is recorded for inspection.
import {
  applyPersist,
  freezeDurable,
  type MutableDurable,
  mutableDurable,
} from "../core/durable.ts"
import { makeConfig } from "../core/quorum.ts"
import { bootstrap, createNode, type NodeOptions, step } from "../core/raft.ts"
import type { RaftState } from "../core/state.ts"
import type { Command, Config, Entry, Input, Message, NodeId, RaftOptions } from "../core/types.ts"

export interface SyncNode {
  state: RaftState
  durable: MutableDurable
  /** Entries applied, in order (an `ApplySnapshot` resets it to the snapshot's index). */
  applied: Entry[]
  /** Index the applied entries start after (the last snapshot applied). */
  appliedBase: number
  /** Every command returned, oldest first. */
  log: Command[]
}

export interface SyncNetworkOptions {
  readonly options?: Partial<Omit<RaftOptions, "id">>
  /** Initial configuration; defaults to all ids as voters. */
  readonly config?: Config
}

export class SyncNetwork {
  readonly nodes = new Map<NodeId, SyncNode>()
  readonly queue: Message[] = []
  /** Cut links, as "from->to". */
  readonly cut = new Set<string>()
  /** Messages handed to `deliver` so far, per type. */
  readonly delivered = new Map<string, number>()
  /** When set, only messages it accepts are delivered (others are dropped). */
  filter: ((m: Message) => boolean) | null = null
  private readonly baseOptions: Partial<Omit<RaftOptions, "id">>

  constructor(ids: ReadonlyArray<NodeId>, o: SyncNetworkOptions = {}) {
    this.baseOptions = o.options ?? {}
    const config = o.config ?? makeConfig(ids)
    ids.forEach((id, i) => {
      const durable = mutableDurable(bootstrap(config))
      this.nodes.set(id, {
        state: createNode(this.nodeOptions(id, i), freezeDurable(durable)),
        durable,
        applied: [],
        appliedBase: 0,
        log: [],
      })
    })
  }

  private nodeOptions(id: NodeId, i: number): NodeOptions {
    return { seed: i + 1, ...this.baseOptions, id }
  }

  node(id: NodeId): SyncNode {
    const n = this.nodes.get(id)
    if (n === undefined) throw new Error(`no node ${id}`)
    return n
  }

  state(id: NodeId): RaftState {
    return this.node(id).state
  }

  /** Steps one node and executes its commands (writes are durable at once). */
  step(id: NodeId, input: Input): Command[] {
    const n = this.node(id)
    const cmds = step(n.state, input)
    for (const c of cmds) n.log.push(c)
    for (const c of cmds) {
      switch (c.type) {
        case "Send":
          this.queue.push(c.message)
          break
        case "Persist":
          applyPersist(n.durable, c)
          for (const m of c.after) this.queue.push(m)
          if (c.ack !== null) this.step(id, { type: "Persisted", ...c.ack })
          break
        case "Apply":
          for (const e of c.entries) n.applied.push(e)
          break
        case "ApplySnapshot":
          n.applied = []
          n.appliedBase = c.snapshot.index
          break
        default:
          break
      }
    }
    return cmds
  }

  /** Delivers queued messages (and whatever they cause) until the queue is empty. */
  deliver(maxMessages = 100_000): number {
    let count = 0
    while (this.queue.length > 0) {
      if (++count > maxMessages) throw new Error("deliver: too many messages (livelock?)")
      const m = this.queue.shift()!
      if (this.cut.has(`${m.from}->${m.to}`)) continue
      if (this.filter !== null && !this.filter(m)) continue
      if (!this.nodes.has(m.to)) continue
      this.delivered.set(m.type, (this.delivered.get(m.type) ?? 0) + 1)
      this.step(m.to, m)
    }
    return count
  }

  /** Takes the queued messages out without delivering them. */
  drain(): Message[] {
    return this.queue.splice(0, this.queue.length)
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.step(id, { type: "Tick" })
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const id of this.nodes.keys()) this.step(id, { type: "Tick" })
  }

  /** `id` campaigns and everything is delivered. */
  campaign(id: NodeId): void {
    this.step(id, { type: "Campaign" })
    this.deliver()
  }

  propose(id: NodeId, data: Uint8Array | string, proposalId = 0): Command[] {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data
    return this.step(id, {
      type: "Propose",
      proposals: [{ id: proposalId, type: "Normal", data: bytes }],
    })
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue
      this.cut.add(`${id}->${other}`)
      this.cut.add(`${other}->${id}`)
    }
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}->${b}`)
    this.cut.add(`${b}->${a}`)
  }

  heal(): void {
    this.cut.clear()
  }

  /** Crash and restart from durable state; the state machine restarts from scratch. */
  restart(id: NodeId, options: Partial<Omit<RaftOptions, "id">> = {}): void {
    const n = this.node(id)
    const i = [...this.nodes.keys()].indexOf(id)
    n.state = createNode({ ...this.nodeOptions(id, i), ...options }, freezeDurable(n.durable))
    n.applied = []
    n.appliedBase = 0
  }

  /** Replaces a node's state (built by hand); its durable copy becomes what the state says is persisted. */
  replace(id: NodeId, state: RaftState): void {
    const n = this.node(id)
    n.state = state
    n.durable = {
      hardState: state.persisted,
      snapshot: state.snapshot,
      entries: state.entries.slice(0, Math.max(0, state.stableIndex - state.snapshot.index)),
    }
  }

  /** Campaigns until `id` leads (up to `rounds` elections); returns whether it does. */
  elect(id: NodeId, rounds = 5): boolean {
    for (let i = 0; i < rounds && this.node(id).state.role !== "Leader"; i++) this.campaign(id)
    return this.node(id).state.role === "Leader"
  }

  /** Adds a node that starts with an empty configuration (it learns one from the leader). */
  addNode(id: NodeId, config: Config = makeConfig([])): void {
    const durable = mutableDurable(bootstrap(config))
    this.nodes.set(id, {
      state: createNode(this.nodeOptions(id, this.nodes.size), freezeDurable(durable)),
      durable,
      applied: [],
      appliedBase: 0,
      log: [],
    })
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.state.role === "Leader").map((n) => n.state.id)
  }

  /** Data of applied normal entries as strings, skipping empty no-ops. */
  appliedData(id: NodeId): string[] {
    const dec = new TextDecoder()
    return this.node(id)
      .applied.filter((e) => e.type === "Normal" && e.data.byteLength > 0)
      .map((e) => (e.type === "Normal" ? dec.decode(e.data) : ""))
  }
}

/** Commands of a given type from a list. */
export const commandsOf = <T extends Command["type"]>(
  cmds: ReadonlyArray<Command>,
  type: T,
): Extract<Command, { type: T }>[] =>
  cmds.filter((c) => c.type === type) as Extract<Command, { type: T }>[]

/** All messages a command list sends, immediately or after its write. */
export const messagesOf = (cmds: ReadonlyArray<Command>): Message[] => {
  const out: Message[] = []
  for (const c of cmds) {
    if (c.type === "Send") out.push(c.message)
    else if (c.type === "Persist") for (const m of c.after) out.push(m)
  }
  return out
}
