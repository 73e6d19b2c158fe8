import { canonicalEncoding, Hasher } from "./hash.ts"
import type { Model, Property } from "./model.ts"

/**
 * Actor systems as models: actors with start / message / timeout handlers
 * that return a new state and commands (send, set or cancel a timer, persist,
 * record a client operation's invocation or return), a network with chosen
 * semantics, crashes and restarts that keep only what was persisted, and
 * network partitions.
 *
 * A handler is a pure function `(state, input) -> { state, commands }`, the
 * shape of a deterministic protocol core such as a Raft `step`, so wrapping
 * production code is a matter of mapping its inputs and outputs.
 *
 * The checker explores every interleaving of deliveries, drops, timeouts,
 * crashes, restarts and partitions the configuration allows.
 */

/** An actor's id: its index in `ActorSystemConfig.actors`. */
export type Id = number

export type Command<M, T = never, P = never, I = never, O = never> =
  | { readonly kind: "send"; readonly to: Id; readonly msg: M }
  | { readonly kind: "setTimer"; readonly timer: T }
  | { readonly kind: "cancelTimer"; readonly timer: T }
  | { readonly kind: "persist"; readonly value: P }
  | { readonly kind: "invoke"; readonly input: I }
  | { readonly kind: "return"; readonly output: O }

export const send = <M>(to: Id, msg: M) => ({ kind: "send", to, msg }) as const
export const setTimer = <T>(timer: T) => ({ kind: "setTimer", timer }) as const
export const cancelTimer = <T>(timer: T) => ({ kind: "cancelTimer", timer }) as const
export const persist = <P>(value: P) => ({ kind: "persist", value }) as const
/** Records that this actor (a client) invoked an operation. */
export const invoke = <I>(input: I) => ({ kind: "invoke", input }) as const
/** Records that this actor's (a client's) outstanding operation returned. */
export const respond = <O>(output: O) => ({ kind: "return", output }) as const

/** A handler's result: the actor's next state and the commands to carry out, in order. */
export interface Step<S, C> {
  readonly state: S
  readonly commands: ReadonlyArray<C>
}

/**
 * An actor. Handlers must be pure and deterministic. `receive` and `timeout`
 * may return `undefined` to ignore the input (no state change, no commands).
 */
export interface Actor<S, M, T = never, P = never, I = never, O = never> {
  /** Starts the actor; on a restart `persisted` is what it last persisted (else undefined). */
  start(id: Id, persisted: P | undefined): Step<S, Command<M, T, P, I, O>>
  receive(id: Id, state: S, from: Id, msg: M): Step<S, Command<M, T, P, I, O>> | undefined
  timeout?(id: Id, state: S, timer: T): Step<S, Command<M, T, P, I, O>> | undefined
  /**
   * Optional: whether the actor takes `msg` in `state` now. A message it does
   * not take stays in flight (its delivery is not an action yet): it arrives
   * later, or never, which is what a network may do to any message. Use it
   * for messages that would be ignored now but matter later, so that
   * ignoring them does not multiply states. Unordered networks only: on FIFO
   * channels a message left in flight would block the ones behind it.
   */
  accepts?(id: Id, state: S, from: Id, msg: M): boolean
  /**
   * Optional: whether `msg` is dead at this actor: `accepts` is false for it
   * in `state` and in every state the actor can reach from there within the
   * model's boundary. Dead messages are removed from the network after each
   * step, since delivering one is never an action and keeping it only
   * multiplies states. Unordered networks only. The properties and the
   * boundary must not depend on dead messages (they are gone for
   * everything: quiet timers and message counts too).
   */
  discards?(id: Id, state: S, from: Id, msg: M): boolean
}

/**
 * Network semantics.
 * - `unordered`: any in-flight message can be delivered next.
 * - `ordered`: messages on one channel (sender, receiver) arrive in the order sent.
 * - `duplicating` (with `unordered`): a delivered message stays in flight and
 *   can be delivered again; sending a message already in flight changes nothing.
 * - `lossy`: any in-flight message can be dropped.
 * - `dedupe` (with `unordered`): identical in-flight messages merge.
 */
export interface NetworkSemantics {
  readonly ordering: "unordered" | "ordered"
  readonly duplicating?: boolean
  readonly lossy?: boolean
  /**
   * Identical messages in flight merge into one (sending a message already in
   * flight changes nothing). An under-approximation of a reliable network
   * (one copy of a retransmission is lost), exact for a lossy one; it keeps
   * periodic messages such as heartbeats from growing the state forever.
   */
  readonly dedupe?: boolean
}

/** A message in flight. `hi`/`lo` are its fingerprint (sender, receiver and message). */
export interface Envelope<M> {
  readonly src: Id
  readonly dst: Id
  readonly msg: M
  readonly hi: number
  readonly lo: number
  /**
   * With symmetry: its fingerprint under each renaming (pairs), filled in on
   * first use (NaN until then: a cache, deterministic, so safe to share).
   */
  readonly sym: Array<number>
}

export type HistoryEvent<I, O> =
  | { readonly kind: "invoke"; readonly client: Id; readonly input: I }
  | { readonly kind: "return"; readonly client: Id; readonly output: O }

/** The state of a whole actor system. Treat as immutable. */
export interface SystemState<S, M, T = never, P = never, I = never, O = never> {
  /** Actor states by id; `undefined` while an actor is crashed. */
  readonly actors: ReadonlyArray<S | undefined>
  /**
   * Cached fingerprints of the actor states: `[hi0, lo0, hi1, lo1, ...]`.
   * With symmetry they are filled in on first use (NaN until then: the
   * symmetric fingerprint does not need them; read them through the model).
   */
  readonly actorHashes: ReadonlyArray<number>
  /**
   * With symmetry: per actor, its fingerprint under each renaming (pairs),
   * filled in on first use (NaN until then; one small array per actor state,
   * so a step copies only the list), and each actor's renaming-invariant key
   * (pairs).
   */
  readonly actorSym: ReadonlyArray<ReadonlyArray<number>>
  readonly actorKey: ReadonlyArray<number>
  /** What each actor last persisted. */
  readonly persisted: ReadonlyArray<P | undefined>
  readonly persistedHashes: ReadonlyArray<number>
  /** With symmetry: per actor, the fingerprint of what it persisted under each renaming (pairs). */
  readonly persistedSym: ReadonlyArray<ReadonlyArray<number>>
  /** Pending timers per actor, as a set (in a canonical order). */
  readonly timers: ReadonlyArray<ReadonlyArray<T>>
  /** Cached fingerprints of each actor's timers (pairs), filled in on first use (NaN until then). */
  readonly timerHashes: ReadonlyArray<number>
  /**
   * Messages in flight, in a canonical order: by fingerprint when unordered,
   * by channel then sending order when ordered.
   */
  readonly network: ReadonlyArray<Envelope<M>>
  /** Bit i set while actor i is crashed. */
  readonly crashed: number
  /** Crashes so far (bounded by the configuration). */
  readonly crashes: number
  /** Bit i set while actor i is cut off by a partition. */
  readonly isolated: number
  /** Partitions so far (bounded by the configuration). */
  readonly partitions: number
  /** Client operations, in the order they happened. */
  readonly history: ReadonlyArray<HistoryEvent<I, O>>
  readonly historyHi: number
  readonly historyLo: number
}

export type SystemAction<T> =
  | { readonly kind: "deliver"; readonly index: number }
  | { readonly kind: "drop"; readonly index: number }
  | { readonly kind: "timeout"; readonly actor: Id; readonly timer: T }
  | { readonly kind: "crash"; readonly actor: Id }
  | { readonly kind: "restart"; readonly actor: Id }
  | { readonly kind: "isolate"; readonly actor: Id }
  | { readonly kind: "heal" }

export interface ActorSystemConfig<S, M, T = never, P = never, I = never, O = never> {
  readonly name: string
  readonly actors: ReadonlyArray<Actor<S, M, T, P, I, O>>
  /** Names used in traces (default "0", "1", ...). */
  readonly actorNames?: ReadonlyArray<string>
  /** Default: unordered, not duplicating, not lossy. */
  readonly network?: NetworkSemantics
  /** Up to `max` crashes in total among `actors`; crashed actors may restart when `restart` is true. */
  readonly crashes?: {
    readonly max: number
    readonly actors: ReadonlyArray<Id>
    readonly restart?: boolean
  }
  /**
   * Up to `max` partitions, each cutting one of `actors` off from the others
   * in `actors` until the partition heals. Messages across the cut, in flight
   * or sent later, are lost. Actors not listed (clients) reach both sides.
   */
  readonly partitions?: { readonly max: number; readonly actors: ReadonlyArray<Id> }
  /**
   * Timers that fire only when the system is quiet: nothing in flight and no
   * partition. They model "wait until things settle" (a final read).
   */
  readonly quietTimer?: (timer: T) => boolean
  readonly properties: ReadonlyArray<Property<SystemState<S, M, T, P, I, O>>>
  readonly within?: (state: SystemState<S, M, T, P, I, O>) => boolean
  /** Canonical hashing of the parts (default: structural `Hasher.value`). */
  readonly hash?: {
    readonly state?: (state: S, hasher: Hasher) => void
    readonly msg?: (msg: M, hasher: Hasher) => void
  }
  /** Readable renderings for traces (default: canonical encodings). */
  readonly describe?: {
    readonly state?: (state: S, id: Id) => string
    readonly msg?: (msg: M) => string
    readonly timer?: (timer: T) => string
    readonly persisted?: (value: P) => string
    readonly input?: (input: I) => string
    readonly output?: (output: O) => string
  }
  /**
   * Symmetry reduction by renaming interchangeable actors (see
   * `ActorSymmetry`); the model then has a `symmetricFingerprint`.
   */
  readonly symmetry?: ActorSymmetry<S, M, P>
  /** Symmetry reduction through a representative state (see `Model.representative`). */
  readonly representative?: (state: SystemState<S, M, T, P, I, O>) => SystemState<S, M, T, P, I, O>
}

/**
 * Interchangeable actors (for example the servers of a replicated system):
 * states that differ only by a renaming of these actors are explored once.
 * The hash functions must feed every actor id they meet through `rename`, so
 * that renamed states hash alike; everything else in the state must not
 * depend on which of these actors is which (timers and client histories
 * must not name them).
 */
export interface ActorSymmetry<S, M, P> {
  /** The interchangeable actors (at most 5: every permutation is tried). */
  readonly actors: ReadonlyArray<Id>
  readonly hashState: (state: S, rename: (id: Id) => Id, hasher: Hasher) => void
  readonly hashMessage: (msg: M, rename: (id: Id) => Id, hasher: Hasher) => void
  /** Default: structural (what is persisted names no actor). */
  readonly hashPersisted?: (value: P, rename: (id: Id) => Id, hasher: Hasher) => void
  /**
   * Optional, for speed: a hash of an actor's state that no renaming can
   * change (ids reduced to "this actor" or "another"). Only renamings that
   * sort the actors by it are then hashed in full. Without it the least of
   * an actor's renamed hashes serves, which needs every renaming.
   */
  readonly invariantState?: (state: S, self: Id, hasher: Hasher) => void
}

/** Every permutation of `group` as a map over ids 0..n-1 (identity elsewhere). */
const permutations = (n: number, group: ReadonlyArray<Id>): Array<Int32Array> => {
  const out: Array<Int32Array> = []
  const images = group.slice()
  const rec = (k: number): void => {
    if (k === images.length) {
      const map = new Int32Array(n)
      for (let i = 0; i < n; i++) map[i] = i
      group.forEach((id, j) => {
        map[id] = images[j]!
      })
      out.push(map)
      return
    }
    for (let j = k; j < images.length; j++) {
      ;[images[k], images[j]] = [images[j]!, images[k]!]
      rec(k + 1)
      ;[images[k], images[j]] = [images[j]!, images[k]!]
    }
  }
  rec(0)
  return out
}

const CRASHED_HI = 0x0c4a5ed0
const CRASHED_LO = 0x5eed0c4a
const NONE_HI = 0x00ab5e47
const NONE_LO = 0x7e5ba000

/** Builds the model of an actor system. */
export const actorSystem = <S, M, T = never, P = never, I = never, O = never>(
  config: ActorSystemConfig<S, M, T, P, I, O>,
): Model<SystemState<S, M, T, P, I, O>, SystemAction<T>> & {
  readonly config: ActorSystemConfig<S, M, T, P, I, O>
} => {
  type State = SystemState<S, M, T, P, I, O>
  type Cmd = Command<M, T, P, I, O>
  const n = config.actors.length
  if (n === 0) throw new RangeError("actors: an actor system needs at least one actor")
  if (n > 30) throw new RangeError(`actors: at most 30 actors are supported, got ${n}`)
  const net = config.network ?? { ordering: "unordered" }
  const ordered = net.ordering === "ordered"
  const duplicating = net.duplicating === true
  if (ordered && duplicating) {
    throw new RangeError("network: a duplicating network cannot be ordered")
  }
  const lossy = net.lossy === true
  const asSet = duplicating || net.dedupe === true
  if (ordered && net.dedupe === true) {
    throw new RangeError("network: an ordered network cannot merge identical messages")
  }
  // Dead messages are removed only where delivery order is free (see `Actor.discards`).
  const discarding = !ordered && config.actors.some((a) => a.discards !== undefined)
  const crashable = config.crashes?.actors ?? []
  const maxCrashes = config.crashes?.max ?? 0
  const restart = config.crashes?.restart ?? false
  const cuttable = config.partitions?.actors ?? []
  let groupMask = 0
  for (const id of [...crashable, ...cuttable]) {
    if (!Number.isInteger(id) || id < 0 || id >= n) {
      throw new RangeError(`crashes/partitions: actor id ${id} is not one of 0..${n - 1}`)
    }
  }
  for (const id of cuttable) groupMask |= 1 << id
  const maxPartitions = config.partitions?.max ?? 0
  const quiet = config.quietTimer
  const names = config.actorNames ?? config.actors.map((_, i) => String(i))
  const hashState = config.hash?.state ?? ((s: S, h: Hasher) => h.value(s))
  const hashMsg = config.hash?.msg ?? ((m: M, h: Hasher) => h.value(m))
  const hasher = new Hasher()
  const symmetry = config.symmetry
  if (symmetry !== undefined) {
    if (symmetry.actors.length > 5) {
      throw new RangeError(
        `symmetry.actors: at most 5 interchangeable actors, got ${symmetry.actors.length}`,
      )
    }
    for (const id of symmetry.actors) {
      if (!Number.isInteger(id) || id < 0 || id >= n) {
        throw new RangeError(`symmetry.actors: actor id ${id} is not one of 0..${n - 1}`)
      }
    }
  }
  const perms = symmetry === undefined ? [] : permutations(n, symmetry.actors)
  const renames = perms.map((map) => (id: Id) => map[id]!)
  const inverses = perms.map((map) => {
    const inv = new Int32Array(n)
    for (let i = 0; i < n; i++) inv[map[i]!] = i
    return inv
  })
  const P = perms.length
  // Shared, never written: a crashed actor's and an empty disk's renamed hashes.
  const crashedSym: ReadonlyArray<number> = perms.flatMap(() => [CRASHED_HI, CRASHED_LO])
  const noneSym: ReadonlyArray<number> = perms.flatMap(() => [NONE_HI, NONE_LO])
  const hashPersistedSym =
    symmetry?.hashPersisted ?? ((v: P, _: (id: Id) => Id, h: Hasher) => h.value(v))

  const envelope = (src: Id, dst: Id, msg: M): Envelope<M> => {
    hasher.reset()
    hasher.word(src)
    hasher.word(dst)
    if (symmetry === undefined) {
      hashMsg(msg, hasher)
      hasher.finish()
      return { src, dst, msg, hi: hasher.hi, lo: hasher.lo, sym: [] }
    }
    // With symmetry an envelope's own hash is its hash under the identity
    // renaming (permutation 0), so that one is computed once, here.
    symmetry.hashMessage(msg, renames[0]!, hasher)
    hasher.finish()
    const sym = new Array<number>(2 * P).fill(Number.NaN)
    sym[0] = hasher.hi
    sym[1] = hasher.lo
    return { src, dst, msg, hi: hasher.hi, lo: hasher.lo, sym }
  }

  /** An envelope's fingerprint under renaming `p` (computed once). */
  const envelopeSym = (e: Envelope<M>, p: number): void => {
    if (!Number.isNaN(e.sym[2 * p]!)) return
    const map = perms[p]!
    hasher.reset()
    hasher.word(map[e.src]!)
    hasher.word(map[e.dst]!)
    symmetry!.hashMessage(e.msg, renames[p]!, hasher)
    hasher.finish()
    e.sym[2 * p] = hasher.hi
    e.sym[2 * p + 1] = hasher.lo
  }

  /** Whether `e` is dead at its receiver in state `s` (see `Actor.discards`). */
  const deadAt = (s: S | undefined, e: Envelope<M>): boolean =>
    s !== undefined && config.actors[e.dst]!.discards?.(e.dst, s, e.src, e.msg) === true
  const isDead = (state: State, e: Envelope<M>): boolean =>
    discarding && deadAt(state.actors[e.dst], e)

  // Canonical order of in-flight messages (see SystemState.network).
  const before = (a: Envelope<M>, b: Envelope<M>): boolean =>
    ordered
      ? a.src < b.src || (a.src === b.src && a.dst < b.dst)
      : a.hi < b.hi || (a.hi === b.hi && a.lo < b.lo)

  // Whether a message between a and b crosses the current partition.
  const cut = (isolated: number, a: Id, b: Id): boolean => {
    if (isolated === 0 || a === b) return false
    const ma = 1 << a
    const mb = 1 << b
    if ((groupMask & ma) === 0 || (groupMask & mb) === 0) return false
    return ((isolated & ma) !== 0) !== ((isolated & mb) !== 0)
  }

  /** A mutable draft of the next state; copies each part on first write. */
  class Draft {
    actors: Array<S | undefined> | ReadonlyArray<S | undefined>
    actorHashes: Array<number> | ReadonlyArray<number>
    actorSym: Array<ReadonlyArray<number>> | ReadonlyArray<ReadonlyArray<number>>
    actorKey: Array<number> | ReadonlyArray<number>
    persisted: Array<P | undefined> | ReadonlyArray<P | undefined>
    persistedHashes: Array<number> | ReadonlyArray<number>
    persistedSym: Array<ReadonlyArray<number>> | ReadonlyArray<ReadonlyArray<number>>
    timers: Array<ReadonlyArray<T>> | ReadonlyArray<ReadonlyArray<T>>
    timerHashes: Array<number> | ReadonlyArray<number>
    network: Array<Envelope<M>> | ReadonlyArray<Envelope<M>>
    history: Array<HistoryEvent<I, O>> | ReadonlyArray<HistoryEvent<I, O>>
    historyHi: number
    historyLo: number
    crashed: number
    crashes: number
    isolated: number
    partitions: number
    private copied = 0
    /** Actors whose state this draft set, and whether it added messages (dead-message check). */
    touched = 0
    added = false

    constructor(s: State) {
      this.actors = s.actors
      this.actorHashes = s.actorHashes
      this.actorSym = s.actorSym
      this.actorKey = s.actorKey
      this.persisted = s.persisted
      this.persistedHashes = s.persistedHashes
      this.persistedSym = s.persistedSym
      this.timers = s.timers
      this.timerHashes = s.timerHashes
      this.network = s.network
      this.history = s.history
      this.historyHi = s.historyHi
      this.historyLo = s.historyLo
      this.crashed = s.crashed
      this.crashes = s.crashes
      this.isolated = s.isolated
      this.partitions = s.partitions
    }

    private own(bit: number): boolean {
      if ((this.copied & bit) !== 0) return false
      this.copied |= bit
      return true
    }

    setActor(id: Id, state: S | undefined): void {
      if (this.own(1)) {
        this.actors = this.actors.slice()
        this.actorHashes = this.actorHashes.slice()
        if (symmetry !== undefined) {
          this.actorSym = this.actorSym.slice()
          this.actorKey = this.actorKey.slice()
        }
      }
      ;(this.actors as Array<S | undefined>)[id] = state
      this.touched |= 1 << id
      if (state === undefined) {
        ;(this.actorHashes as Array<number>)[2 * id] = CRASHED_HI
        ;(this.actorHashes as Array<number>)[2 * id + 1] = CRASHED_LO
      } else if (symmetry !== undefined) {
        // Computed when first needed (see `SystemState.actorHashes`).
        ;(this.actorHashes as Array<number>)[2 * id] = Number.NaN
        ;(this.actorHashes as Array<number>)[2 * id + 1] = Number.NaN
      } else {
        hasher.reset()
        hashState(state, hasher)
        hasher.finish()
        ;(this.actorHashes as Array<number>)[2 * id] = hasher.hi
        ;(this.actorHashes as Array<number>)[2 * id + 1] = hasher.lo
      }
      if (symmetry !== undefined) {
        // Renamed hashes are computed when first needed; the key now.
        ;(this.actorSym as Array<ReadonlyArray<number>>)[id] =
          state === undefined ? crashedSym : new Array<number>(2 * P).fill(Number.NaN)
        const key = this.actorKey as Array<number>
        if (state === undefined) {
          key[2 * id] = CRASHED_HI
          key[2 * id + 1] = CRASHED_LO
        } else if (symmetry.invariantState !== undefined) {
          hasher.reset()
          symmetry.invariantState(state, id, hasher)
          hasher.finish()
          key[2 * id] = hasher.hi
          key[2 * id + 1] = hasher.lo
        } else {
          key[2 * id] = Number.NaN
          key[2 * id + 1] = Number.NaN
        }
      }
    }

    setPersisted(id: Id, value: P): void {
      if (this.own(2)) {
        this.persisted = this.persisted.slice()
        this.persistedHashes = this.persistedHashes.slice()
        if (symmetry !== undefined) this.persistedSym = this.persistedSym.slice()
      }
      ;(this.persisted as Array<P | undefined>)[id] = value
      hasher.reset()
      hasher.value(value)
      hasher.finish()
      ;(this.persistedHashes as Array<number>)[2 * id] = hasher.hi
      ;(this.persistedHashes as Array<number>)[2 * id + 1] = hasher.lo
      if (symmetry !== undefined) {
        const sym = new Array<number>(2 * P)
        for (let p = 0; p < P; p++) {
          hasher.reset()
          hashPersistedSym(value, renames[p]!, hasher)
          hasher.finish()
          sym[2 * p] = hasher.hi
          sym[2 * p + 1] = hasher.lo
        }
        ;(this.persistedSym as Array<ReadonlyArray<number>>)[id] = sym
      }
    }

    setTimers(id: Id, timers: ReadonlyArray<T>): void {
      if (this.own(4)) {
        this.timers = this.timers.slice()
        this.timerHashes = this.timerHashes.slice()
      }
      ;(this.timers as Array<ReadonlyArray<T>>)[id] = timers
      ;(this.timerHashes as Array<number>)[2 * id] = Number.NaN
      ;(this.timerHashes as Array<number>)[2 * id + 1] = Number.NaN
    }

    private ownNetwork(): Array<Envelope<M>> {
      if (this.own(8)) this.network = this.network.slice()
      return this.network as Array<Envelope<M>>
    }

    removeMessage(index: number): void {
      this.ownNetwork().splice(index, 1)
    }

    /** Drops every in-flight message matching `test`. */
    dropMessages(test: (e: Envelope<M>) => boolean): void {
      if (!this.network.some(test)) return
      const kept = this.network.filter((e) => !test(e))
      this.own(8)
      this.network = kept
    }

    addMessage(e: Envelope<M>): void {
      const list = this.network
      // Insert at the canonical position: after every envelope not after it.
      let i = list.length
      while (i > 0 && before(e, list[i - 1]!)) i--
      if (asSet) {
        for (let j = i - 1; j >= 0 && list[j]!.hi === e.hi; j--) {
          if (list[j]!.lo === e.lo) return
        }
      }
      this.ownNetwork().splice(i, 0, e)
      this.added = true
    }

    record(event: HistoryEvent<I, O>): void {
      if (this.own(16)) this.history = this.history.slice()
      ;(this.history as Array<HistoryEvent<I, O>>).push(event)
      hasher.reset()
      hasher.fingerprint(this.historyHi, this.historyLo)
      hasher.value(event)
      hasher.finish()
      this.historyHi = hasher.hi
      this.historyLo = hasher.lo
    }

    freeze(): State {
      // Only a changed receiver or a new message can make a message dead.
      if (discarding && (this.touched !== 0 || this.added)) {
        const actors = this.actors
        this.dropMessages((e) => deadAt(actors[e.dst], e))
      }
      return {
        actors: this.actors,
        actorHashes: this.actorHashes,
        actorSym: this.actorSym,
        actorKey: this.actorKey,
        persisted: this.persisted,
        persistedHashes: this.persistedHashes,
        persistedSym: this.persistedSym,
        timers: this.timers,
        timerHashes: this.timerHashes,
        network: this.network,
        crashed: this.crashed,
        crashes: this.crashes,
        isolated: this.isolated,
        partitions: this.partitions,
        history: this.history,
        historyHi: this.historyHi,
        historyLo: this.historyLo,
      }
    }
  }

  const sameTimer = (a: T, b: T): boolean =>
    a === b || (typeof a === "object" && canonicalEncoding(a) === canonicalEncoding(b))

  const apply = (d: Draft, id: Id, step: Step<S, Cmd>): void => {
    d.setActor(id, step.state)
    for (const c of step.commands) {
      switch (c.kind) {
        case "send":
          if (!Number.isInteger(c.to) || c.to < 0 || c.to >= n) {
            throw new RangeError(`actor ${names[id]} sent to unknown actor ${c.to}`)
          }
          // Messages to a crashed actor, or across a partition, are lost.
          if ((d.crashed & (1 << c.to)) !== 0 || cut(d.isolated, id, c.to)) break
          d.addMessage(envelope(id, c.to, c.msg))
          break
        case "setTimer": {
          const timers = d.timers[id]!
          if (!timers.some((t) => sameTimer(t, c.timer))) d.setTimers(id, [...timers, c.timer])
          break
        }
        case "cancelTimer": {
          const timers = d.timers[id]!
          if (timers.some((t) => sameTimer(t, c.timer))) {
            d.setTimers(
              id,
              timers.filter((t) => !sameTimer(t, c.timer)),
            )
          }
          break
        }
        case "persist":
          d.setPersisted(id, c.value)
          break
        case "invoke":
          d.record({ kind: "invoke", client: id, input: c.input })
          break
        case "return":
          d.record({ kind: "return", client: id, output: c.output })
          break
      }
    }
  }

  const emptyTimers: ReadonlyArray<T> = []
  const initial = ((): State => {
    const d = new Draft({
      actors: config.actors.map(() => undefined),
      actorHashes: config.actors.flatMap(() => [CRASHED_HI, CRASHED_LO]),
      actorSym: config.actors.map(() => crashedSym),
      actorKey: config.actors.flatMap(() => [CRASHED_HI, CRASHED_LO]),
      persisted: config.actors.map(() => undefined),
      persistedHashes: config.actors.flatMap(() => [NONE_HI, NONE_LO]),
      persistedSym: config.actors.map(() => noneSym),
      timers: config.actors.map(() => emptyTimers),
      timerHashes: config.actors.flatMap(() => [Number.NaN, Number.NaN]),
      network: [],
      crashed: 0,
      crashes: 0,
      isolated: 0,
      partitions: 0,
      history: [],
      historyHi: 0,
      historyLo: 0,
    })
    config.actors.forEach((actor, id) => {
      apply(d, id, actor.start(id, undefined))
    })
    return d.freeze()
  })()

  const isQuiet = (s: State): boolean => s.network.length === 0 && s.isolated === 0

  const actions = (s: State, out: Array<SystemAction<T>>): void => {
    const network = s.network
    // Deliveries: one per distinct message (duplicates in flight are interchangeable).
    for (let i = 0; i < network.length; i++) {
      const e = network[i]!
      if (ordered) {
        // Only the oldest message of each channel can arrive.
        if (i > 0 && network[i - 1]!.src === e.src && network[i - 1]!.dst === e.dst) continue
      } else if (i > 0 && network[i - 1]!.hi === e.hi && network[i - 1]!.lo === e.lo) continue
      const receiver = config.actors[e.dst]!
      // (On FIFO channels a message left in flight would block the ones
      // behind it, so there every message is delivered as usual.)
      if (!ordered && receiver.accepts !== undefined) {
        const current = s.actors[e.dst]
        if (current !== undefined && !receiver.accepts(e.dst, current, e.src, e.msg)) continue
      }
      out.push({ kind: "deliver", index: i })
    }
    for (let id = 0; id < n; id++) {
      const timers = s.timers[id]!
      if (timers.length === 0) continue
      const actor = config.actors[id]!
      if (actor.timeout === undefined) continue
      for (const timer of timers) {
        if (quiet?.(timer) && !isQuiet(s)) continue
        out.push({ kind: "timeout", actor: id, timer })
      }
    }
    if (lossy) {
      for (let i = 0; i < network.length; i++) {
        const e = network[i]!
        if (i > 0 && network[i - 1]!.hi === e.hi && network[i - 1]!.lo === e.lo) continue
        out.push({ kind: "drop", index: i })
      }
    }
    if (s.crashes < maxCrashes) {
      for (const id of crashable) {
        if ((s.crashed & (1 << id)) === 0) out.push({ kind: "crash", actor: id })
      }
    }
    if (restart) {
      for (const id of crashable) {
        if ((s.crashed & (1 << id)) !== 0) out.push({ kind: "restart", actor: id })
      }
    }
    if (s.isolated === 0) {
      if (s.partitions < maxPartitions) {
        for (const id of cuttable) out.push({ kind: "isolate", actor: id })
      }
    } else out.push({ kind: "heal" })
  }

  const next = (s: State, a: SystemAction<T>): State | undefined => {
    switch (a.kind) {
      case "deliver": {
        const e = s.network[a.index]!
        const actor = config.actors[e.dst]!
        const current = s.actors[e.dst]
        if (current === undefined) return undefined
        const step = actor.receive(e.dst, current, e.src, e.msg)
        if (step === undefined && duplicating) return undefined
        const d = new Draft(s)
        if (!duplicating) d.removeMessage(a.index)
        if (step !== undefined) apply(d, e.dst, step)
        return d.freeze()
      }
      case "drop": {
        const d = new Draft(s)
        d.removeMessage(a.index)
        return d.freeze()
      }
      case "timeout": {
        const current = s.actors[a.actor]
        if (current === undefined) return undefined
        const d = new Draft(s)
        d.setTimers(
          a.actor,
          s.timers[a.actor]!.filter((t) => !sameTimer(t, a.timer)),
        )
        const step = config.actors[a.actor]!.timeout?.(a.actor, current, a.timer)
        if (step !== undefined) apply(d, a.actor, step)
        return d.freeze()
      }
      case "crash": {
        const d = new Draft(s)
        d.setActor(a.actor, undefined)
        d.setTimers(a.actor, emptyTimers)
        d.crashed = s.crashed | (1 << a.actor)
        d.crashes = s.crashes + 1
        d.dropMessages((e) => e.dst === a.actor)
        return d.freeze()
      }
      case "restart": {
        const d = new Draft(s)
        d.crashed = s.crashed & ~(1 << a.actor)
        apply(d, a.actor, config.actors[a.actor]!.start(a.actor, s.persisted[a.actor]))
        return d.freeze()
      }
      case "isolate": {
        const d = new Draft(s)
        d.isolated = 1 << a.actor
        d.partitions = s.partitions + 1
        d.dropMessages((e) => cut(d.isolated, e.src, e.dst))
        return d.freeze()
      }
      case "heal": {
        const d = new Draft(s)
        d.isolated = 0
        return d.freeze()
      }
    }
  }

  /** Index of actor `id`'s plain hash in `actorHashes`, computing it on first use. */
  const actorHashAt = (s: State, id: Id): number => {
    const at = 2 * id
    const ah = s.actorHashes as Array<number>
    if (!Number.isNaN(ah[at]!)) return at
    hasher.reset()
    hashState(s.actors[id]!, hasher)
    hasher.finish()
    ah[at] = hasher.hi
    ah[at + 1] = hasher.lo
    return at
  }

  /** Index of actor `id`'s timer hash in `timerHashes`, computing it on first use. */
  const timerHashAt = (s: State, id: Id): number => {
    const at = 2 * id
    const th = s.timerHashes as Array<number>
    if (!Number.isNaN(th[at]!)) return at
    const timers = s.timers[id]!
    hasher.reset()
    hasher.word(timers.length)
    if (timers.length === 1) hasher.value(timers[0])
    else if (timers.length > 1) hasher.value(new Set(timers))
    hasher.finish()
    th[at] = hasher.hi
    th[at + 1] = hasher.lo
    return at
  }

  const fingerprint = (s: State, h: Hasher): void => {
    for (let id = 0; id < n; id++) {
      const at = actorHashAt(s, id)
      h.word(s.actorHashes[at]!)
      h.word(s.actorHashes[at + 1]!)
    }
    const ph = s.persistedHashes
    for (let i = 0; i < ph.length; i++) h.word(ph[i]!)
    for (let id = 0; id < n; id++) {
      const timers = s.timers[id]!
      h.word(timers.length)
      if (timers.length === 0) continue
      if (timers.length === 1) {
        h.value(timers[0])
        continue
      }
      // A set: combine the timers' own fingerprints commutatively.
      h.value(new Set(timers))
    }
    const network = s.network
    h.word(network.length)
    for (let i = 0; i < network.length; i++) h.fingerprint(network[i]!.hi, network[i]!.lo)
    h.word(s.crashed)
    h.word(s.crashes)
    h.word(s.isolated)
    h.word(s.partitions)
    h.fingerprint(s.historyHi, s.historyLo)
  }

  // The least fingerprint over renamings of the interchangeable actors: the
  // same for every state of a symmetry class. Each part uses the cached
  // per-renaming hashes; the network is combined commutatively (its stored
  // order depends on the unrenamed hashes). Only renamings that put the
  // actors in order of an invariant key are tried (the least of an actor's
  // hashes over all renamings, which renaming cannot change): the candidates
  // of symmetric states correspond one to one, so the least fingerprint
  // among them is still canonical, and usually a single renaming is tried.
  const group = symmetry?.actors ?? []
  const symGroupMask = group.reduce((m, id) => m | (1 << id), 0)
  const timerHashes = new Array<number>(2 * n)
  const keyHi = new Array<number>(n).fill(0)
  const keyLo = new Array<number>(n).fill(0)
  const symHasher = new Hasher()
  /** Actor `id`'s hashes under the renamings, with renaming `p`'s computed on first use. */
  const actorSymAt = (s: State, id: Id, p: number): ReadonlyArray<number> => {
    const sym = s.actorSym[id] as Array<number>
    if (!Number.isNaN(sym[2 * p]!)) return sym
    hasher.reset()
    symmetry!.hashState(s.actors[id]!, renames[p]!, hasher)
    hasher.finish()
    sym[2 * p] = hasher.hi
    sym[2 * p + 1] = hasher.lo
    return sym
  }
  const symmetricFingerprint = (s: State, h: Hasher): void => {
    for (let id = 0; id < n; id++) {
      const at = timerHashAt(s, id)
      timerHashes[2 * id] = s.timerHashes[at]!
      timerHashes[2 * id + 1] = s.timerHashes[at + 1]!
    }
    // Invariant keys of the group's actors (with their timers and disks).
    for (const id of group) {
      let bh = s.actorKey[2 * id]!
      let bl = s.actorKey[2 * id + 1]!
      if (Number.isNaN(bh)) {
        // No invariant hash: the least hash over all renamings.
        for (let p = 0; p < P; p++) {
          const sym = actorSymAt(s, id, p)
          const h1 = sym[2 * p]!
          const h2 = sym[2 * p + 1]!
          if (p === 0 || h1 < bh || (h1 === bh && h2 < bl)) {
            bh = h1
            bl = h2
          }
        }
      }
      let ph = 0
      let pl = 0
      const psym = s.persistedSym[id]!
      for (let p = 0; p < P; p++) {
        const h1 = psym[2 * p]!
        const h2 = psym[2 * p + 1]!
        if (p === 0 || h1 < ph || (h1 === ph && h2 < pl)) {
          ph = h1
          pl = h2
        }
      }
      symHasher.reset()
      symHasher.word(bh)
      symHasher.word(bl)
      symHasher.word(ph)
      symHasher.word(pl)
      symHasher.word(timerHashes[2 * id]!)
      symHasher.word(timerHashes[2 * id + 1]!)
      symHasher.finish()
      keyHi[id] = symHasher.hi
      keyLo[id] = symHasher.lo
    }
    let found = false
    let bestHi = 0
    let bestLo = 0
    for (let p = 0; p < P; p++) {
      const map = perms[p]!
      const inv = inverses[p]!
      // Candidate only if the actors land in non-decreasing key order.
      let sorted = true
      let prev = -1
      for (let j = 0; j < n && sorted; j++) {
        if ((symGroupMask & (1 << j)) === 0) continue
        const i = inv[j]!
        if (prev >= 0) {
          const ph = keyHi[prev]!
          const ch = keyHi[i]!
          if (ch < ph || (ch === ph && keyLo[i]! < keyLo[prev]!)) sorted = false
        }
        prev = i
      }
      if (!sorted) continue
      const x = symHasher.reset()
      for (let j = 0; j < n; j++) {
        const i = inv[j]!
        const sym = actorSymAt(s, i, p)
        const psym = s.persistedSym[i]!
        x.word(sym[2 * p]!)
        x.word(sym[2 * p + 1]!)
        x.word(psym[2 * p]!)
        x.word(psym[2 * p + 1]!)
        x.word(timerHashes[2 * i]!)
        x.word(timerHashes[2 * i + 1]!)
      }
      let a1 = 0
      let a2 = 0
      for (const e of s.network) {
        envelopeSym(e, p)
        a1 = (a1 + e.sym[2 * p]!) | 0
        a2 = (a2 + e.sym[2 * p + 1]!) | 0
      }
      x.word(s.network.length)
      x.word(a1)
      x.word(a2)
      let crashed = 0
      let isolated = 0
      for (let i = 0; i < n; i++) {
        if ((s.crashed & (1 << i)) !== 0) crashed |= 1 << map[i]!
        if ((s.isolated & (1 << i)) !== 0) isolated |= 1 << map[i]!
      }
      x.word(crashed)
      x.word(s.crashes)
      x.word(isolated)
      x.word(s.partitions)
      x.fingerprint(s.historyHi, s.historyLo)
      x.finish()
      if (!found || x.hi < bestHi || (x.hi === bestHi && x.lo < bestLo)) {
        found = true
        bestHi = x.hi
        bestLo = x.lo
      }
    }
    h.fingerprint(bestHi, bestLo)
  }

  const showMsg = (m: M): string => config.describe?.msg?.(m) ?? canonicalEncoding(m)
  const showTimer = (t: T): string => config.describe?.timer?.(t) ?? canonicalEncoding(t)
  const showState = (s: S | undefined, id: Id): string =>
    s === undefined ? "(crashed)" : (config.describe?.state?.(s, id) ?? canonicalEncoding(s))
  const showEnvelope = (e: Envelope<M>): string =>
    `${names[e.src]} → ${names[e.dst]}: ${showMsg(e.msg)}`

  const describeAction = (s: State, a: SystemAction<T>): string => {
    switch (a.kind) {
      case "deliver":
        return `deliver ${showEnvelope(s.network[a.index]!)}`
      case "drop":
        return `network drops ${showEnvelope(s.network[a.index]!)}`
      case "timeout":
        return `${names[a.actor]}: timer ${showTimer(a.timer)} fires`
      case "crash":
        return `${names[a.actor]} crashes`
      case "restart":
        return `${names[a.actor]} restarts`
      case "isolate": {
        const others = cuttable.filter((id) => id !== a.actor).map((id) => names[id])
        return `partition: ${names[a.actor]} cut off from ${others.join(", ")}`
      }
      case "heal":
        return "partition heals"
    }
  }

  const describeStep = (prev: State, a: SystemAction<T>, next: State): Array<string> => {
    const lines: Array<string> = []
    for (let id = 0; id < n; id++) {
      actorHashAt(prev, id)
      actorHashAt(next, id)
      if (
        prev.actorHashes[2 * id] !== next.actorHashes[2 * id] ||
        prev.actorHashes[2 * id + 1] !== next.actorHashes[2 * id + 1]
      ) {
        // Changes the rendering does not show are left out.
        const was = showState(prev.actors[id], id)
        const now = showState(next.actors[id], id)
        if (was !== now) lines.push(`${names[id]}: ${was} → ${now}`)
      }
      if (prev.persisted[id] !== next.persisted[id] && next.persisted[id] !== undefined) {
        const p = next.persisted[id] as P
        lines.push(
          `${names[id]} persists ${config.describe?.persisted?.(p) ?? canonicalEncoding(p)}`,
        )
      }
      const was = prev.timers[id]!
      const now = next.timers[id]!
      for (const t of now) {
        if (!was.some((x) => sameTimer(x, t))) lines.push(`${names[id]} sets timer ${showTimer(t)}`)
      }
    }
    // Messages sent (present now, more times than before) and lost (the
    // reverse, apart from the one delivered or dropped by the action).
    const key = (e: Envelope<M>) => `${e.hi}:${e.lo}`
    const counts = new Map<string, number>()
    for (const e of next.network) counts.set(key(e), (counts.get(key(e)) ?? 0) + 1)
    let taken: Envelope<M> | undefined
    if ((a.kind === "deliver" && !duplicating) || a.kind === "drop") taken = prev.network[a.index]
    for (const e of prev.network) {
      const c = counts.get(key(e)) ?? 0
      if (c > 0) counts.set(key(e), c - 1)
      else if (taken !== undefined && key(taken) === key(e)) taken = undefined
      else if (isDead(next, e)) lines.push(`drops dead ${showEnvelope(e)} (never taken now)`)
      else lines.push(`lost ${showEnvelope(e)}`)
    }
    const fresh = new Map<string, number>()
    for (const e of prev.network) fresh.set(key(e), (fresh.get(key(e)) ?? 0) + 1)
    for (const e of next.network) {
      const c = fresh.get(key(e)) ?? 0
      if (c > 0) fresh.set(key(e), c - 1)
      else lines.push(`sends ${showEnvelope(e)}`)
    }
    for (let i = prev.history.length; i < next.history.length; i++) {
      const ev = next.history[i]!
      lines.push(
        ev.kind === "invoke"
          ? `${names[ev.client]} invokes ${config.describe?.input?.(ev.input) ?? canonicalEncoding(ev.input)}`
          : `${names[ev.client]} gets ${config.describe?.output?.(ev.output) ?? canonicalEncoding(ev.output)}`,
      )
    }
    return lines
  }

  const describeState = (s: State): string => {
    const parts = s.actors.map((a, id) => `${names[id]} ${showState(a, id)}`)
    if (s.network.length > 0) parts.push(`in flight: ${s.network.map(showEnvelope).join("; ")}`)
    return parts.join(", ")
  }

  return {
    config,
    name: config.name,
    initialStates: [initial],
    actions,
    next,
    properties: config.properties,
    ...(config.within === undefined ? {} : { within: config.within }),
    fingerprint,
    ...(config.representative === undefined ? {} : { representative: config.representative }),
    ...(symmetry === undefined ? {} : { symmetricFingerprint }),
    describeAction,
    describeStep,
    describeState,
  }
}
