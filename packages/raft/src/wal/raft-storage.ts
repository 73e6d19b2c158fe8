// The file WAL as a Raft node's durable storage: the glue between the core's
// types (DurableState, Persist) and the WAL's generic records.
//
// - Entries: `entryToWal` / `entryFromWal` (type 0 = data, 1 = encoded ConfChange).
// - Snapshots: the configuration travels in the snapshot file's `meta`
//   (`encodeConfig`), the state machine's bytes in `data`.
// - A brand-new member stores its bootstrap state (the index-0 snapshot with
//   the initial configuration) before anything else, so a restart knows the
//   configuration even before the first real snapshot.

import type { DurableState } from "../core/raft.ts"
import type { Config, Persist } from "../core/types.ts"
import { decodeConfig, encodeConfig, entryFromWal, entryToWal } from "../transport/tcp-codec.ts"
import { WalCorruptError, WalInputError } from "./errors.ts"
import { FileWal, type WalOptions, type WalRecovery } from "./file-wal.ts"

const EMPTY = new Uint8Array(0)

/**
 * Opens the WAL in `options.dir` and reads it back as the core's
 * `DurableState`. A directory without any state is a new member: `bootstrap`
 * (its initial configuration) is required then and stored durably.
 */
export const openRaftStorage = async (
  options: WalOptions,
  bootstrap?: Config,
): Promise<{ wal: FileWal; durable: DurableState; recovery: WalRecovery }> => {
  const { wal, recovery } = await FileWal.open(options)
  try {
    let snapshot = recovery.snapshot
    if (snapshot === undefined) {
      const empty = recovery.lastIndex === 0 && recovery.hardState === undefined
      if (!empty)
        throw new WalCorruptError({
          file: wal.dir,
          offset: 0,
          reason: "the log has state but no snapshot file holds the cluster configuration",
        })
      if (bootstrap === undefined)
        throw new WalInputError({
          field: "bootstrap",
          reason: "a new member (empty directory) needs its initial configuration",
        })
      snapshot = { index: 0, term: 0, meta: encodeConfig(bootstrap), data: EMPTY }
      await wal.persist({ snapshot })
    }
    let config: Config
    try {
      config = decodeConfig(snapshot.meta)
    } catch (e) {
      throw new WalCorruptError({
        file: wal.dir,
        offset: 0,
        reason: `snapshot ${snapshot.index} has no valid configuration: ${(e as Error).message}`,
      })
    }
    const durable: DurableState = {
      hardState: recovery.hardState ?? { term: 0, vote: null, commit: 0 },
      snapshot: { index: snapshot.index, term: snapshot.term, config, data: snapshot.data },
      entries: recovery.entries.map(entryFromWal),
    }
    return { wal, durable, recovery }
  } catch (e) {
    await wal.close()
    throw e
  }
}

/**
 * Executes the core's `Persist` command (its storage part: `after` and `ack`
 * are the caller's) with its exact semantics. Resolves when durable; writes
 * become durable in call order.
 */
export const persistToWal = (
  wal: FileWal,
  p: Pick<Persist, "hardState" | "snapshot" | "entries">,
): Promise<void> => wal.persist(toWalWrite(p))

/** The WAL's form of a `Persist` command's storage part (for `FileWal.persist`). */
export const toWalWrite = (
  p: Pick<Persist, "hardState" | "snapshot" | "entries">,
): Parameters<FileWal["persist"]>[0] => ({
  hardState: p.hardState,
  snapshot:
    p.snapshot === null
      ? null
      : {
          index: p.snapshot.index,
          term: p.snapshot.term,
          meta: encodeConfig(p.snapshot.config),
          data: p.snapshot.data,
        },
  entries: p.entries.length === 0 ? [] : p.entries.map(entryToWal),
})
