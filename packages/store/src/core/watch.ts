// Watches: a pure hub that turns the store's change log into watch responses.
// Watches are local to a member (not replicated): each member serves them from
// what it has applied. A watch stream is one client's multiplexed stream (etcd's
// mvcc.WatchStream / gRPC Watch call); the hub emits every response of a stream,
// in order, through one sink, so "created" precedes a watch's events, events come
// in revision order, and a progress notification never overtakes the events it
// covers.
//
// Delivery is exactly once: each watcher remembers the next revision it needs;
// catching up from an old start revision reads the change log synchronously, so
// a watcher is always in sync once created.
import { inRange, type KeyRange, keyRange } from "./bytes.ts"
import { ErrCompacted, ErrEmptyWatcherRange, ErrWatcherDuplicateID } from "./errors.ts"
import type { KeyIndex } from "./keyindex.ts"
import type { MvccStore } from "./mvcc.ts"
import type { Event, KeyValue, WatchCreateRequest, WatchRequest, WatchResponse } from "./types.ts"

/** Receives each response for a stream, in order. */
export type WatchSink = (stream: number, response: WatchResponse) => void

export interface WatchHubOptions {
  /** A response to a `fragment` watch is split when bigger than this (etcd: max request bytes + overhead). */
  readonly maxResponseBytes?: number
  /** A catch-up response holds at least this many events before it is cut at a revision boundary. */
  readonly batchEvents?: number
}

interface Watcher {
  readonly id: number
  readonly stream: StreamState
  readonly range: KeyRange
  readonly noPut: boolean
  readonly noDelete: boolean
  readonly prevKv: boolean
  readonly progressNotify: boolean
  readonly fragment: boolean
  /** Next revision to deliver: events below it were delivered or are not wanted. */
  nextRev: number
  /** Sent events since the last periodic progress notification. */
  busy: boolean
  /** Events gathered during one sync. */
  pending: Event[] | undefined
}

interface StreamState {
  readonly id: number
  readonly watchers: Map<number, Watcher>
  nextWatchId: number
}

const NO_EVENTS: ReadonlyArray<Event> = Object.freeze([])

const response = (
  revision: number,
  watchId: number,
  fields: Partial<Omit<WatchResponse, "header" | "watch_id">>,
): WatchResponse => ({
  header: { revision },
  watch_id: watchId,
  created: fields.created ?? false,
  canceled: fields.canceled ?? false,
  compact_revision: fields.compact_revision ?? 0,
  cancel_reason: fields.cancel_reason ?? "",
  fragment: fields.fragment ?? false,
  events: fields.events ?? NO_EVENTS,
})

/** Event size estimate for fragmenting: bytes of keys and values plus framing. */
const eventSize = (e: Event): number =>
  e.kv.key.length +
  e.kv.value.length +
  (e.prev_kv === undefined ? 0 : e.prev_kv.key.length + e.prev_kv.value.length + 32) +
  48

export class WatchHub {
  private store: MvccStore
  private readonly emit: WatchSink
  private readonly maxResponseBytes: number
  private readonly batchEvents: number
  /** Events up to this revision have been dispatched. */
  private synced: number
  private readonly streams = new Map<number, StreamState>()
  private nextStreamId = 1
  private readonly keyWatchers = new Map<string, Set<Watcher>>()
  private readonly rangeWatchers = new Set<Watcher>()

  constructor(store: MvccStore, emit: WatchSink, options: WatchHubOptions = {}) {
    this.store = store
    this.emit = emit
    this.maxResponseBytes = options.maxResponseBytes ?? 1.5 * 1024 * 1024 + 512 * 1024
    this.batchEvents = options.batchEvents ?? 1000
    this.synced = store.rev
  }

  /** Number of live watchers (all streams). */
  get size(): number {
    let n = 0
    for (const s of this.streams.values()) n += s.watchers.size
    return n
  }

  /** Number of open watch streams. */
  get streamCount(): number {
    return this.streams.size
  }

  openStream(): number {
    const id = this.nextStreamId++
    this.streams.set(id, { id, watchers: new Map(), nextWatchId: 0 })
    return id
  }

  /** Drops a stream and its watchers (the client went away). */
  closeStream(id: number): void {
    const s = this.streams.get(id)
    if (s === undefined) return
    for (const w of s.watchers.values()) this.unregister(w)
    this.streams.delete(id)
  }

  /** Handles one request of a stream; the responses go to the sink. */
  request(streamId: number, req: WatchRequest): void {
    const s = this.streams.get(streamId)
    if (s === undefined) return
    if ("create_request" in req) this.create(s, req.create_request)
    else if ("cancel_request" in req) {
      const w = s.watchers.get(req.cancel_request.watch_id)
      // Cancelling an unknown watch is ignored, as etcd does.
      if (w === undefined) return
      this.unregister(w)
      s.watchers.delete(w.id)
      this.emit(s.id, response(this.synced, w.id, { canceled: true }))
    } else {
      // Every watcher of the stream is in sync at `synced`: one notification speaks for all.
      this.emit(s.id, response(this.synced, -1, {}))
    }
  }

  private create(s: StreamState, c: WatchCreateRequest): void {
    const rev = this.store.rev
    const refuse = (reason: string): void =>
      this.emit(s.id, response(rev, -1, { created: true, canceled: true, cancel_reason: reason }))
    // An empty key means the smallest key.
    const key = c.key.length === 0 ? new Uint8Array([0]) : c.key
    const range = keyRange(key, c.range_end)
    if (range.end !== undefined && range.end !== "" && range.start >= range.end) {
      refuse(ErrEmptyWatcherRange)
      return
    }
    const start = c.start_revision ?? 0
    if (start < 0) {
      refuse(ErrCompacted.message)
      return
    }
    let id = c.watch_id ?? 0
    if (id !== 0) {
      if (s.watchers.has(id)) {
        refuse(ErrWatcherDuplicateID)
        return
      }
    } else {
      while (s.watchers.has(s.nextWatchId)) s.nextWatchId++
      id = s.nextWatchId++
    }
    this.emit(s.id, response(rev, id, { created: true }))
    const compactRev = this.store.compactRev
    if (start > 0 && start < compactRev) {
      this.emit(s.id, response(rev, id, { canceled: true, compact_revision: compactRev }))
      return
    }
    const filters = c.filters ?? []
    const w: Watcher = {
      id,
      stream: s,
      range,
      noPut: filters.includes("NOPUT"),
      noDelete: filters.includes("NODELETE"),
      prevKv: c.prev_kv === true,
      progressNotify: c.progress_notify === true,
      fragment: c.fragment === true,
      nextRev: start === 0 ? rev + 1 : start,
      busy: false,
      pending: undefined,
    }
    s.watchers.set(id, w)
    this.register(w)
    if (start !== 0 && start <= this.synced) this.catchUp(w)
  }

  private register(w: Watcher): void {
    if (w.range.end === undefined) {
      let set = this.keyWatchers.get(w.range.start)
      if (set === undefined) this.keyWatchers.set(w.range.start, (set = new Set()))
      set.add(w)
    } else this.rangeWatchers.add(w)
  }

  private unregister(w: Watcher): void {
    if (w.range.end === undefined) {
      const set = this.keyWatchers.get(w.range.start)
      set?.delete(w)
      if (set?.size === 0) this.keyWatchers.delete(w.range.start)
    } else this.rangeWatchers.delete(w)
  }

  /** Delivers the logged events in [w.nextRev, synced] to a new watcher. */
  private catchUp(w: Watcher): void {
    const store = this.store
    const end = store.logIndexOf(this.synced + 1)
    let batch: Event[] = []
    let lastRev = 0
    for (let i = store.logIndexOf(w.nextRev); i < end; i++) {
      const kv = store.logEntry(i)
      if (!inRange(w.range, store.logKey(i).key)) continue
      if (batch.length >= this.batchEvents && kv.mod_revision !== lastRev) {
        this.send(w, batch)
        batch = []
      }
      const ev = this.event(w, kv, store.logKey(i))
      if (ev !== undefined) {
        batch.push(ev)
        lastRev = kv.mod_revision
      }
    }
    if (batch.length > 0) this.send(w, batch)
    w.nextRev = this.synced + 1
  }

  private event(w: Watcher, kv: KeyValue, ki: KeyIndex): Event | undefined {
    const isPut = kv.version !== 0
    if (isPut ? w.noPut : w.noDelete) return undefined
    const type = isPut ? "PUT" : "DELETE"
    if (w.prevKv) {
      const prev = ki.before(kv)
      if (prev !== undefined && prev.version !== 0) return { type, kv, prev_kv: prev }
    }
    return { type, kv }
  }

  private send(w: Watcher, events: Event[]): void {
    w.busy = true
    const rev = this.synced
    if (w.fragment) {
      let size = 0
      for (const e of events) size += eventSize(e)
      if (size > this.maxResponseBytes) {
        let chunk: Event[] = []
        let chunkSize = 0
        for (const e of events) {
          const n = eventSize(e)
          if (chunk.length > 0 && chunkSize + n > this.maxResponseBytes) {
            this.emit(w.stream.id, response(rev, w.id, { events: chunk, fragment: true }))
            chunk = []
            chunkSize = 0
          }
          chunk.push(e)
          chunkSize += n
        }
        this.emit(w.stream.id, response(rev, w.id, { events: chunk }))
        return
      }
    }
    this.emit(w.stream.id, response(rev, w.id, { events }))
  }

  /**
   * Switches to a store restored from a snapshot (a follower catching up):
   * watchers receive the changes they have not seen from its change log, or
   * are cancelled with its compact revision when the snapshot no longer has
   * them. A snapshot behind what was already dispatched cancels every watcher.
   */
  restore(store: MvccStore): void {
    this.store = store
    if (store.rev < this.synced) {
      for (const s of this.streams.values()) {
        for (const w of s.watchers.values()) this.cancelCompacted(s, w, store.rev)
      }
      this.synced = store.rev
      return
    }
    this.sync()
  }

  private cancelCompacted(s: StreamState, w: Watcher, rev: number): void {
    this.unregister(w)
    s.watchers.delete(w.id)
    this.emit(
      s.id,
      response(rev, w.id, { canceled: true, compact_revision: this.store.compactRev }),
    )
  }

  /**
   * Dispatches the changes applied since the last sync. Call after applying
   * entries (before a compaction can drop them from the log).
   */
  sync(): void {
    const store = this.store
    const to = store.rev
    if (to <= this.synced) return
    if (this.synced + 1 < store.compactRev) {
      // Changes were compacted away before they were dispatched: every watcher
      // that may have missed one is cancelled with the compact revision; the
      // others still get what the log holds.
      for (const s of this.streams.values()) {
        for (const w of s.watchers.values()) {
          if (w.nextRev < store.compactRev) this.cancelCompacted(s, w, to)
        }
      }
      this.synced = store.compactRev - 1
    }
    const from = this.synced + 1
    this.synced = to
    if (this.keyWatchers.size === 0 && this.rangeWatchers.size === 0) return
    const touched: Watcher[] = []
    const n = store.logLength
    for (let i = store.logIndexOf(from); i < n; i++) {
      const kv = store.logEntry(i)
      const ki = store.logKey(i)
      const ws = this.keyWatchers.get(ki.key)
      if (ws !== undefined) for (const w of ws) this.offer(w, kv, ki, touched)
      for (const w of this.rangeWatchers) {
        if (inRange(w.range, ki.key)) this.offer(w, kv, ki, touched)
      }
    }
    for (const w of touched) {
      const events = w.pending!
      w.pending = undefined
      w.nextRev = to + 1
      this.send(w, events)
    }
  }

  private offer(w: Watcher, kv: KeyValue, ki: KeyIndex, touched: Watcher[]): void {
    if (kv.mod_revision < w.nextRev) return
    const ev = this.event(w, kv, ki)
    if (ev === undefined) return
    if (w.pending === undefined) {
      w.pending = [ev]
      touched.push(w)
    } else w.pending.push(ev)
  }

  /**
   * The periodic progress notification (etcd: every 10 minutes): each watcher
   * created with progress_notify that sent no events since the last one gets an
   * empty response at the synced revision.
   */
  progressNotify(): void {
    for (const s of this.streams.values()) {
      for (const w of s.watchers.values()) {
        if (!w.progressNotify) continue
        if (!w.busy) this.emit(s.id, response(this.synced, w.id, {}))
        w.busy = false
      }
    }
  }
}
