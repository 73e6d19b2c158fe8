// The WAL as an Effect service: `Wal.layer(options)` opens the directory for the
// layer's lifetime (the files and the lock are released when its Scope closes).
// `unsafe` exposes the plain async `FileWal` for hot paths that batch their own
// work and cannot afford an Effect per call.

import { Context, Effect, Layer } from "effect"
import {
  WalClosedError,
  WalCorruptError,
  type WalError,
  WalInputError,
  WalIoError,
  WalLockedError,
} from "./errors.ts"
import { FileWal, type WalOptions, type WalRecovery } from "./file-wal.ts"
import type { HardState, WalEntry } from "./format.ts"
import type { SnapshotInput } from "./snapshot.ts"

const isWalError = (e: unknown): e is WalError =>
  e instanceof WalCorruptError ||
  e instanceof WalIoError ||
  e instanceof WalInputError ||
  e instanceof WalClosedError ||
  e instanceof WalLockedError

const lift =
  (dir: string) =>
  <A>(run: () => Promise<A>): Effect.Effect<A, WalError> =>
    Effect.tryPromise({
      try: run,
      catch: (e) =>
        isWalError(e) ? e : new WalIoError({ operation: "call", path: dir, cause: e }),
    })

export class Wal extends Context.Service<
  Wal,
  {
    /** What was on disk when the WAL was opened. */
    readonly recovery: WalRecovery
    /** Entries and/or hard state as one atomic, durable group (see `FileWal.save`). */
    readonly save: (
      hardState: HardState | undefined,
      entries: ReadonlyArray<WalEntry>,
    ) => Effect.Effect<void, WalError>
    readonly append: (entries: ReadonlyArray<WalEntry>) => Effect.Effect<void, WalError>
    readonly setHardState: (hardState: HardState) => Effect.Effect<void, WalError>
    /** Discards entries from `fromIndex` on (see `FileWal.truncate`). */
    readonly truncate: (fromIndex: number) => Effect.Effect<void, WalError>
    /** Completes once everything accepted so far is durable. */
    readonly sync: Effect.Effect<void, WalError>
    /** The Raft core's Persist command (see `FileWal.persist`). */
    readonly persist: (write: Parameters<FileWal["persist"]>[0]) => Effect.Effect<void, WalError>
    readonly saveSnapshot: (snapshot: SnapshotInput) => Effect.Effect<void, WalError>
    /** Removes segments wholly at or below `index` (covered by a durable snapshot). */
    readonly compact: (index: number) => Effect.Effect<void, WalError>
    /** Index of the last accepted entry. */
    readonly lastIndex: Effect.Effect<number>
    /** The plain async API, for hot paths. Do not close it: the layer does. */
    readonly unsafe: FileWal
  }
>()("@flotilla/raft/wal/Wal") {
  /** Opens the WAL in `options.dir` for the lifetime of the layer. */
  static readonly layer = (options: WalOptions): Layer.Layer<Wal, WalError> =>
    Layer.effect(Wal, make(options))
}

/** Opens a WAL whose files are closed when the current Scope closes. */
export const make = Effect.fnUntraced(function* (options: WalOptions) {
  const dir = typeof options?.dir === "string" ? options.dir : "(unknown)"
  const opened = yield* Effect.acquireRelease(
    lift(dir)(() => FileWal.open(options)),
    ({ wal }) => Effect.promise(() => wal.close()),
  )
  const { wal, recovery } = opened
  const run = lift(wal.dir)
  return Wal.of({
    recovery,
    save: (hardState, entries) => run(() => wal.save(hardState, entries)),
    append: (entries) => run(() => wal.append(entries)),
    setHardState: (hardState) => run(() => wal.setHardState(hardState)),
    truncate: (fromIndex) => run(() => wal.truncate(fromIndex)),
    sync: run(() => wal.sync()),
    persist: (write) => run(() => wal.persist(write)),
    saveSnapshot: (snapshot) => run(() => wal.saveSnapshot(snapshot)),
    compact: (index) => run(() => wal.compact(index)),
    lastIndex: Effect.sync(() => wal.lastIndex),
    unsafe: wal,
  })
})
