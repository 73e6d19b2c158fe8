// A deterministic, single-threaded simulation of a Raft cluster: the real core
// on every node, a seeded network (partitions, loss, delay, duplication,
// reordering), crashes that keep only durable state, an optional slow disk
// (writes complete later and in order; a crash loses the pending ones), and
// simulated time. Clients are generator functions that `yield sleep(ms)`.
//
// The same seed always produces the same run, so any failure replays exactly.
// Safety is checked while the run goes: at most one leader per term, every
// applied entry agrees across nodes and arrives in order, a new leader holds
// every entry applied anywhere (Leader Completeness), installed snapshots match
// the applied history.
import {
  applyPersist,
  freezeDurable,
  type MutableDurable,
  mutableDurable,
} from "../core/durable.ts"
import { entryBytes, termAt } from "../core/log.ts"
import { makeConfig } from "../core/quorum.ts"
import { bootstrap, createNode, step } from "../core/raft.ts"
import { hashString, nextRng, seedRng } from "../core/rng.ts"
import type { RaftState } from "../core/state.ts"
import type {
  Command,
  Entry,
  Input,
  Message,
  NodeId,
  Persist,
  RaftOptions,
  Snapshot,
} from "../core/types.ts"
import { EventHeap } from "./heap.ts"

export interface SimulationOptions {
  readonly servers: number
  readonly seed: number
  /**
   * Reliable: delays under 1 ms, nothing lost, each link delivers in order (as
   * TCP does). Unreliable (MIT's labrpc): independent 0-27 ms delays, so
   * messages reorder, and 10 % are lost.
   */
  readonly reliable?: boolean
  /** About 2/3 of responses are delayed 200-2200 ms (MIT's "long reordering"). */
  readonly longReordering?: boolean
  /** Probability that a message is delivered twice. */
  readonly duplicateRate?: number
  /** The state machine snapshots every `snapshotInterval` applied entries (0: never). */
  readonly snapshotInterval?: number
  /** Filler bytes in each snapshot, to exercise chunked InstallSnapshot. */
  readonly snapshotPadding?: number
  /**
   * Writes are group-committed: one fsync taking a uniform 0..diskDelayMs
   * completes every write queued before it started, in order; writes arriving
   * meanwhile wait for the next fsync (0: writes complete at once).
   */
  readonly diskDelayMs?: number
  /** Milliseconds per tick. */
  readonly tickMs?: number
  /** Core options for every node (ticks are counted in `tickMs`). */
  readonly raft?: Partial<Omit<RaftOptions, "id">>
  /** The run fails when simulated time passes this. */
  readonly maxSimulatedMs?: number
  /** Keep the last `trace` events for failure reports. */
  readonly trace?: number
  /** Record violations instead of throwing (to show that mutants are caught). */
  readonly collectViolations?: boolean
}

/** What a client generator yields: wait this many simulated milliseconds. */
export interface Sleep {
  readonly sleep: number
}

export const sleep = (ms: number): Sleep => ({ sleep: ms })

export type Client<T = unknown> = Generator<Sleep, T, unknown>

export class SafetyViolation extends Error {
  constructor(message: string) {
    super(message)
    this.name = "SafetyViolation"
  }
}

interface Server {
  readonly id: NodeId
  readonly index: number
  state: RaftState | null
  durable: MutableDurable
  /** Incarnation: bumped at each crash so stale timers and writes are ignored. */
  inc: number
  connected: boolean
  /** Writes waiting for the next fsync. */
  pendingWrites: Persist[]
  /** Writes the fsync in progress will complete (empty when the disk is idle). */
  syncingWrites: Persist[]
  lastApplied: number
  pendingCompact: number
  rpcs: number
}

type Event =
  | { time: number; seq: number; kind: "tick"; server: number; inc: number }
  | { time: number; seq: number; kind: "msg"; msg: Message }
  | { time: number; seq: number; kind: "disk"; server: number; inc: number }
  | { time: number; seq: number; kind: "wake"; task: Task }

interface Task {
  readonly gen: Client
  done: boolean
  result: unknown
}

const REQUESTS = new Set<Message["type"]>([
  "RequestVote",
  "AppendEntries",
  "Heartbeat",
  "InstallSnapshot",
  "TimeoutNow",
  "ReadIndexRequest",
  "ForwardProposals",
])

/** Approximate wire size of a message (envelope, entries, snapshot chunk). */
export const messageBytes = (m: Message): number => {
  let n = 16 + m.from.length + m.to.length
  switch (m.type) {
    case "AppendEntries":
      n += 24
      for (const e of m.entries) n += entryBytes(e)
      return n
    case "InstallSnapshot":
      return n + 40 + m.data.byteLength
    case "ForwardProposals":
      for (const p of m.proposals) n += 24 + (p.type === "Normal" ? p.data.byteLength : 32)
      return n
    default:
      return n + 24
  }
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

/** The tester's view of an entry: its command string ("" for no-ops, "#conf" for membership). */
const entryValue = (e: Entry): string => (e.type === "Normal" ? decoder.decode(e.data) : "#conf")

export class Simulation {
  readonly servers: Server[] = []
  readonly ids: NodeId[]
  readonly seed: number
  now = 0
  /** Applied values by index, the first time any node applied them. */
  readonly committed = new Map<number, string>()
  /** Digest of committed values 1..i (for checking snapshots). */
  private readonly prefixDigest: number[] = [0]
  readonly leaderOfTerm = new Map<number, NodeId>()
  readonly violations: string[] = []
  bytesTotal = 0
  messagesTotal = 0
  reliable: boolean
  longReordering: boolean
  private readonly events = new EventHeap<Event>()
  private seq = 0
  private rng: number
  private readonly o: Required<Omit<SimulationOptions, "raft">> & { raft: Partial<RaftOptions> }
  private readonly traceLines: string[] = []
  private nextProposalId = 1
  private partitionOf: number[] | null = null
  /** Reliable mode: when the last message on each directed link arrives ("from->to"). */
  private readonly linkClock = new Map<string, number>()

  constructor(options: SimulationOptions) {
    this.o = {
      reliable: true,
      longReordering: false,
      duplicateRate: 0,
      snapshotInterval: 0,
      snapshotPadding: 0,
      diskDelayMs: 0,
      tickMs: 25,
      maxSimulatedMs: 10 * 60_000,
      trace: 0,
      collectViolations: false,
      raft: {},
      ...options,
    }
    this.seed = options.seed
    this.reliable = this.o.reliable
    this.longReordering = this.o.longReordering
    this.rng = seedRng(options.seed, "simulation")
    this.ids = Array.from({ length: options.servers }, (_, i) => `n${i}`)
    const config = makeConfig(this.ids)
    for (let i = 0; i < options.servers; i++) {
      this.servers.push({
        id: this.ids[i]!,
        index: i,
        state: null,
        durable: mutableDurable(bootstrap(config)),
        inc: 0,
        connected: true,
        pendingWrites: [],
        syncingWrites: [],
        lastApplied: 0,
        pendingCompact: 0,
        rpcs: 0,
      })
      this.boot(i)
    }
  }

  // -------------------------------------------------------------------------
  // Randomness (the simulation's own stream, separate from the nodes')

  /** Uniform integer in [0, n). */
  randInt(n: number): number {
    this.rng = nextRng(this.rng)
    return this.rng % n
  }

  /** Uniform float in [0, 1). */
  random(): number {
    this.rng = nextRng(this.rng)
    return this.rng / 0x1_0000_0000
  }

  // -------------------------------------------------------------------------
  // Nodes

  private boot(i: number): void {
    const srv = this.servers[i]!
    srv.state = createNode(
      {
        electionTick: 12,
        heartbeatTick: 4,
        snapshotChunkBytes: 1024,
        ...this.o.raft,
        id: srv.id,
        seed: (this.o.seed * 31 + i * 7 + srv.inc * 1_000_003) | 0,
      },
      freezeDurable(srv.durable),
    )
    srv.lastApplied = 0
    srv.pendingWrites = []
    srv.syncingWrites = []
    // Ticks start at a random phase so nodes do not tick in lockstep.
    this.schedule({
      time: this.now + this.random() * this.o.tickMs,
      seq: 0,
      kind: "tick",
      server: i,
      inc: srv.inc,
    })
  }

  state(i: number): RaftState | null {
    return this.servers[i]!.state
  }

  isAlive(i: number): boolean {
    return this.servers[i]!.state !== null
  }

  isConnected(i: number): boolean {
    return this.servers[i]!.connected
  }

  /** Cuts a server off the network (it keeps running). */
  disconnect(i: number): void {
    this.servers[i]!.connected = false
    this.trace(`disconnect ${this.ids[i]}`)
  }

  connect(i: number): void {
    this.servers[i]!.connected = true
    this.trace(`connect ${this.ids[i]}`)
  }

  /** Groups that can talk among themselves only; `null` heals. Servers not listed are isolated. */
  partition(groups: ReadonlyArray<ReadonlyArray<number>> | null): void {
    if (groups === null) {
      this.partitionOf = null
      return
    }
    const of = this.servers.map(() => -1)
    groups.forEach((g, gi) => {
      for (const i of g) of[i] = gi
    })
    this.partitionOf = of
  }

  /** Kills a server (and disconnects it): only its durable state survives; pending writes are lost. */
  crash(i: number): void {
    const srv = this.servers[i]!
    if (srv.state === null) return
    srv.state = null
    srv.inc++
    srv.connected = false
    srv.pendingWrites = []
    srv.syncingWrites = []
    this.trace(`crash ${srv.id}`)
  }

  /** Restarts a crashed server from its durable state and connects it. */
  restart(i: number): void {
    const srv = this.servers[i]!
    if (srv.state !== null) this.crash(i)
    srv.inc++
    this.boot(i)
    srv.connected = true
    this.trace(`restart ${srv.id}`)
  }

  /** Proposes `cmd` on server `i` (MIT's Start): where it landed, if `i` leads. */
  start(i: number, cmd: string): { index: number; term: number; isLeader: boolean } {
    const srv = this.servers[i]!
    if (srv.state === null) return { index: -1, term: -1, isLeader: false }
    const id = this.nextProposalId++
    const cmds = this.stepServer(srv, {
      type: "Propose",
      proposals: [{ id, type: "Normal", data: encoder.encode(cmd) }],
    })
    for (const c of cmds)
      if (c.type === "ProposalAccepted" && c.id === id)
        return { index: c.index, term: c.term, isLeader: true }
    return { index: -1, term: srv.state?.term ?? -1, isLeader: false }
  }

  /** Steps a server with any input (for tests that drive the core directly). */
  input(i: number, input: Input): Command[] {
    const srv = this.servers[i]!
    return srv.state === null ? [] : this.stepServer(srv, input)
  }

  private stepServer(srv: Server, input: Input): Command[] {
    const s = srv.state!
    const cmds = step(s, input)
    for (const c of cmds) {
      switch (c.type) {
        case "Send":
          this.send(c.message)
          break
        case "Persist":
          if (this.o.diskDelayMs === 0) this.completeWrite(srv, c)
          else this.queueWrite(srv, c)
          break
        case "Apply":
          for (const e of c.entries) this.applyEntry(srv, e)
          break
        case "ApplySnapshot":
          this.applySnapshot(srv, c.snapshot)
          break
        default:
          break
      }
    }
    this.checkNode(srv)
    if (srv.pendingCompact > 0 && srv.state === s) {
      const index = srv.pendingCompact
      srv.pendingCompact = 0
      this.stepServer(srv, { type: "Compact", index, data: this.snapshotData(index) })
    }
    return cmds
  }

  private completeWrite(srv: Server, p: Persist): void {
    applyPersist(srv.durable, p)
    for (const m of p.after) this.send(m)
    if (p.ack !== null) this.stepServer(srv, { type: "Persisted", ...p.ack })
  }

  private queueWrite(srv: Server, p: Persist): void {
    srv.pendingWrites.push(p)
    if (srv.syncingWrites.length === 0) this.startSync(srv)
  }

  private startSync(srv: Server): void {
    srv.syncingWrites = srv.pendingWrites
    srv.pendingWrites = []
    const done = this.now + this.random() * this.o.diskDelayMs
    this.schedule({ time: done, seq: 0, kind: "disk", server: srv.index, inc: srv.inc })
  }

  // -------------------------------------------------------------------------
  // The tester's state machine

  private applyEntry(srv: Server, e: Entry): void {
    if (e.index !== srv.lastApplied + 1)
      this.violation(`${srv.id} applied index ${e.index} after ${srv.lastApplied} (out of order)`)
    const v = entryValue(e)
    const prev = this.committed.get(e.index)
    if (prev === undefined) {
      // Nodes apply in order (or from a snapshot of applied state), so index-1 is known.
      if (e.index > 1 && !this.committed.has(e.index - 1))
        this.violation(`${srv.id} applied index ${e.index} before anyone applied ${e.index - 1}`)
      this.committed.set(e.index, v)
      this.prefixDigest[e.index] = digestStep(this.prefixDigest[e.index - 1] ?? 0, v)
    } else if (prev !== v) {
      this.violation(
        `State Machine Safety: ${srv.id} applied ${JSON.stringify(v)} at index ${e.index}, others applied ${JSON.stringify(prev)}`,
      )
    }
    srv.lastApplied = e.index
    const every = this.o.snapshotInterval
    if (every > 0 && e.index % every === 0) srv.pendingCompact = e.index
  }

  private snapshotData(index: number): Uint8Array {
    const data = new Uint8Array(8 + this.o.snapshotPadding)
    const view = new DataView(data.buffer)
    view.setUint32(0, index)
    view.setUint32(4, this.prefixDigest[index] ?? 0)
    for (let i = 8; i < data.length; i++) data[i] = (i * 31 + index) & 0xff
    return data
  }

  private applySnapshot(srv: Server, snap: Snapshot): void {
    if (snap.data.byteLength < 8) {
      this.violation(`${srv.id} got a snapshot of ${snap.data.byteLength} bytes`)
      return
    }
    const view = new DataView(snap.data.buffer, snap.data.byteOffset, snap.data.byteLength)
    const index = view.getUint32(0)
    const digest = view.getUint32(4)
    if (index !== snap.index)
      this.violation(`${srv.id} snapshot at ${snap.index} holds state of ${index}`)
    if (this.prefixDigest[index] !== digest)
      this.violation(`${srv.id} snapshot at ${index} does not match the applied history`)
    if (snap.index < srv.lastApplied)
      this.violation(
        `${srv.id} snapshot at ${snap.index} goes back from applied ${srv.lastApplied}`,
      )
    srv.lastApplied = snap.index
  }

  // -------------------------------------------------------------------------
  // Invariants

  private checkNode(srv: Server): void {
    const s = srv.state
    if (s === null || s.role !== "Leader") return
    const known = this.leaderOfTerm.get(s.term)
    if (known === undefined) {
      this.leaderOfTerm.set(s.term, s.id)
      this.checkLeaderCompleteness(s)
    } else if (known !== s.id) {
      this.violation(`Election Safety: ${known} and ${s.id} both lead term ${s.term}`)
    }
  }

  private checkLeaderCompleteness(s: RaftState): void {
    for (let i = s.snapshot.index + 1; this.committed.has(i); i++) {
      if (termAt(s, i) < 0) {
        this.violation(
          `Leader Completeness: leader ${s.id} of term ${s.term} lacks committed index ${i}`,
        )
        return
      }
      const e = s.entries[i - s.snapshot.index - 1]!
      if (entryValue(e) !== this.committed.get(i)) {
        this.violation(
          `Leader Completeness: leader ${s.id} of term ${s.term} has a different entry at committed index ${i}`,
        )
        return
      }
    }
  }

  /** Log Matching across live nodes: equal (index, term) implies equal entries. */
  checkLogMatching(): void {
    const live = this.servers.filter((x) => x.state !== null).map((x) => x.state!)
    for (let a = 0; a < live.length; a++)
      for (let b = a + 1; b < live.length; b++) {
        const x = live[a]!
        const y = live[b]!
        const lo = Math.max(x.snapshot.index, y.snapshot.index) + 1
        const hi = Math.min(
          x.snapshot.index + x.entries.length,
          y.snapshot.index + y.entries.length,
        )
        for (let i = hi; i >= lo; i--) {
          const ex = x.entries[i - x.snapshot.index - 1]!
          const ey = y.entries[i - y.snapshot.index - 1]!
          if (ex.term === ey.term) {
            if (entryValue(ex) !== entryValue(ey))
              this.violation(
                `Log Matching: ${x.id} and ${y.id} differ at index ${i} of term ${ex.term}`,
              )
          }
        }
      }
  }

  private violation(msg: string): void {
    const full = `${msg} (seed ${this.o.seed}, t=${this.now.toFixed(1)}ms)`
    if (this.o.collectViolations) {
      this.violations.push(full)
      return
    }
    const tail = this.traceLines.length > 0 ? `\n${this.traceLines.join("\n")}` : ""
    throw new SafetyViolation(full + tail)
  }

  // -------------------------------------------------------------------------
  // Network

  private linkUp(from: NodeId, to: NodeId): boolean {
    const a = this.servers[this.ids.indexOf(from)]
    const b = this.servers[this.ids.indexOf(to)]
    if (a === undefined || b === undefined || !a.connected || !b.connected) return false
    if (this.partitionOf !== null && this.partitionOf[a.index] !== this.partitionOf[b.index])
      return false
    return this.partitionOf === null || this.partitionOf[a.index] !== -1
  }

  private send(m: Message): void {
    this.messagesTotal++
    this.bytesTotal += messageBytes(m)
    const from = this.servers[this.ids.indexOf(m.from)]
    if (from !== undefined && REQUESTS.has(m.type)) from.rpcs++
    if (!this.linkUp(m.from, m.to)) return
    const copies = this.o.duplicateRate > 0 && this.random() < this.o.duplicateRate ? 2 : 1
    for (let c = 0; c < copies; c++) {
      if (!this.reliable && this.random() < 0.1) continue
      let at: number
      if (this.reliable) {
        const link = `${m.from}->${m.to}`
        at = Math.max(this.now + 0.1 + this.random() * 0.9, this.linkClock.get(link) ?? 0)
        this.linkClock.set(link, at)
      } else {
        at = this.now + this.random() * 27
      }
      if (this.longReordering && !REQUESTS.has(m.type) && this.randInt(900) < 600)
        at += 200 + this.randInt(1 + this.randInt(2000))
      this.schedule({ time: at, seq: 0, kind: "msg", msg: m })
    }
  }

  /** Request messages sent by server `i` (MIT's rpcCount). */
  rpcCount(i: number): number {
    return this.servers[i]!.rpcs
  }

  rpcTotal(): number {
    let n = 0
    for (const s of this.servers) n += s.rpcs
    return n
  }

  /** Durable log bytes of the largest log (MIT's LogSize). */
  logSize(): number {
    let max = 0
    for (const s of this.servers) {
      let n = 24
      for (const e of s.durable.entries) n += entryBytes(e)
      if (n > max) max = n
    }
    return max
  }

  // -------------------------------------------------------------------------
  // Time

  private schedule(e: Event): void {
    ;(e as { seq: number }).seq = this.seq++
    this.events.push(e)
  }

  /** The recorded trace (empty unless the `trace` option is set). */
  traceTail(): string {
    return this.traceLines.join("\n")
  }

  private trace(line: string): void {
    if (this.o.trace === 0) return
    this.traceLines.push(`${this.now.toFixed(2)} ${line}`)
    if (this.traceLines.length > this.o.trace) this.traceLines.shift()
  }

  /** Processes one event; false when none is left. */
  private processOne(): boolean {
    const e = this.events.pop()
    if (e === undefined) return false
    this.now = e.time
    if (this.now > this.o.maxSimulatedMs)
      throw new Error(`simulation exceeded ${this.o.maxSimulatedMs} ms (seed ${this.o.seed})`)
    switch (e.kind) {
      case "tick": {
        const srv = this.servers[e.server]!
        if (srv.inc !== e.inc || srv.state === null) return true
        this.stepServer(srv, { type: "Tick" })
        if (srv.inc === e.inc)
          this.schedule({
            time: this.now + this.o.tickMs,
            seq: 0,
            kind: "tick",
            server: e.server,
            inc: e.inc,
          })
        return true
      }
      case "msg": {
        const m = e.msg
        const to = this.servers[this.ids.indexOf(m.to)]
        if (to === undefined || to.state === null || !this.linkUp(m.from, m.to)) return true
        if (this.o.trace > 0) this.trace(`${m.from}->${m.to} ${describe(m)}`)
        this.stepServer(to, m)
        return true
      }
      case "disk": {
        const srv = this.servers[e.server]!
        if (srv.inc !== e.inc || srv.state === null) return true
        const batch = srv.syncingWrites
        srv.syncingWrites = []
        for (const p of batch) {
          this.completeWrite(srv, p)
          if (srv.inc !== e.inc) return true
        }
        if (srv.pendingWrites.length > 0 && srv.syncingWrites.length === 0) this.startSync(srv)
        return true
      }
      case "wake":
        this.resume(e.task)
        return true
    }
  }

  private resume(task: Task): void {
    const r = task.gen.next()
    if (r.done) {
      task.done = true
      task.result = r.value
      return
    }
    this.schedule({ time: this.now + Math.max(0, r.value.sleep), seq: 0, kind: "wake", task })
  }

  /** Starts a client coroutine now; it runs as simulated time advances. */
  spawn<T>(gen: Client<T>): { readonly done: boolean; readonly result: T | undefined } {
    const task: Task = { gen, done: false, result: undefined }
    this.schedule({ time: this.now, seq: 0, kind: "wake", task })
    return task as unknown as { readonly done: boolean; readonly result: T | undefined }
  }

  /** Runs until `main` returns (its result) or throws. */
  run<T>(main: Client<T>): T {
    const task = this.spawn(main)
    while (!task.done) if (!this.processOne()) throw new Error("simulation ran out of events")
    return task.result as T
  }

  /** Advances simulated time by `ms`. */
  runFor(ms: number): void {
    const until = this.now + ms
    for (;;) {
      const next = this.events.peek()
      if (next === undefined || next.time > until) break
      this.processOne()
    }
    this.now = until
  }
}

const digestStep = (h: number, v: string): number =>
  (Math.imul(h ^ hashString(v), 0x01000193) + 1) >>> 0

const describe = (m: Message): string => {
  switch (m.type) {
    case "AppendEntries":
      return `AE t${m.term} prev=${m.prevLogIndex}/${m.prevLogTerm} n=${m.entries.length} c=${m.leaderCommit}`
    case "AppendEntriesResponse":
      return `AER t${m.term} ok=${m.success} match=${m.matchIndex} ci=${m.conflictIndex} ct=${m.conflictTerm}`
    case "RequestVote":
      return `RV t${m.term} pre=${m.preVote} last=${m.lastLogIndex}/${m.lastLogTerm}`
    case "RequestVoteResponse":
      return `RVR t${m.term} pre=${m.preVote} granted=${m.voteGranted}`
    default:
      return `${m.type} t${m.term}`
  }
}
