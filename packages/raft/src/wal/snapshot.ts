// Snapshot files: `snap-<index>-<term>.snap` (16 hex digits each) holding
//
//   "FLOSNAP1" | u64 index | u64 term | u32 meta length | u32 0 | u64 data length
//   | meta | data | u32 CRC-32C
//
// (integers little-endian; the CRC covers everything before it). A snapshot is
// written to `<name>.tmp`, fsynced, renamed and the directory fsynced, so a
// crash leaves either no file under the final name or a complete one.

import * as fs from "node:fs/promises"
import * as path from "node:path"
import { crc32c, crc32cUpdate } from "./crc32c.ts"
import { WalIoError } from "./errors.ts"

export interface Snapshot {
  /** Index of the last entry the snapshot covers. */
  readonly index: number
  /** Term of that entry. */
  readonly term: number
  /** Small metadata kept beside the data (e.g. the encoded cluster configuration). */
  readonly meta: Uint8Array
  /** The state machine's bytes. */
  readonly data: Uint8Array
}

/** A snapshot to save; `meta` defaults to empty. */
export type SnapshotInput = Omit<Snapshot, "meta"> & { readonly meta?: Uint8Array }

const MAGIC = new TextEncoder().encode("FLOSNAP1")
const HEADER_BYTES = 40
/** Largest `meta`, in bytes. */
export const MAX_SNAPSHOT_META_BYTES = 0x7fffffff
const TRAILER_BYTES = 4
const TWO_32 = 0x1_0000_0000
const NAME = /^snap-([0-9a-f]{16})-([0-9a-f]{16})\.snap$/

const hex16 = (n: number): string => n.toString(16).padStart(16, "0")

export const snapshotFileName = (index: number, term: number): string =>
  `snap-${hex16(index)}-${hex16(term)}.snap`

export const parseSnapshotFileName = (
  name: string,
): { readonly index: number; readonly term: number } | undefined => {
  const m = NAME.exec(name)
  if (m === null) return undefined
  const index = Number.parseInt(m[1]!, 16)
  const term = Number.parseInt(m[2]!, 16)
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term)) return undefined
  return { index, term }
}

/** Header and trailer of a snapshot file, to be written around `data`. */
export const encodeSnapshotFrame = (
  snapshot: Snapshot,
): { readonly header: Uint8Array; readonly trailer: Uint8Array } => {
  const header = new Uint8Array(HEADER_BYTES)
  const view = new DataView(header.buffer)
  header.set(MAGIC, 0)
  const put = (at: number, n: number) => {
    view.setUint32(at, n >>> 0, true)
    view.setUint32(at + 4, Math.floor(n / TWO_32), true)
  }
  put(8, snapshot.index)
  put(16, snapshot.term)
  view.setUint32(24, snapshot.meta.length, true)
  put(32, snapshot.data.length)
  // CRC-32C is a running checksum: continue it from the header over the rest.
  const crc = crc32cUpdate(crc32cUpdate(crc32c(header), snapshot.meta), snapshot.data)
  const trailer = new Uint8Array(TRAILER_BYTES)
  new DataView(trailer.buffer).setUint32(0, crc, true)
  return { header, trailer }
}

/** Decodes a snapshot file's bytes; a string is the reason it is invalid. */
export const decodeSnapshot = (bytes: Uint8Array): Snapshot | string => {
  if (bytes.length < HEADER_BYTES + TRAILER_BYTES)
    return `file of ${bytes.length} bytes is shorter than a snapshot header`
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return "missing FLOSNAP1 magic"
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const get = (at: number) => view.getUint32(at + 4, true) * TWO_32 + view.getUint32(at, true)
  const index = get(8)
  const term = get(16)
  const metaLength = view.getUint32(24, true)
  const dataLength = get(32)
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term))
    return "index or term out of range"
  const held = bytes.length - HEADER_BYTES - TRAILER_BYTES
  if (metaLength + dataLength !== held)
    return `header says ${metaLength} meta and ${dataLength} data bytes but the file holds ${held}`
  const end = HEADER_BYTES + held
  if (crc32c(bytes, 0, end) !== view.getUint32(end, true)) return "checksum mismatch"
  const dataAt = HEADER_BYTES + metaLength
  return { index, term, meta: bytes.slice(HEADER_BYTES, dataAt), data: bytes.slice(dataAt, end) }
}

/** fsync a directory so renames, creations and unlinks in it are durable. */
export const syncDirectory = async (dir: string): Promise<void> => {
  const handle = await fs.open(dir, "r")
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

const io =
  (operation: string, p: string) =>
  (cause: unknown): never => {
    throw new WalIoError({ operation, path: p, cause })
  }

/** Writes a snapshot durably (temporary file, fsync, rename, directory fsync). */
export const writeSnapshotFile = async (dir: string, snapshot: Snapshot): Promise<string> => {
  const name = snapshotFileName(snapshot.index, snapshot.term)
  const final = path.join(dir, name)
  const tmp = `${final}.tmp`
  const { header, trailer } = encodeSnapshotFrame(snapshot)
  const handle = await fs.open(tmp, "w").catch(io("open", tmp))
  try {
    await handle.writev([header, snapshot.meta, snapshot.data, trailer]).catch(io("write", tmp))
    await handle.sync().catch(io("fsync", tmp))
  } finally {
    await handle.close()
  }
  await fs.rename(tmp, final).catch(io("rename", tmp))
  await syncDirectory(dir).catch(io("fsync", dir))
  return final
}

export interface SnapshotLoad {
  /** The newest snapshot that decodes and matches its file name. */
  readonly snapshot: Snapshot | undefined
  readonly path: string | undefined
  /** Newer snapshot files that were skipped, with the reason. */
  readonly rejected: ReadonlyArray<{ readonly path: string; readonly reason: string }>
}

/** Finds the newest valid snapshot among `names` (the directory's entries). */
export const loadNewestSnapshot = async (
  dir: string,
  names: ReadonlyArray<string>,
): Promise<SnapshotLoad> => {
  const candidates = names
    .flatMap((name) => {
      const parsed = parseSnapshotFileName(name)
      return parsed === undefined ? [] : [{ name, ...parsed }]
    })
    .sort((a, b) => b.index - a.index || b.term - a.term)
  const rejected: Array<{ path: string; reason: string }> = []
  for (const c of candidates) {
    const p = path.join(dir, c.name)
    const buf = await fs.readFile(p).catch(io("read", p))
    // A plain Uint8Array view: Buffer#slice would alias instead of copying.
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    const decoded = decodeSnapshot(bytes)
    if (typeof decoded === "string") {
      rejected.push({ path: p, reason: decoded })
      continue
    }
    if (decoded.index !== c.index || decoded.term !== c.term) {
      rejected.push({
        path: p,
        reason: `contents are index ${decoded.index} term ${decoded.term}, the name says index ${c.index} term ${c.term}`,
      })
      continue
    }
    return { snapshot: decoded, path: p, rejected }
  }
  return { snapshot: undefined, path: undefined, rejected }
}
