// The identity record's file I/O (see core/identity.ts): `<data-dir>/member/identity`,
// replaced atomically and durably (temp file, fsync, rename, fsync the
// directory), so a crash leaves the old record or the new one, never a torn one.
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { syncDirectory } from "@flotilla/raft"
import { Effect } from "effect"
import {
  decodeIdentity,
  encodeIdentity,
  IDENTITY_BYTES,
  type MemberIdentity,
  type StoredIdentity,
} from "./core/identity.ts"

/** Where a data directory keeps the record (beside `member/wal`). */
export const identityPath = (dataDir: string): string => path.join(dataDir, "member", "identity")

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Reads the record; never fails (a missing file is Missing, other errors Unreadable). */
export const readIdentity = (file: string): Effect.Effect<StoredIdentity> =>
  Effect.promise(async (): Promise<StoredIdentity> => {
    let handle: fs.FileHandle
    try {
      handle = await fs.open(file, "r")
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { _tag: "Missing" }
      return { _tag: "Unreadable", reason: message(e) }
    }
    try {
      // Read one byte more than a record holds: a longer file is invalid, not cut.
      const buf = new Uint8Array(IDENTITY_BYTES + 1)
      let n = 0
      for (;;) {
        const { bytesRead } = await handle.read(buf, n, buf.length - n, null)
        if (bytesRead === 0 || n + bytesRead === buf.length) {
          n += bytesRead
          break
        }
        n += bytesRead
      }
      return decodeIdentity(buf.subarray(0, n))
    } catch (e) {
      return { _tag: "Unreadable", reason: message(e) }
    } finally {
      await handle.close()
    }
  })

/** Replaces the record durably (the directory must exist). */
export const writeIdentity = (file: string, identity: MemberIdentity): Effect.Effect<void, Error> =>
  Effect.tryPromise({
    try: async () => {
      const tmp = `${file}.tmp`
      const h = await fs.open(tmp, "w", 0o600)
      try {
        await h.writeFile(encodeIdentity(identity))
        await h.sync()
      } finally {
        await h.close()
      }
      await fs.rename(tmp, file)
      await syncDirectory(path.dirname(file))
    },
    catch: (e) => new Error(`cannot record the member's identity in ${file}: ${message(e)}`),
  })

/** Removes a stale record durably (a fresh start whose log was wiped); a missing one is fine. */
export const removeIdentity = (file: string): Effect.Effect<void, Error> =>
  Effect.tryPromise({
    try: async () => {
      try {
        await fs.unlink(file)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return
        throw e
      }
      await syncDirectory(path.dirname(file))
    },
    catch: (e) => new Error(`cannot remove the stale identity record ${file}: ${message(e)}`),
  })
