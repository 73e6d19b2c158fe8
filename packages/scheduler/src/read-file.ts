/**
 * Reads a small text file (a kubeconfig, a token, a scheduler configuration)
 * with a size limit: /dev/zero or a runaway file is refused once past it
 * instead of read until memory runs out. FIFOs are read (`--kubeconfig
 * <(...)`), directories refused. Failures are one short clause.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs"

/** No kubeconfig or configuration is this big (embedded certificates included). */
export const maxConfigFileBytes = 16 * 1024 * 1024

const errnoWords: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a parent is not a directory",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "file name too long",
}

export class ReadFileError extends Error {}

/** The file's text, or a `ReadFileError` saying why not. */
export const readTextFile = (path: string, limit: number = maxConfigFileBytes): string => {
  let fd: number
  try {
    fd = openSync(path, "r")
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? ""
    throw new ReadFileError(errnoWords[code] ?? (e as Error).message)
  }
  try {
    if (fstatSync(fd).isDirectory()) throw new ReadFileError(errnoWords.EISDIR)
    const chunks: Array<Buffer> = []
    const buffer = Buffer.alloc(64 * 1024)
    let size = 0
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null)
      if (n === 0) break
      size += n
      if (size > limit) throw new ReadFileError(`larger than ${limit / (1024 * 1024)} MiB`)
      chunks.push(Buffer.from(buffer.subarray(0, n)))
    }
    return Buffer.concat(chunks).toString("utf8")
  } catch (e) {
    if (e instanceof ReadFileError) throw e
    const code = (e as NodeJS.ErrnoException).code ?? ""
    throw new ReadFileError(errnoWords[code] ?? (e as Error).message)
  } finally {
    closeSync(fd)
  }
}
