// The file WAL: segmented files of checksummed frames with group commit.
//
// Durability contract: a promise from `save`, `append` or `truncate` resolves
// only after the bytes of its records and everything written before them are
// fdatasync'ed (and, for a new segment, the directory is fsynced). Calls are
// ordered: records reach the file in call order, and all records of one call
// land in one batch, which recovery keeps or drops as a whole.
//
// Group commit: calls encode their frames synchronously into a pending buffer.
// One flush at a time takes the whole buffer, appends a Commit frame, writes it
// with one write and makes it durable with one fdatasync; calls that arrive
// meanwhile accumulate for the next flush, so N concurrent appenders share one
// fdatasync. The flush runs a microtask after the first call of a batch, or
// at once when the caller says the batch is complete (`flushNow`); callers
// on a hot path use `persistCallback`, which allocates no promise.

import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { Schema } from "effect"
import { clearArray } from "../core/arrays.ts"
import {
  WalClosedError,
  WalCorruptError,
  type WalError,
  WalInputError,
  WalIoError,
  WalLockedError,
} from "./errors.ts"
import {
  FrameWriter,
  type HardState,
  MAX_ENTRY_DATA_BYTES,
  MAX_VOTE_BYTES,
  type ScannedRecord,
  scanSegment,
  type WalEntry,
} from "./format.ts"
import { LogReplay, reconcile } from "./replay.ts"
import {
  loadNewestSnapshot,
  MAX_SNAPSHOT_META_BYTES,
  parseSnapshotFileName,
  type Snapshot,
  type SnapshotInput,
  syncDirectory,
  writeSnapshotFile,
} from "./snapshot.ts"
import { TermRuns } from "./terms.ts"

export const WalOptions = Schema.Struct({
  /** Directory holding segments, snapshots and the lock file; created if missing. */
  dir: Schema.NonEmptyString,
  /** Target segment size: a new segment starts once the current one reaches it. */
  segmentBytes: Schema.optionalKey(
    Schema.Int.check(Schema.isBetween({ minimum: 1024, maximum: 2 ** 31 })),
  ),
  /** Snapshot files kept after saving a new one (the newest included). */
  retainSnapshots: Schema.optionalKey(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })),
  ),
  /**
   * A batch of at most this many bytes is made durable with a synchronous
   * fdatasync on the calling thread (default 1 KiB, about one small entry;
   * 0: never). It skips the thread-pool round trip (two wake-ups: about
   * 0.1 ms at the median here and most of the tail on a busy machine) but
   * blocks the event loop for the sync, so it pays only while a member is
   * nearly idle (one client); a larger batch means other requests are under
   * way, and it syncs in the thread pool so that they keep moving meanwhile
   * (at 16 store clients a 16 KiB bound cost about a fifth of the puts/s).
   */
  inlineSyncBytes: Schema.optionalKey(
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2 ** 31 })),
  ),
  /**
   * Zeros written ahead of the data in the active segment, this many bytes at
   * a time (default 1 MiB, at most `segmentBytes`; 0: never). A record then
   * overwrites blocks the file already has, so its fdatasync flushes data
   * only, with no journal commit for a new size or new blocks: on this
   * machine's ext4 one fdatasync of a small record took p50 0.084 ms instead
   * of 0.136 alone and 0.145 instead of 0.20 with three writers (C, 2,000
   * records). Recovery reads zeros after the last batch as the end of data.
   */
  preallocateBytes: Schema.optionalKey(
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2 ** 30 })),
  ),
})
export type WalOptions = typeof WalOptions.Type

/** How a callback-style call ends: `failure` undefined once durable. */
export type WalDone = (failure: WalError | undefined) => void

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
export const DEFAULT_INLINE_SYNC_BYTES = 1024
export const DEFAULT_PREALLOCATE_BYTES = 1024 * 1024
const DEFAULT_RETAIN_SNAPSHOTS = 2
const LOCK_FILE = "LOCK"
const SEGMENT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/

const hex16 = (n: number): string => n.toString(16).padStart(16, "0")
export const segmentFileName = (seq: number, firstIndex: number): string =>
  `${hex16(seq)}-${hex16(firstIndex)}.wal`

/** What `open` found on disk. */
export interface WalRecovery {
  /** The newest valid snapshot, if any. */
  readonly snapshot: Snapshot | undefined
  readonly hardState: HardState | undefined
  /** Entries after the snapshot, contiguous from `firstIndex`. */
  readonly entries: ReadonlyArray<WalEntry>
  /** `snapshot.index + 1`, or 1 without a snapshot. */
  readonly firstIndex: number
  /** Index of the last entry (the snapshot's index when `entries` is empty). */
  readonly lastIndex: number
  /** A torn last batch that was cut off, if there was one. */
  readonly tornTail:
    | { readonly file: string; readonly offset: number; readonly reason: string }
    | undefined
  /** Newer snapshot files that failed validation and were skipped. */
  readonly rejectedSnapshots: ReadonlyArray<{ readonly path: string; readonly reason: string }>
}

interface ResolvedOptions {
  readonly segmentBytes: number
  readonly retainSnapshots: number
  readonly inlineSyncBytes: number
  readonly preallocateBytes: number
}

interface Segment {
  readonly seq: number
  readonly firstIndex: number
  readonly path: string
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER

const isIndex = (n: unknown): n is number =>
  typeof n === "number" && Number.isSafeInteger(n) && n >= 1
const isCount = (n: unknown): n is number =>
  typeof n === "number" && Number.isSafeInteger(n) && n >= 0

const fdatasync = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())))

const writeAll = (fd: number, bytes: Uint8Array, position: number): void => {
  let done = 0
  while (done < bytes.length) {
    done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done)
  }
}

/**
 * When process `pid` started (clock ticks after boot, /proc/<pid>/stat field
 * 22), or undefined where /proc cannot tell. With the pid it names one
 * process: a pid alone may have been given to another process since.
 */
const processStart = (pid: number | "self"): string | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    return undefined
  }
}

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

export class FileWal {
  readonly dir: string
  private readonly segmentBytes: number
  private readonly retainSnapshots: number
  private readonly inlineSyncBytes: number
  /** Zeros written ahead at a time (0: none); never more than `segmentBytes`. */
  private readonly preallocateBytes: number
  /** Durable segments, oldest first; the last is the one being appended to. */
  private segments: Segment[]
  private fd: number
  /** Write position in the active segment (the end of its data). */
  private size: number
  /**
   * Length of the active segment's file: from `size` to here it holds only
   * zeros (written ahead, see `preallocateBytes`).
   */
  private fileEnd: number

  // State of everything accepted (encoded), durable or not.
  private acceptedLastIndex: number
  private acceptedHardState: HardState | undefined
  // State of everything durable.
  private durableLastIndex: number
  private durableHardState: HardState | undefined
  /** Newest durable snapshot's index: entries up to it are never rewritten. */
  private snapshotIndex: number

  private pending = new FrameWriter()
  private spare = new FrameWriter()
  /** Told when the records encoded into `pending` are durable (or failed). */
  private waiters: WalDone[] = []
  /** Waiters of the batch being written (barriers join them). */
  private inflight: WalDone[] = []
  /** An emptied waiter array, reused for the next batch (no array per batch). */
  private spareWaiters: WalDone[] = []
  private scheduled = false
  private flushing = false
  private idle: Array<() => void> = []
  private failure: WalError | undefined
  /** `close` was called: new calls are refused (calls waiting on the gate still run). */
  private closing = false
  private closed = false
  /** Serialises snapshot writes and segment removal. */
  private control: Promise<unknown> = Promise.resolve()
  /** `persist` calls with a snapshot that have not finished. */
  private readonly persisting = new Set<Promise<void>>()
  /** Set while `persist` writes a snapshot: log calls wait for it, in order. */
  private gate: Promise<void> | undefined
  /** Terms of the accepted log. */
  private terms: TermRuns
  private readonly counters = { batches: 0, bytes: 0, segments: 0 }

  private constructor(
    dir: string,
    options: ResolvedOptions,
    segments: Segment[],
    fd: number,
    size: number,
    fileEnd: number,
    lastIndex: number,
    hardState: HardState | undefined,
    snapshotIndex: number,
  ) {
    this.dir = dir
    this.segmentBytes = options.segmentBytes
    this.retainSnapshots = options.retainSnapshots
    this.inlineSyncBytes = options.inlineSyncBytes
    this.preallocateBytes = Math.min(options.preallocateBytes, options.segmentBytes)
    this.segments = segments
    this.fd = fd
    this.size = size
    this.fileEnd = Math.max(fileEnd, size)
    this.acceptedLastIndex = this.durableLastIndex = lastIndex
    this.acceptedHardState = this.durableHardState = hardState
    this.snapshotIndex = snapshotIndex
    this.terms = new TermRuns(lastIndex + 1)
  }

  /** Loads the recovered log's terms (the snapshot's last entry included). */
  private seedTerms(snapshot: { index: number; term: number }, entries: ReadonlyArray<WalEntry>) {
    const terms = new TermRuns(snapshot.index === 0 ? 1 : snapshot.index)
    if (snapshot.index > 0) terms.append(snapshot.index, snapshot.term)
    for (const e of entries) terms.append(e.index, e.term)
    this.terms = terms
  }

  /**
   * Opens (creating if needed) the WAL in `options.dir`, recovers its contents
   * and makes them consistent on disk (a torn tail is cut off durably). Fails
   * with `WalCorruptError` for damage a crash cannot explain.
   */
  static async open(options: WalOptions): Promise<{ wal: FileWal; recovery: WalRecovery }> {
    let opts: WalOptions
    try {
      opts = Schema.decodeUnknownSync(WalOptions)(options)
    } catch (e) {
      throw new WalInputError({ field: "options", reason: (e as Error).message })
    }
    const dir = path.resolve(opts.dir)
    await mkdirDurable(dir)
    const lockPath = await acquireLock(dir)
    try {
      return await FileWal.recover(dir, {
        segmentBytes: opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
        retainSnapshots: opts.retainSnapshots ?? DEFAULT_RETAIN_SNAPSHOTS,
        inlineSyncBytes: opts.inlineSyncBytes ?? DEFAULT_INLINE_SYNC_BYTES,
        preallocateBytes: opts.preallocateBytes ?? DEFAULT_PREALLOCATE_BYTES,
      })
    } catch (e) {
      await fsp.rm(lockPath, { force: true })
      throw e
    }
  }

  private static async recover(
    dir: string,
    options: ResolvedOptions,
  ): Promise<{ wal: FileWal; recovery: WalRecovery }> {
    let names = await fsp.readdir(dir).catch(ioFail("readdir", dir))
    // Leftovers of interrupted snapshot or segment creation.
    for (const name of names.filter((n) => n.endsWith(".tmp"))) {
      await fsp.rm(path.join(dir, name), { force: true }).catch(ioFail("unlink", name))
    }
    names = names.filter((n) => !n.endsWith(".tmp"))

    const snap = await loadNewestSnapshot(dir, names)
    const snapshotPoint = snap.snapshot ?? { index: 0, term: 0 }

    const segments: Segment[] = names
      .flatMap((name) => {
        const m = SEGMENT_NAME.exec(name)
        if (m === null) return []
        return [
          {
            seq: Number.parseInt(m[1]!, 16),
            firstIndex: Number.parseInt(m[2]!, 16),
            path: path.join(dir, name),
          },
        ]
      })
      .sort((a, b) => a.seq - b.seq)
    for (let i = 1; i < segments.length; i++) {
      const s = segments[i]!
      if (s.seq !== segments[i - 1]!.seq + 1)
        throw new WalCorruptError({
          file: s.path,
          offset: 0,
          reason: `segment ${segments[i - 1]!.seq + 1} is missing before segment ${s.seq}`,
        })
    }

    const log = new LogReplay()
    let tornTail: WalRecovery["tornTail"]
    let activeSize = 0
    let activeFileEnd = 0
    let activeTorn = false
    // The previous segment's extent, in case the last one turns out empty.
    let previous = { validLength: 0, fileLength: 0 }
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!
      const isLast = i === segments.length - 1
      // A plain Uint8Array view: Buffer#slice would alias the file's bytes.
      const buf = await fsp.readFile(seg.path).catch(ioFail("read", seg.path))
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
      const scan = scanSegment(bytes, isLast)
      if (scan._tag === "Corrupt")
        throw new WalCorruptError({ file: seg.path, offset: scan.offset, reason: scan.reason })
      if (isLast && scan.records.length === 0) {
        // Crashed while creating this segment: nothing in it was acknowledged.
        await fsp.rm(seg.path, { force: true }).catch(ioFail("unlink", seg.path))
        await syncDirectory(dir).catch(ioFail("fsync", dir))
        if (scan.torn !== undefined) tornTail = { file: seg.path, ...scan.torn }
        segments.pop()
        if (segments.length > 0) {
          // The previous segment becomes the active one; it was scanned
          // strictly, so after its data it holds only zeros (written ahead).
          activeSize = previous.validLength
          activeFileEnd = previous.fileLength
        }
        break
      }
      checkHeader(seg, scan.records[0])
      for (const { offset, record } of scan.records) {
        const err = log.apply(record)
        if (err !== undefined)
          throw new WalCorruptError({ file: seg.path, offset, reason: err.reason })
      }
      previous = { validLength: scan.validLength, fileLength: bytes.length }
      if (isLast) {
        activeSize = scan.validLength
        // Zeros after the data (written ahead, or an extension that a crash
        // left unwritten) are kept as space to write into; anything else is
        // a torn batch and is cut off.
        activeTorn = scan.torn !== undefined
        activeFileEnd = activeTorn ? activeSize : bytes.length
        if (scan.torn !== undefined) tornTail = { file: seg.path, ...scan.torn }
      }
    }

    const rec = reconcile(log, snapshotPoint)
    if (rec._tag === "Gap")
      throw new WalCorruptError({
        file: segments[0]?.path ?? dir,
        offset: 0,
        reason: rec.reason,
      })
    const lastIndex =
      rec.resetTo !== undefined
        ? rec.resetTo - 1
        : rec.entries.length > 0
          ? rec.entries[rec.entries.length - 1]!.index
          : Math.max(log.lastIndex, snapshotPoint.index)

    let fd: number
    if (segments.length === 0) {
      const seg = {
        seq: 1,
        firstIndex: lastIndex + 1,
        path: path.join(dir, segmentFileName(1, lastIndex + 1)),
      }
      fd = await createSegment(dir, seg, log.hardState)
      segments.push(seg)
      activeSize = activeFileEnd = (await fsp.stat(seg.path).catch(ioFail("stat", seg.path))).size
    } else {
      const active = segments[segments.length - 1]!
      fd = await openFd(active.path, "r+")
      if (activeTorn) {
        // Cut the torn batch off durably before anything is appended after it.
        await truncateFd(fd, active.path, activeSize)
      }
    }

    const wal = new FileWal(
      dir,
      options,
      segments,
      fd,
      activeSize,
      activeFileEnd,
      lastIndex,
      log.hardState,
      snapshotPoint.index,
    )
    wal.seedTerms(snapshotPoint, rec.entries)
    if (rec.resetTo !== undefined) {
      // The log disagrees with the snapshot (a crash between installing a
      // snapshot and discarding the log): discard it durably now.
      wal.pending.resetLog(rec.resetTo)
      await wal.enqueue()
    }
    return {
      wal,
      recovery: {
        snapshot: snap.snapshot,
        hardState: log.hardState,
        entries: rec.entries,
        firstIndex: snapshotPoint.index + 1,
        lastIndex,
        tornTail,
        rejectedSnapshots: snap.rejected,
      },
    }
  }

  /** Index of the last entry accepted (durable once its promise resolved). */
  get lastIndex(): number {
    return this.acceptedLastIndex
  }

  /** Index of the last entry known durable. */
  get durableIndex(): number {
    return this.durableLastIndex
  }

  /** The hard state most recently accepted. */
  get hardState(): HardState | undefined {
    return this.acceptedHardState
  }

  /** The term of the accepted entry at `index`, if the log holds it. */
  termAt(index: number): number | undefined {
    return this.terms.termAt(index)
  }

  /**
   * Appends entries and/or a hard state as one atomic record group. Entries
   * must be contiguous, start at most at `lastIndex + 1` (an earlier start
   * replaces the suffix from there, as Raft does with conflicting entries) and
   * after the newest snapshot. Resolves when durable. With neither, a barrier:
   * resolves once everything accepted before it is durable.
   */
  save(hardState: HardState | undefined, entries: ReadonlyArray<WalEntry>): Promise<void> {
    if (this.closing) return Promise.reject(new WalClosedError({ path: this.dir }))
    return this.saveNow(hardState, entries)
  }

  append(entries: ReadonlyArray<WalEntry>): Promise<void> {
    return this.save(undefined, entries)
  }

  setHardState(hardState: HardState): Promise<void> {
    return this.save(hardState, [])
  }

  /** Resolves once everything accepted so far is durable. */
  sync(): Promise<void> {
    return this.save(undefined, [])
  }

  /**
   * Discards entries with index >= `fromIndex` (after the newest snapshot, at
   * most `lastIndex + 1`); the next entry is `fromIndex`.
   */
  truncate(fromIndex: number): Promise<void> {
    if (this.closing) return Promise.reject(new WalClosedError({ path: this.dir }))
    return this.truncateNow(fromIndex)
  }

  /**
   * The Raft core's `Persist` command, with its semantics: `snapshot` (if any)
   * is written durably and replaces the stored one, and segments wholly
   * covered by it are removed; if the log does not hold an entry with the
   * snapshot's index and term (a snapshot from the leader), the whole log is
   * discarded first, and calls made meanwhile wait so writes stay in call
   * order; then `entries` overwrite the log from `entries[0].index` and
   * `hardState` replaces the stored one, in one atomic batch. Resolves when
   * all of it is durable. With nothing to store it is a barrier.
   */
  persist(write: {
    readonly hardState?: HardState | null | undefined
    readonly snapshot?: SnapshotInput | null | undefined
    readonly entries?: ReadonlyArray<WalEntry> | undefined
  }): Promise<void> {
    if (this.closing) return Promise.reject(new WalClosedError({ path: this.dir }))
    return this.persistNow(write)
  }

  /**
   * `persist` with a callback instead of a promise, for a caller that makes
   * one call per batch of writes (a Raft node's hot path): `done` is called
   * once, with the failure if any. The same order, durability and
   * validation; a refused call (closed, failed, invalid) calls `done` before
   * this returns.
   */
  persistCallback(
    write: {
      readonly hardState?: HardState | null | undefined
      readonly snapshot?: SnapshotInput | null | undefined
      readonly entries?: ReadonlyArray<WalEntry> | undefined
    },
    done: WalDone,
  ): void {
    if (this.closing) {
      done(new WalClosedError({ path: this.dir }))
      return
    }
    if (this.gate !== undefined || (write.snapshot !== null && write.snapshot !== undefined)) {
      // Snapshots and calls behind one take the promise path (rare).
      this.persistNow(write).then(
        () => done(undefined),
        (e: WalError) => done(e),
      )
      return
    }
    const hardState = write.hardState ?? undefined
    const entries = write.entries ?? NO_ENTRIES
    const invalid =
      this.refuse() ??
      (hardState !== undefined ? this.checkHardState(hardState) : undefined) ??
      this.checkEntries(entries, this.acceptedLastIndex, this.snapshotIndex)
    if (invalid !== undefined) {
      done(invalid)
      return
    }
    if (hardState !== undefined || entries.length > 0) this.encode(hardState, entries)
    if (this.pending.length > 0) this.enqueueDone(done)
    else if (this.flushing) this.inflight.push(done)
    else done(undefined)
  }

  /**
   * Writes a snapshot durably (temporary file, fsync, rename, directory fsync)
   * and removes snapshot files beyond the newest `retainSnapshots`. The log is
   * not touched (use `persist` to install a snapshot from a leader); call
   * `compact` afterwards to drop segments it covers.
   */
  saveSnapshot(input: SnapshotInput): Promise<void> {
    const refused = this.refuse()
    if (refused !== undefined) return Promise.reject(refused)
    const checked = checkSnapshot(input)
    if (checked instanceof WalInputError) return Promise.reject(checked)
    return this.serially(() => this.writeSnapshot(checked))
  }

  /**
   * Removes segments whose entries are all at or below `index`, which a durable
   * snapshot must cover. The active segment is never removed.
   */
  compact(index: number): Promise<void> {
    const refused = this.refuse()
    if (refused !== undefined) return Promise.reject(refused)
    if (!isCount(index))
      return Promise.reject(
        new WalInputError({ field: "index", reason: "must be a non-negative safe integer" }),
      )
    if (index > this.snapshotIndex)
      return Promise.reject(
        new WalInputError({
          field: "index",
          reason: `${index} is past the newest durable snapshot (index ${this.snapshotIndex})`,
        }),
      )
    return this.compactNow(index)
  }

  private compactNow(index: number): Promise<void> {
    return this.serially(async () => {
      // A segment's live entries lie below the next segment's first index (that
      // was the log's end when the next segment began; later truncations only
      // remove entries). Each segment also starts with a copy of the hard state,
      // so dropping earlier ones never loses it.
      let remove = 0
      while (
        remove < this.segments.length - 1 &&
        this.segments[remove + 1]!.firstIndex - 1 <= index
      )
        remove++
      if (remove === 0) return
      const victims = this.segments.slice(0, remove)
      this.segments = this.segments.slice(remove)
      // Oldest first: an interruption leaves a contiguous run of segments.
      for (const s of victims) await fsp.rm(s.path, { force: true }).catch(ioFail("unlink", s.path))
      await syncDirectory(this.dir).catch(ioFail("fsync", this.dir))
    })
  }

  /**
   * Counters since open: batches written (one fdatasync each), bytes written,
   * segments started.
   */
  stats(): { readonly batches: number; readonly bytes: number; readonly segments: number } {
    return { ...this.counters }
  }

  /**
   * The active segment: its path, where its data ends (the next batch's
   * offset) and its file's length (zeros written ahead fill the difference).
   * For tests and tools.
   */
  activeSegment(): {
    readonly path: string
    readonly dataBytes: number
    readonly fileBytes: number
  } {
    return { path: this.segments.at(-1)!.path, dataBytes: this.size, fileBytes: this.fileEnd }
  }

  /** Paths of the current segments, oldest first (for tests and tools). */
  segmentPaths(): ReadonlyArray<string> {
    return this.segments.map((s) => s.path)
  }

  /**
   * Waits for accepted records to become durable, then closes the files and
   * releases the lock. Later calls fail with `WalClosedError`.
   */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    // Calls queued behind a snapshot write run first (they were accepted),
    // and persists in progress finish (with their compaction).
    while (this.gate !== undefined || this.persisting.size > 0) {
      if (this.gate !== undefined) await this.gate
      await Promise.allSettled([...this.persisting])
    }
    this.closed = true
    await this.whenIdle()
    await this.control.catch(() => undefined)
    await new Promise<void>((resolve) => fs.close(this.fd, () => resolve()))
    await fsp.rm(path.join(this.dir, LOCK_FILE), { force: true })
  }

  private refuse(): WalError | undefined {
    if (this.failure !== undefined) return this.failure
    if (this.closed) return new WalClosedError({ path: this.dir })
    return undefined
  }

  private serially(op: () => Promise<void>): Promise<void> {
    const run = this.control.then(op, op)
    this.control = run.catch(() => undefined)
    return run
  }

  private checkHardState(hs: HardState): WalInputError | undefined {
    if (!isCount(hs.term))
      return new WalInputError({
        field: "hardState.term",
        reason: "must be a non-negative safe integer",
      })
    if (hs.vote !== null && typeof hs.vote !== "string")
      return new WalInputError({ field: "hardState.vote", reason: "must be a node id or null" })
    const prev = this.acceptedHardState
    // A vote equal to the stored one was measured when it was stored.
    if (
      hs.vote !== null &&
      hs.vote !== prev?.vote &&
      Buffer.byteLength(hs.vote, "utf8") > MAX_VOTE_BYTES
    )
      return new WalInputError({
        field: "hardState.vote",
        reason: `longer than ${MAX_VOTE_BYTES} bytes of UTF-8`,
      })
    if (!isCount(hs.commit))
      return new WalInputError({
        field: "hardState.commit",
        reason: "must be a non-negative safe integer",
      })
    if (prev !== undefined) {
      if (hs.term < prev.term)
        return new WalInputError({
          field: "hardState.term",
          reason: `${hs.term} is below the stored term ${prev.term}; terms never decrease`,
        })
      if (hs.term === prev.term && prev.vote !== null && hs.vote !== prev.vote)
        return new WalInputError({
          field: "hardState.vote",
          reason: `already voted for ${prev.vote} in term ${hs.term}`,
        })
    }
    return undefined
  }

  private saveNow(
    hardState: HardState | undefined,
    entries: ReadonlyArray<WalEntry>,
  ): Promise<void> {
    if (this.gate !== undefined) return this.gate.then(() => this.saveNow(hardState, entries))
    const refused = this.refuse()
    if (refused !== undefined) return Promise.reject(refused)
    const invalid =
      (hardState !== undefined ? this.checkHardState(hardState) : undefined) ??
      this.checkEntries(entries, this.acceptedLastIndex, this.snapshotIndex)
    if (invalid !== undefined) return Promise.reject(invalid)
    if (hardState === undefined && entries.length === 0) return this.barrier()
    this.encode(hardState, entries)
    return this.enqueue()
  }

  /** Encodes validated records into the pending batch and updates the accepted state. */
  private encode(hardState: HardState | undefined, entries: ReadonlyArray<WalEntry>): void {
    const w = this.pending
    const terms = this.terms
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!
      w.entry(e.index, e.term, e.type, e.data)
      terms.append(e.index, e.term)
    }
    if (entries.length > 0) this.acceptedLastIndex = entries[entries.length - 1]!.index
    if (hardState !== undefined) {
      w.hardState(hardState)
      this.acceptedHardState = hardState
    }
  }

  private truncateNow(fromIndex: number): Promise<void> {
    if (this.gate !== undefined) return this.gate.then(() => this.truncateNow(fromIndex))
    const refused = this.refuse()
    if (refused !== undefined) return Promise.reject(refused)
    if (!isIndex(fromIndex))
      return Promise.reject(
        new WalInputError({ field: "fromIndex", reason: "must be a positive safe integer" }),
      )
    if (fromIndex <= this.snapshotIndex)
      return Promise.reject(
        new WalInputError({
          field: "fromIndex",
          reason: `${fromIndex} is covered by the snapshot at index ${this.snapshotIndex}; committed entries cannot be discarded`,
        }),
      )
    if (fromIndex > this.acceptedLastIndex + 1)
      return Promise.reject(
        new WalInputError({
          field: "fromIndex",
          reason: `${fromIndex} is past the next index ${this.acceptedLastIndex + 1}; skipping ahead needs a snapshot (use persist)`,
        }),
      )
    this.pending.truncate(fromIndex)
    this.terms.truncateFrom(fromIndex)
    this.acceptedLastIndex = fromIndex - 1
    return this.enqueue()
  }

  private persistNow(write: {
    readonly hardState?: HardState | null | undefined
    readonly snapshot?: SnapshotInput | null | undefined
    readonly entries?: ReadonlyArray<WalEntry> | undefined
  }): Promise<void> {
    if (this.gate !== undefined) return this.gate.then(() => this.persistNow(write))
    const hardState = write.hardState ?? undefined
    const entries = write.entries ?? []
    if (write.snapshot === null || write.snapshot === undefined)
      return this.saveNow(hardState, entries)
    const refused = this.refuse()
    if (refused !== undefined) return Promise.reject(refused)
    const snapshot = checkSnapshot(write.snapshot)
    if (snapshot instanceof WalInputError) return Promise.reject(snapshot)
    if (snapshot.index < this.snapshotIndex)
      return Promise.reject(
        new WalInputError({
          field: "snapshot.index",
          reason: `${snapshot.index} is older than the stored snapshot at ${this.snapshotIndex}`,
        }),
      )
    // Validate everything against the state after the snapshot, before any write.
    const keep = this.terms.termAt(snapshot.index) === snapshot.term
    const lastAfter = keep ? this.acceptedLastIndex : snapshot.index
    const invalid =
      (hardState !== undefined ? this.checkHardState(hardState) : undefined) ??
      this.checkEntries(entries, lastAfter, snapshot.index)
    if (invalid !== undefined) return Promise.reject(invalid)

    if (keep) {
      // The log holds the snapshot's last entry (a local compaction): the log
      // does not change, so log writes need not wait for the snapshot file. A
      // crash before it is durable leaves the previous snapshot and a longer
      // log, which holds the same state.
      if (hardState !== undefined || entries.length > 0) this.encode(hardState, entries)
      const logged = this.pending.length > 0 ? this.enqueue() : this.barrier()
      const saved = this.serially(() => this.writeSnapshot(snapshot)).then(() =>
        this.terms.dropBelow(snapshot.index),
      )
      return this.track(Promise.all([logged, saved]).then(() => this.compactNow(snapshot.index)))
    }

    // A snapshot from the leader replaces the log: later log writes wait until
    // the snapshot file is durable and the reset is encoded, keeping call order.
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    this.gate = gate
    const written = this.serially(() => this.writeSnapshot(snapshot)).then(() => {
      // Still gated: nothing was accepted since validation.
      this.pending.resetLog(snapshot.index + 1)
      this.terms.reset(snapshot.index)
      this.terms.append(snapshot.index, snapshot.term)
      this.acceptedLastIndex = snapshot.index
      this.encode(hardState, entries)
      return this.pending.length > 0 ? this.enqueue() : this.barrier()
    })
    const release = () => {
      this.gate = undefined
      open()
    }
    written.then(release, release)
    return this.track(written.then(() => this.compactNow(snapshot.index)))
  }

  /** Keeps `close` waiting for `p`. */
  private track(p: Promise<void>): Promise<void> {
    this.persisting.add(p)
    const done = () => {
      this.persisting.delete(p)
    }
    p.then(done, done)
    return p
  }

  /** Resolves once everything accepted so far is durable. */
  private barrier(): Promise<void> {
    const refused = this.refuse()
    if (refused !== undefined) return Promise.reject(refused)
    if (this.pending.length > 0) return this.enqueue()
    if (!this.flushing) return Promise.resolve()
    // Ride with the batch being written.
    return new Promise<void>((resolve, reject) =>
      this.inflight.push((e) => (e === undefined ? resolve() : reject(e))),
    )
  }

  private async writeSnapshot(snapshot: Snapshot): Promise<void> {
    await writeSnapshotFile(this.dir, snapshot)
    if (snapshot.index > this.snapshotIndex) this.snapshotIndex = snapshot.index
    await this.purgeSnapshots()
  }

  private checkEntries(
    entries: ReadonlyArray<WalEntry>,
    lastIndex: number,
    snapshotIndex: number,
  ): WalInputError | undefined {
    if (!Array.isArray(entries))
      return new WalInputError({ field: "entries", reason: "must be an array" })
    if (entries.length === 0) return undefined
    const first = entries[0]!.index
    if (!isIndex(first))
      return new WalInputError({
        field: "entries[0].index",
        reason: "must be a positive safe integer",
      })
    if (first > lastIndex + 1)
      return new WalInputError({
        field: "entries[0].index",
        reason: `${first} leaves a gap after the last index ${lastIndex}`,
      })
    if (first <= snapshotIndex)
      return new WalInputError({
        field: "entries[0].index",
        reason: `${first} is covered by the snapshot at index ${snapshotIndex}`,
      })
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!
      if (e.index !== first + i)
        return new WalInputError({
          field: `entries[${i}].index`,
          reason: `expected ${first + i} (entries must be contiguous), got ${e.index}`,
        })
      if (!isCount(e.term))
        return new WalInputError({
          field: `entries[${i}].term`,
          reason: "must be a non-negative safe integer",
        })
      if (!Number.isInteger(e.type) || e.type < 0 || e.type > 255)
        return new WalInputError({
          field: `entries[${i}].type`,
          reason: "must be an integer in 0..255",
        })
      if (!(e.data instanceof Uint8Array))
        return new WalInputError({ field: `entries[${i}].data`, reason: "must be bytes" })
      if (e.data.length > MAX_ENTRY_DATA_BYTES)
        return new WalInputError({
          field: `entries[${i}].data`,
          reason: `${e.data.length} bytes exceed the limit of ${MAX_ENTRY_DATA_BYTES}`,
        })
    }
    if (first + entries.length - 1 > MAX_SAFE)
      return new WalInputError({ field: "entries", reason: "index overflow" })
    return undefined
  }

  private enqueue(): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.enqueueDone((e) => (e === undefined ? resolve() : reject(e))),
    )
  }

  /** `done` is called once what is encoded in `pending` so far is durable (or failed). */
  private enqueueDone(done: WalDone): void {
    this.waiters.push(done)
    if (!this.scheduled && !this.flushing) {
      this.scheduled = true
      // A microtask later, so calls made in the same turn share the flush, and
      // whatever the caller queued before (a transport's flush of messages that
      // need not wait for this write) runs first.
      queueMicrotask(this.flushDue)
    }
  }

  /**
   * Writes what is pending now instead of a microtask later: for a caller
   * that knows its batch is complete and has sent what must not wait for
   * the write (a Raft node, once per batch of writes). A small batch is then
   * durable, and its callbacks told, before this returns (see inlineSyncBytes).
   */
  flushNow(): void {
    if (this.scheduled && !this.flushing) this.flushLoop()
  }

  /** The queued flush, unless `flushNow` ran it already. */
  private readonly flushDue = (): void => {
    if (this.scheduled) this.flushLoop()
  }

  private whenIdle(): Promise<void> {
    if (!this.scheduled && !this.flushing) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  /**
   * Writes the pending batch: inline when it is small (see inlineSyncBytes),
   * else with its fdatasync in the thread pool. One batch per run: what its
   * waiters encode when told arrives in `pending` and gets a microtask of its
   * own, after anything they queued meanwhile (as with promise callbacks).
   */
  private readonly flushLoop = (): void => {
    this.scheduled = false
    if (this.pending.length === 0 || this.failure !== undefined) {
      if (this.failure === undefined && this.waiters.length > 0) {
        // Nothing to write: everything accepted is durable.
        const waiters = this.waiters
        this.waiters = []
        for (let i = 0; i < waiters.length; i++) waiters[i]!(undefined)
      }
      this.afterBatch()
      return
    }
    this.flushing = true
    const batch = this.pending
    this.pending = this.spare
    this.spare = batch
    const waiters = this.waiters
    this.waiters = this.spareWaiters
    this.inflight = waiters
    const lastIndex = this.acceptedLastIndex
    const hardState = this.acceptedHardState
    let wrote: Promise<void> | undefined
    try {
      wrote = this.writeBatch(batch)
    } catch (e) {
      this.batchFailed(e, waiters)
      return
    }
    if (wrote === undefined) this.batchDurable(batch, waiters, lastIndex, hardState)
    else
      wrote.then(
        () => this.batchDurable(batch, waiters, lastIndex, hardState),
        (e: unknown) => this.batchFailed(e, waiters),
      )
  }

  private batchDurable(
    batch: FrameWriter,
    waiters: WalDone[],
    lastIndex: number,
    hardState: HardState | undefined,
  ): void {
    batch.reset()
    this.durableLastIndex = lastIndex
    this.durableHardState = hardState
    // Not flushing while the waiters run: a barrier they call is already durable.
    this.flushing = false
    for (let i = 0; i < waiters.length; i++) waiters[i]!(undefined)
    clearArray(waiters)
    this.spareWaiters = waiters
    this.afterBatch()
  }

  private batchFailed(e: unknown, waiters: WalDone[]): void {
    this.failure =
      e instanceof WalIoError ? e : new WalIoError({ operation: "write", path: this.dir, cause: e })
    this.flushing = false
    for (let i = 0; i < waiters.length; i++) waiters[i]!(this.failure)
    clearArray(waiters)
    this.afterBatch()
  }

  /** The next batch gets a microtask; after a failure, everything waiting gets it. */
  private afterBatch(): void {
    if (this.flushing || this.scheduled) return
    if (this.failure !== undefined) {
      const waiters = this.waiters
      this.waiters = []
      this.pending.reset()
      for (let i = 0; i < waiters.length; i++) waiters[i]!(this.failure)
    } else if (this.pending.length > 0) {
      this.scheduled = true
      queueMicrotask(this.flushDue)
      return
    }
    if (this.idle.length === 0) return
    const idle = this.idle
    this.idle = []
    for (const r of idle) r()
  }

  /**
   * Writes one batch (its records are in `batch`) and makes it durable: at
   * once when it is small (returns undefined, or throws), else in the thread
   * pool (returns the promise).
   */
  private writeBatch(batch: FrameWriter): Promise<void> | undefined {
    if (this.size >= this.segmentBytes) return this.rollover(batch)
    const active = this.segments[this.segments.length - 1]!
    batch.commit(this.size)
    const bytes = batch.bytes()
    try {
      writeAll(this.fd, bytes, this.size)
      this.writeAhead(this.fd, this.size + bytes.length)
    } catch (e) {
      throw new WalIoError({ operation: "write", path: active.path, cause: e })
    }
    if (bytes.length <= this.inlineSyncBytes) {
      try {
        fs.fdatasyncSync(this.fd)
      } catch (e) {
        throw new WalIoError({ operation: "fdatasync", path: active.path, cause: e })
      }
      this.written(bytes.length)
      return undefined
    }
    return fdatasync(this.fd).then(
      () => this.written(bytes.length),
      ioFail("fdatasync", active.path),
    )
  }

  /**
   * Keeps zeros ahead of the data: once the data ending at `end` comes within
   * a quarter of `preallocateBytes` of the file's end, writes zeros up to
   * `end + preallocateBytes` (not past the segment's target size). They are
   * made durable by the fdatasync that follows (the batch's own), so one
   * batch in a chunk pays for the new blocks and size instead of every one.
   */
  private writeAhead(fd: number, end: number): void {
    const chunk = this.preallocateBytes
    if (chunk === 0 || end + (chunk >> 2) <= this.fileEnd) return
    const from = Math.max(end, this.fileEnd)
    const to = Math.min(end + chunk, this.segmentBytes)
    if (to > from) {
      writeAll(fd, zerosOf(to - from), from)
      this.fileEnd = to
    }
  }

  private written(bytes: number): void {
    this.size += bytes
    if (this.fileEnd < this.size) this.fileEnd = this.size
    this.counters.batches++
    this.counters.bytes += bytes
  }

  /**
   * Starts the next segment with `batch` as its first batch: header and a copy
   * of the durable hard state, then the batch, one fdatasync, one directory
   * fsync. The previous segment is complete: its last batch is durable.
   */
  private async rollover(batch: FrameWriter): Promise<void> {
    const prev = this.segments[this.segments.length - 1]!
    const seg: Segment = {
      seq: prev.seq + 1,
      firstIndex: this.durableLastIndex + 1,
      path: path.join(this.dir, segmentFileName(prev.seq + 1, this.durableLastIndex + 1)),
    }
    const head = new FrameWriter(256)
    head.header(seg.seq, seg.firstIndex)
    if (this.durableHardState !== undefined) head.hardState(this.durableHardState)
    const headBytes = head.bytes()
    batch.commit(0)
    const bytes = batch.bytes()
    const fd = await openFd(seg.path, "wx")
    const prevFileEnd = this.fileEnd
    try {
      writeAll(fd, headBytes, 0)
      writeAll(fd, bytes, headBytes.length)
      this.fileEnd = 0
      this.writeAhead(fd, headBytes.length + bytes.length)
    } catch (e) {
      this.fileEnd = prevFileEnd
      fs.close(fd, () => undefined)
      throw new WalIoError({ operation: "write", path: seg.path, cause: e })
    }
    await fdatasync(fd).catch(ioFail("fdatasync", seg.path))
    await syncDirectory(this.dir).catch(ioFail("fsync", this.dir))
    // The finished segment's unused zeros are given back (not synced: a crash
    // leaves them, and zeros after a segment's data read as its end).
    const prevFd = this.fd
    if (prevFileEnd > this.size)
      await new Promise<void>((resolve) => fs.ftruncate(prevFd, this.size, () => resolve()))
    fs.close(prevFd, () => undefined)
    this.fd = fd
    this.size = headBytes.length + bytes.length
    if (this.fileEnd < this.size) this.fileEnd = this.size
    this.counters.batches++
    this.counters.segments++
    this.counters.bytes += this.size
    // Listed only now that it is durable: `compact` relies on listed segments.
    this.segments.push(seg)
  }

  private async purgeSnapshots(): Promise<void> {
    const names = await fsp.readdir(this.dir).catch(ioFail("readdir", this.dir))
    const snaps = names
      .flatMap((name) => {
        const p = parseSnapshotFileName(name)
        return p === undefined ? [] : [{ name, ...p }]
      })
      .sort((a, b) => b.index - a.index || b.term - a.term)
    const drop = snaps.slice(this.retainSnapshots).filter((s) => s.index < this.snapshotIndex)
    if (drop.length === 0) return
    for (const s of drop) {
      const p = path.join(this.dir, s.name)
      await fsp.rm(p, { force: true }).catch(ioFail("unlink", p))
    }
    await syncDirectory(this.dir).catch(ioFail("fsync", this.dir))
  }
}

/** Validates a snapshot to save; fills in an empty `meta`. */
const checkSnapshot = (input: SnapshotInput): Snapshot | WalInputError => {
  // Index 0 is allowed: the core's initial snapshot holds a new cluster's configuration.
  if (!isCount(input.index))
    return new WalInputError({
      field: "snapshot.index",
      reason: "must be a non-negative safe integer",
    })
  if (!isCount(input.term))
    return new WalInputError({
      field: "snapshot.term",
      reason: "must be a non-negative safe integer",
    })
  if (!(input.data instanceof Uint8Array))
    return new WalInputError({ field: "snapshot.data", reason: "must be bytes" })
  if (input.meta !== undefined && !(input.meta instanceof Uint8Array))
    return new WalInputError({ field: "snapshot.meta", reason: "must be bytes" })
  if (input.meta !== undefined && input.meta.length > MAX_SNAPSHOT_META_BYTES)
    return new WalInputError({ field: "snapshot.meta", reason: "longer than 2 GiB" })
  return {
    index: input.index,
    term: input.term,
    meta: input.meta ?? new Uint8Array(0),
    data: input.data,
  }
}

const NO_ENTRIES: ReadonlyArray<WalEntry> = []

let zeros = new Uint8Array(0)
/** A shared run of `n` zero bytes (never written to). */
const zerosOf = (n: number): Uint8Array => {
  if (zeros.length < n) zeros = new Uint8Array(n)
  return zeros.subarray(0, n)
}

const ioFail =
  (operation: string, p: string) =>
  (cause: unknown): never => {
    throw new WalIoError({ operation, path: p, cause })
  }

const openFd = (p: string, flags: string): Promise<number> =>
  new Promise((resolve, reject) =>
    fs.open(p, flags, 0o644, (e, fd) =>
      e ? reject(new WalIoError({ operation: "open", path: p, cause: e })) : resolve(fd),
    ),
  )

const truncateFd = async (fd: number, p: string, length: number): Promise<void> => {
  await new Promise<void>((resolve, reject) =>
    fs.ftruncate(fd, length, (e) =>
      e ? reject(new WalIoError({ operation: "truncate", path: p, cause: e })) : resolve(),
    ),
  )
  await fdatasync(fd).catch(ioFail("fdatasync", p))
}

const checkHeader = (seg: Segment, first: ScannedRecord | undefined): void => {
  const r = first?.record
  if (r?.kind !== "header")
    throw new WalCorruptError({ file: seg.path, offset: 0, reason: "segment has no header" })
  if (r.seq !== seg.seq || r.firstIndex !== seg.firstIndex)
    throw new WalCorruptError({
      file: seg.path,
      offset: 0,
      reason: `header says segment ${r.seq} from index ${r.firstIndex}, the file name says segment ${seg.seq} from index ${seg.firstIndex}`,
    })
}

/** Creates the first segment (header, hard state copy, commit) durably. */
const createSegment = async (
  dir: string,
  seg: Segment,
  hardState: HardState | undefined,
): Promise<number> => {
  const w = new FrameWriter(256)
  w.header(seg.seq, seg.firstIndex)
  if (hardState !== undefined) w.hardState(hardState)
  w.commit(0)
  const fd = await openFd(seg.path, "wx")
  try {
    writeAll(fd, w.bytes(), 0)
  } catch (e) {
    throw new WalIoError({ operation: "write", path: seg.path, cause: e })
  }
  await fdatasync(fd).catch(ioFail("fdatasync", seg.path))
  await syncDirectory(dir).catch(ioFail("fsync", dir))
  return fd
}

/**
 * mkdir -p, one component at a time (with `durable`, fsyncing the parent of
 * each directory it creates). Not Node's `recursive: true`: where a parent
 * exists but answers ENOENT for any child (procfs: `/proc/x`) that spins
 * forever; here the ENOENT is the answer. Throws the failing call's own
 * error (its `path` names the component).
 */
export const mkdirAll = async (dir: string, durable = false): Promise<void> => {
  const chain: string[] = []
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    chain.unshift(d)
    if (path.dirname(d) === d) break
  }
  for (const d of chain) {
    try {
      await fsp.mkdir(d)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") continue
      // One we may not create in but that exists (EACCES, EROFS) is fine.
      const isDir = await fsp.stat(d).then(
        (st) => st.isDirectory(),
        () => false,
      )
      if (isDir) continue
      throw e
    }
    if (durable) await syncDirectory(path.dirname(d))
  }
}

const mkdirDurable = (dir: string): Promise<void> =>
  mkdirAll(dir, true).catch((e: unknown) => {
    throw new WalIoError({
      operation: "mkdir",
      path: (e as NodeJS.ErrnoException).path ?? dir,
      cause: e,
    })
  })

/**
 * Takes the directory's lock file (holding our pid and when we started). A
 * lock left by a dead process (kill -9) is taken over, also when its pid
 * has since gone to another process (the start time differs); one held by
 * a live process is refused.
 */
const acquireLock = async (dir: string): Promise<string> => {
  const lockPath = path.join(dir, LOCK_FILE)
  const self = processStart("self")
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fsp.writeFile(lockPath, `${process.pid}${self === undefined ? "" : ` ${self}`}\n`, {
        flag: "wx",
      })
      return lockPath
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST")
        throw new WalIoError({ operation: "lock", path: lockPath, cause: e })
    }
    const text = await fsp.readFile(lockPath, "utf8").catch(() => "")
    const [pidText, started] = text.trim().split(" ")
    const pid = Number.parseInt(pidText ?? "", 10)
    if (Number.isSafeInteger(pid) && pid > 0 && processAlive(pid)) {
      // A lock without a start time (older versions), or where /proc cannot
      // tell, is trusted on its pid.
      const now = started === undefined ? undefined : processStart(pid)
      if (now === undefined || now === started) throw new WalLockedError({ path: dir, pid })
    }
    await fsp.rm(lockPath, { force: true })
  }
  throw new WalIoError({ operation: "lock", path: lockPath, cause: "lock file keeps reappearing" })
}
