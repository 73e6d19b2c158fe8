// An adversarial scheduler over real cores: every nondeterministic choice
// (which message to deliver, drop or duplicate, which node ticks, crashes,
// restarts, compacts, proposes, changes membership, reads or hands over
// leadership, which pending disk write completes) comes from a list of numbers,
// so fast-check can generate and shrink schedules. There is no time: any
// message can be delayed arbitrarily, which is harsher than the simulation.
//
// After every action the safety properties are checked: Election Safety,
// Log Matching, Leader Completeness, State Machine Safety, and that a
// ReadIndex answer covers everything applied anywhere before the read began.
// The ordering contract is checked as messages leave a node: its durable state
// must already justify every vote, every acknowledged entry, every installed
// snapshot it reports.
import {
  applyPersist,
  freezeDurable,
  type MutableDurable,
  mutableDurable,
} from "../core/durable.ts"
import { termAt } from "../core/log.ts"
import { makeConfig } from "../core/quorum.ts"
import { bootstrap, createNode, step } from "../core/raft.ts"
import type { RaftState } from "../core/state.ts"
import type {
  Command,
  ConfChange,
  Entry,
  Input,
  Message,
  Mutation,
  NodeId,
  Persist,
  RaftOptions,
} from "../core/types.ts"

export interface ChaosOptions {
  /** Initial voters. */
  readonly voters: number
  /** Extra nodes that may be added by membership changes. */
  readonly spares?: number
  readonly mutations?: ReadonlyArray<Mutation>
  readonly raft?: Partial<Omit<RaftOptions, "id" | "mutations">>
  /** Weight of membership changes among actions (0 disables them). */
  readonly membership?: boolean
}

interface ChaosNode {
  readonly id: NodeId
  state: RaftState | null
  durable: MutableDurable
  writes: Persist[]
  applied: number
  /** Reads issued here: context -> the highest index applied anywhere when it began. */
  reads: Map<number, number>
  incarnation: number
}

/** The outcome of a run: the first violated property, if any, and what happened. */
export interface ChaosResult {
  readonly violation: string | null
  readonly actions: number
  readonly maxTerm: number
  readonly maxCommitted: number
  readonly trace: ReadonlyArray<string>
}

const enc = new TextEncoder()

/**
 * Action kinds by choice % 100: deliver one of the three oldest messages 42,
 * deliver any message 8, drop 2, duplicate 2, tick 12, disk 14, propose 8,
 * crash/restart 2, compact 3, read/transfer 3, membership 4.
 */
const KINDS: number[] = (() => {
  const weights: [number, number][] = [
    [0, 42],
    [1, 8],
    [3, 2],
    [4, 2],
    [5, 12],
    [7, 14],
    [8, 8],
    [9, 2],
    [10, 3],
    [11, 3],
    [12, 4],
  ]
  const out: number[] = []
  for (const [k, w] of weights) for (let i = 0; i < w; i++) out.push(k)
  return out
})()
const entryKey = (e: Entry): string =>
  e.type === "Normal"
    ? `${e.term}:${[...e.data].join(".")}`
    : `${e.term}:conf:${JSON.stringify(e.change)}`

export class Chaos {
  readonly nodes: ChaosNode[] = []
  readonly network: Message[] = []
  /** Index -> key of the entry applied there (the first node to apply it decides). */
  readonly committed = new Map<number, string>()
  readonly leaderOfTerm = new Map<number, NodeId>()
  readonly trace: string[] = []
  violation: string | null = null
  private readonly universe: NodeId[]
  private counter = 0
  private readonly membership: boolean

  constructor(o: ChaosOptions) {
    const spares = o.spares ?? 0
    this.membership = o.membership ?? spares > 0
    this.universe = Array.from({ length: o.voters + spares }, (_, i) => `n${i}`)
    const voters = this.universe.slice(0, o.voters)
    for (const id of this.universe) {
      // Spares start with no configuration and learn it from a leader.
      const durable = mutableDurable(bootstrap(makeConfig(voters.includes(id) ? voters : [])))
      const n: ChaosNode = {
        id,
        state: null,
        durable,
        writes: [],
        applied: 0,
        reads: new Map(),
        incarnation: 0,
      }
      this.nodes.push(n)
      this.boot(n, o)
    }
    this.opts = o
  }

  private readonly opts: ChaosOptions

  private boot(n: ChaosNode, o: ChaosOptions): void {
    n.state = createNode(
      {
        electionTick: 4,
        heartbeatTick: 1,
        snapshotChunkBytes: 3,
        maxMsgBytes: 40,
        maxInflightMsgs: 3,
        ...o.raft,
        mutations: o.mutations ?? [],
        id: n.id,
        seed: this.universe.indexOf(n.id) * 131 + n.incarnation,
      },
      freezeDurable(n.durable),
    )
    n.writes = []
    n.applied = 0
    n.reads = new Map()
  }

  private note(line: string): void {
    this.trace.push(line)
    if (this.trace.length > 400) this.trace.shift()
  }

  private fail(msg: string): void {
    if (this.violation === null) this.violation = msg
  }

  private maxApplied(): number {
    let i = 0
    while (this.committed.has(i + 1)) i++
    return i
  }

  // -------------------------------------------------------------------------
  // Executing a node's commands

  private stepNode(n: ChaosNode, input: Input): void {
    const s = n.state
    if (s === null) return
    const cmds = step(s, input)
    this.execute(n, cmds)
    this.checkNode(n)
  }

  private execute(n: ChaosNode, cmds: ReadonlyArray<Command>): void {
    for (const c of cmds) {
      switch (c.type) {
        case "Send":
          this.checkDurable(n, c.message)
          this.network.push(c.message)
          break
        case "Persist":
          n.writes.push(c)
          break
        case "Apply":
          for (const e of c.entries) this.apply(n, e)
          break
        case "ApplySnapshot":
          if (c.snapshot.index < n.applied)
            this.fail(`${n.id} applied a snapshot behind its state machine`)
          if (!this.committed.has(c.snapshot.index) && c.snapshot.index > 0)
            this.fail(`${n.id} received a snapshot of uncommitted index ${c.snapshot.index}`)
          n.applied = c.snapshot.index
          break
        case "ReadReady": {
          const floor = n.reads.get(c.context)
          n.reads.delete(c.context)
          if (floor !== undefined && c.index < floor)
            this.fail(
              `linearizability: read ${c.context} on ${n.id} got index ${c.index} < ${floor} applied before it began`,
            )
          break
        }
        case "ReadDropped":
          n.reads.delete(c.context)
          break
        default:
          break
      }
    }
  }

  private apply(n: ChaosNode, e: Entry): void {
    if (e.index !== n.applied + 1) this.fail(`${n.id} applied ${e.index} after ${n.applied}`)
    n.applied = e.index
    const key = entryKey(e)
    const prev = this.committed.get(e.index)
    if (prev === undefined) this.committed.set(e.index, key)
    else if (prev !== key)
      this.fail(`State Machine Safety: index ${e.index} applied as ${prev} and as ${key}`)
  }

  private completeWrite(n: ChaosNode): void {
    const p = n.writes.shift()
    if (p === undefined) return
    applyPersist(n.durable, p)
    for (const m of p.after) {
      this.checkDurable(n, m)
      this.network.push(m)
    }
    if (p.ack !== null) this.stepNode(n, { type: "Persisted", ...p.ack })
  }

  // -------------------------------------------------------------------------
  // Invariants

  /** The ordering contract: what a message promises must be on disk when it leaves. */
  private checkDurable(n: ChaosNode, m: Message): void {
    const d = n.durable
    const last = d.snapshot.index + d.entries.length
    switch (m.type) {
      case "RequestVote":
        if (!m.preVote && (d.hardState.term !== m.term || d.hardState.vote !== n.id))
          this.fail(
            `ordering: ${n.id} asked for votes in term ${m.term} before its term and self-vote were durable`,
          )
        return
      case "RequestVoteResponse":
        if (
          m.voteGranted &&
          !m.preVote &&
          (d.hardState.term !== m.term || d.hardState.vote !== m.to)
        )
          this.fail(
            `ordering: ${n.id} granted its vote to ${m.to} in term ${m.term} before the vote was durable`,
          )
        return
      case "AppendEntriesResponse":
        if (m.success && m.matchIndex > last)
          this.fail(
            `ordering: ${n.id} acknowledged index ${m.matchIndex} with only ${last} durable`,
          )
        return
      case "InstallSnapshotResponse":
        if (m.done && m.success && m.lastIncludedIndex > last)
          this.fail(
            `ordering: ${n.id} reported snapshot ${m.lastIncludedIndex} installed with only ${last} durable`,
          )
        return
      default:
        return
    }
  }

  private checkNode(n: ChaosNode): void {
    const s = n.state
    if (s === null || s.role !== "Leader") return
    const known = this.leaderOfTerm.get(s.term)
    if (known === undefined) {
      this.leaderOfTerm.set(s.term, s.id)
      // Leader Completeness: every entry applied anywhere is in the new leader's log.
      for (let i = s.snapshot.index + 1; this.committed.has(i); i++) {
        if (
          termAt(s, i) < 0 ||
          entryKey(s.entries[i - s.snapshot.index - 1]!) !== this.committed.get(i)
        ) {
          this.fail(
            `Leader Completeness: ${s.id} leads term ${s.term} without committed index ${i}`,
          )
          return
        }
      }
    } else if (known !== s.id) {
      this.fail(`Election Safety: ${known} and ${s.id} both lead term ${s.term}`)
    }
  }

  /** Log Matching over live nodes. */
  checkLogs(): void {
    const live = this.nodes.flatMap((n) => (n.state === null ? [] : [n.state]))
    for (let a = 0; a < live.length; a++)
      for (let b = a + 1; b < live.length; b++) {
        const x = live[a]!
        const y = live[b]!
        const lo = Math.max(x.snapshot.index, y.snapshot.index) + 1
        const hi = Math.min(
          x.snapshot.index + x.entries.length,
          y.snapshot.index + y.entries.length,
        )
        let matched = false
        for (let i = hi; i >= lo; i--) {
          const ex = x.entries[i - x.snapshot.index - 1]!
          const ey = y.entries[i - y.snapshot.index - 1]!
          if (matched || ex.term === ey.term) {
            matched = true
            if (entryKey(ex) !== entryKey(ey)) {
              this.fail(`Log Matching: ${x.id} and ${y.id} differ at index ${i}`)
              return
            }
          }
        }
      }
  }

  // -------------------------------------------------------------------------
  // Actions

  /**
   * Performs the action chosen by `choice` (any non-negative integer; its value
   * mod 100 picks the kind, weighted toward deliveries and disk completions so
   * that runs make progress) with `arg` choosing among candidates.
   */
  act(choice: number, arg: number): void {
    const live = this.nodes.filter((n) => n.state !== null)
    const pick = <T>(xs: ReadonlyArray<T>): T | undefined =>
      xs.length === 0 ? undefined : xs[arg % xs.length]
    let kind = KINDS[choice % 100]!
    if (kind === 12 && !this.membership) kind = 0
    switch (kind) {
      case 0:
      case 1: {
        // Deliver a message: mostly among the oldest (bounded reordering), sometimes any.
        if (this.network.length === 0) break
        const i = arg % (kind === 0 ? Math.min(3, this.network.length) : this.network.length)
        const m = this.network.splice(i, 1)[0]!
        const to = this.nodes.find((n) => n.id === m.to)
        this.note(`deliver ${m.type} ${m.from}->${m.to} t${m.term}`)
        if (to !== undefined) this.stepNode(to, m)
        break
      }
      case 3: {
        if (this.network.length === 0) break
        const m = this.network.splice(arg % this.network.length, 1)[0]!
        this.note(`drop ${m.type} ${m.from}->${m.to}`)
        break
      }
      case 4: {
        if (this.network.length === 0) break
        const m = this.network[arg % this.network.length]!
        this.network.push(m)
        this.note(`duplicate ${m.type} ${m.from}->${m.to}`)
        break
      }
      case 5: {
        const n = pick(live)
        if (n === undefined) break
        this.note(`tick ${n.id}`)
        this.stepNode(n, { type: "Tick" })
        break
      }
      case 7: {
        const n = pick(live.filter((x) => x.writes.length > 0))
        if (n === undefined) break
        this.note(`disk ${n.id}`)
        this.completeWrite(n)
        break
      }
      case 8: {
        const n = pick(live)
        if (n === undefined) break
        const data = enc.encode(`v${++this.counter}`)
        this.note(`propose ${n.id}`)
        this.stepNode(n, {
          type: "Propose",
          proposals: [{ id: this.counter, type: "Normal", data }],
        })
        break
      }
      case 9: {
        // Restart a crashed node if there is one; otherwise crash one (losing
        // its unwritten state), keeping at most two down at once.
        const down = this.nodes.filter((x) => x.state === null)
        if (down.length > 0 && (down.length >= 2 || arg % 4 !== 0)) {
          const n = down[arg % down.length]!
          this.note(`restart ${n.id}`)
          this.boot(n, this.opts)
        } else {
          const n = pick(live)
          if (n === undefined) break
          this.note(`crash ${n.id}`)
          n.state = null
          n.writes = []
          n.incarnation++
        }
        break
      }
      case 10: {
        const n = pick(live)
        if (n === undefined || n.state === null) break
        const s = n.state
        if (s.appliedIndex <= s.snapshot.index) break
        const index = s.snapshot.index + 1 + (arg % (s.appliedIndex - s.snapshot.index))
        this.note(`compact ${n.id} ${index}`)
        this.stepNode(n, { type: "Compact", index, data: enc.encode(`snap${index}`) })
        break
      }
      case 11: {
        const n = pick(live)
        if (n === undefined) break
        if (arg % 3 === 0) {
          const to = this.universe[arg % this.universe.length]!
          this.note(`transfer ${n.id} -> ${to}`)
          this.stepNode(n, { type: "TransferLeadership", to })
        } else {
          const context = ++this.counter
          n.reads.set(context, this.maxApplied())
          this.note(`read ${n.id} ${context}`)
          this.stepNode(n, { type: "ReadIndex", context })
        }
        break
      }
      case 12: {
        const n = pick(live)
        if (n === undefined) break
        const target = this.universe[(arg >> 2) % this.universe.length]!
        const types = ["AddVoter", "AddLearner", "RemoveNode"] as const
        const items: ConfChange["changes"][number][] = [{ type: types[arg % 3]!, node: target }]
        if (arg % 5 === 0)
          items.push({ type: "AddVoter", node: this.universe[(arg >> 4) % this.universe.length]! })
        const transitions = ["Auto", "JointImplicit", "JointExplicit"] as const
        const change: ConfChange = {
          changes: arg % 11 === 0 ? [] : items,
          transition: transitions[(arg >> 3) % 3]!,
        }
        this.note(`confchange ${n.id} ${JSON.stringify(change)}`)
        this.stepNode(n, {
          type: "Propose",
          proposals: [{ id: ++this.counter, type: "ConfChange", change }],
        })
        break
      }
    }
    this.checkLogs()
  }

  /** Runs a schedule of [choice, arg] pairs; stops at the first violation. */
  run(schedule: ReadonlyArray<readonly [number, number]>): ChaosResult {
    let actions = 0
    for (const [choice, arg] of schedule) {
      this.act(choice, arg)
      actions++
      if (this.violation !== null) break
    }
    let maxTerm = 0
    for (const n of this.nodes)
      if (n.state !== null && n.state.term > maxTerm) maxTerm = n.state.term
    return {
      violation: this.violation,
      actions,
      maxTerm,
      maxCommitted: this.maxApplied(),
      trace: this.trace.slice(-60),
    }
  }
}
