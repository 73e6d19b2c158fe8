/**
 * Files the commands read and write, with errors as one short clause a user
 * can act on ("no such file or directory", "is a directory") instead of the
 * platform's own wording (`NotFound: FileSystem.readFile (x)`).
 */
import {
  accessSync,
  constants,
  createReadStream,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs"
import { dirname } from "node:path"
import type { Readable } from "node:stream"
import { Effect, type PlatformError } from "effect"

const errnoWords: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOTDIR: "a component of the path is not a directory",
  ENOENT: "no such file or directory",
  ENOSPC: "no space left on device",
  EEXIST: "already exists",
  EISDIR: "is a directory",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "file name too long",
}

/** A Node file-system error as one short clause. */
export const errnoText = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException | undefined
  const code = err?.code
  return (code !== undefined ? errnoWords[code] : undefined) ?? err?.message ?? String(e)
}

/** A platform error (Effect's FileSystem) as one short clause. */
export const platformErrorText = (e: PlatformError.PlatformError): string => {
  const reason = e.reason as { cause?: unknown; _tag?: string; description?: string }
  const code = (reason.cause as NodeJS.ErrnoException | undefined)?.code
  if (code !== undefined && errnoWords[code] !== undefined) return errnoWords[code]
  switch (reason._tag) {
    case "NotFound":
      return "no such file or directory"
    case "PermissionDenied":
      return "permission denied"
    default:
      return reason.description ?? e.message
  }
}

/** Inputs larger than this are refused: a manifest or trace is never this big, /dev/zero is. */
export const maxInputBytes = 64 * 1024 * 1024

const readCapped = (stream: Readable, limit: number): Promise<string> =>
  new Promise((resolve, reject) => {
    // A stream read to its end before (stdin named twice) has nothing more.
    if (stream.readableEnded) return resolve("")
    const chunks: Array<Buffer> = []
    let size = 0
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        stream.destroy()
        reject(new Error(`larger than ${limit / (1024 * 1024)} MiB`))
      } else chunks.push(chunk)
    })
    stream.once("error", (e) => reject(new Error(errnoText(e))))
    stream.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
  })

/**
 * Reads a file (or stdin for `-`) as UTF-8, failing with a short reason: a
 * directory or device is refused before reading (reading /dev/zero never
 * ends), and anything past `limit` bytes is refused.
 */
export const readInput = (
  path: string,
  limit: number = maxInputBytes,
): Effect.Effect<string, string> =>
  Effect.tryPromise({
    try: () => {
      if (path === "-") return readCapped(process.stdin, limit)
      let kind: string | undefined
      try {
        const st = statSync(path)
        kind = st.isDirectory()
          ? "is a directory"
          : st.isCharacterDevice() || st.isBlockDevice() || st.isSocket()
            ? "is not a regular file"
            : undefined
      } catch (e) {
        return Promise.reject(new Error(errnoText(e)))
      }
      return kind !== undefined
        ? Promise.reject(new Error(kind))
        : readCapped(createReadStream(path), limit)
    },
    catch: (e) => (e instanceof Error ? e.message : String(e)),
  })

/**
 * Checks before a long run that `path` can be written later: its directory
 * exists and it is not itself a directory. Returns the reason when not.
 */
export const writableTarget = (path: string): string | undefined => {
  const parent = dirname(path)
  try {
    if (!statSync(parent).isDirectory()) return `${parent} is not a directory`
    accessSync(parent, constants.W_OK)
  } catch (e) {
    return `directory ${parent}: ${errnoText(e)}`
  }
  try {
    if (statSync(path).isDirectory()) return "is a directory"
  } catch {
    // Absent: it will be created.
  }
  return undefined
}

/** Writes a file so that readers see the old or the new content, never half of it. */
export const writeAtomic = (path: string, data: Uint8Array | string): void => {
  const tmp = `${path}.tmp-${process.pid}`
  try {
    writeFileSync(tmp, data)
    renameSync(tmp, path)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
}
