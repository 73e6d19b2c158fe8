// Durable storage of a Raft node behind one interface: in memory (tests, and
// nodes whose durability is someone else's problem) or the file WAL.
import { Context, Effect, Layer } from "effect"
import {
  applyPersist,
  freezeDurable,
  type MutableDurable,
  mutableDurable,
} from "../core/durable.ts"
import { bootstrap, type DurableState } from "../core/raft.ts"
import type { Config, Persist } from "../core/types.ts"
import type { WalError } from "../wal/errors.ts"
import type { FileWal, WalOptions } from "../wal/file-wal.ts"
import { openRaftStorage, toWalWrite } from "../wal/raft-storage.ts"
import { StorageFailure } from "./errors.ts"

export class LogStorage extends Context.Service<
  LogStorage,
  {
    /** The stored state to start from (a new member's bootstrap state). */
    readonly load: Effect.Effect<DurableState, StorageFailure>
    /**
     * Makes the writes durable with the semantics of `applyPersist`, in order,
     * and then calls `done` (with the failure, if any) once all of them are
     * durable: one sync for the batch. A plain callback, not an Effect: this
     * is the node's hot path, one call per batch of writes. The node issues
     * the next batch only after `done`; `done` may run before `persist`
     * returns.
     */
    readonly persist: (
      writes: ReadonlyArray<Persist>,
      done: (failure: StorageFailure | undefined) => void,
    ) => void
  }
>()("@flotilla/raft/runtime/LogStorage") {
  /** Storage in `store`, which outlives the node (a test's "disk" across restarts). */
  static readonly layerMemory = (store: MemoryStore): Layer.Layer<LogStorage> =>
    Layer.succeed(LogStorage, makeMemory(store))

  /**
   * The file WAL in `options.dir` (locked and open for the layer's lifetime).
   * An empty directory is a new member: `bootstrapConfig` is then required.
   */
  static readonly layerWal = (
    options: WalOptions & { readonly bootstrapConfig?: Config },
  ): Layer.Layer<LogStorage, StorageFailure> => Layer.effect(LogStorage, makeWal(options))
}

/** A durable state kept in memory: survives the node, not the process. */
export interface MemoryStore {
  durable: MutableDurable
  /** Writes made so far (each `Persist` counts one). */
  writes: number
  /** Batches made durable (each would be one fsync on a disk). */
  syncs: number
}

export const makeMemoryStore = (config: Config): MemoryStore => ({
  durable: mutableDurable(bootstrap(config)),
  writes: 0,
  syncs: 0,
})

const makeMemory = (store: MemoryStore): LogStorage["Service"] =>
  LogStorage.of({
    load: Effect.sync(() => freezeDurable(store.durable)),
    persist: (writes, done) => {
      for (const p of writes) applyPersist(store.durable, p)
      store.writes += writes.length
      store.syncs++
      done(undefined)
    },
  })

const walFailure = (e: WalError | undefined): StorageFailure | undefined =>
  e === undefined ? undefined : new StorageFailure({ operation: "persist", cause: e })

const makeWal = Effect.fnUntraced(function* (
  options: WalOptions & { readonly bootstrapConfig?: Config },
) {
  const { bootstrapConfig, ...walOptions } = options
  const opened = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () => openRaftStorage(walOptions, bootstrapConfig),
      catch: (cause) => new StorageFailure({ operation: "open", cause }),
    }),
    ({ wal }) => Effect.promise(() => wal.close()),
  )
  const wal: FileWal = opened.wal
  const durable = opened.durable
  return LogStorage.of({
    load: Effect.succeed(durable),
    persist: (writes, done) => {
      // Every call is issued before the first is written: the WAL orders them
      // and group-commits them into one fdatasync, so the last to finish
      // finishes the batch (a failure fails every later call too).
      const n = writes.length
      if (n === 0) {
        done(undefined)
        return
      }
      let first: ReturnType<typeof toWalWrite>
      let rest: ReturnType<typeof toWalWrite>[] | undefined
      try {
        // Converted before any call: a write the codec refuses fails the batch unwritten.
        first = toWalWrite(writes[0]!)
        if (n > 1) rest = writes.slice(1).map(toWalWrite)
      } catch (cause) {
        done(new StorageFailure({ operation: "persist", cause }))
        return
      }
      if (rest === undefined) wal.persistCallback(first, (e) => done(walFailure(e)))
      else {
        let left = n
        let failure: StorageFailure | undefined
        const one = (e: WalError | undefined): void => {
          if (e !== undefined && failure === undefined) failure = walFailure(e)
          if (--left === 0) done(failure)
        }
        wal.persistCallback(first, one)
        for (const w of rest) wal.persistCallback(w, one)
      }
      // The batch is complete (the node sends what need not wait first): write it now.
      wal.flushNow()
    },
  })
})
