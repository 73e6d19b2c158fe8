// bbolt's file format (go.etcd.io/bbolt, etcd's backend database), written
// and read whole: enough to produce the file etcd's Snapshot RPC streams, so
// that `etcdctl snapshot save/status/restore` and a real etcd take ours.
//
// The file is a sequence of pages (4 KiB here). Page 0 and 1 hold the meta
// (magic, version, page size, the root bucket's page, the page count, a
// transaction ID and an FNV-1a checksum); the reader trusts the valid meta
// with the higher transaction ID. Every page starts with a 16-byte header
// (id u64, flags u16, count u16, overflow u32: extra pages a node spans).
// A leaf page holds `count` 16-byte elements (flags, pos, ksize, vsize; pos
// is relative to the element) followed by the keys and values; a branch page
// holds elements (pos, ksize, child pgid) whose key is its child's first key.
// The root bucket's leaf maps bucket names (element flag 1) to a 16-byte
// bucket header (root pgid, sequence); root 0 means the bucket's one leaf
// page follows the header inline. All integers are little-endian.
//
// Written files have no freelist page (meta freelist = 2^64-1, as etcd writes
// with NoFreelistSync): bbolt then treats every page it cannot reach as free.
// Pure: bytes in, bytes out.

import { compareBytes } from "./bytes.ts"
import { runSteps } from "./codec.ts"
import { fnv64Bytes } from "./hash.ts"

export const BOLT_PAGE_SIZE = 4096

const MAGIC = 0xed0cdaed
const VERSION = 2
const PAGE_HEADER = 16
const ELEMENT = 16
const BUCKET_HEADER = 16
const BRANCH_PAGE = 0x01
const LEAF_PAGE = 0x02
const META_PAGE = 0x04
const BUCKET_LEAF = 0x01
const NO_FREELIST = 0xffff_ffff_ffff_ffffn
/** Pages written between two steps of `writeBoltSteps` (~256 KiB: a millisecond or two). */
const PAGES_PER_STEP = 64
/** Bytes of the meta covered by its checksum (everything before the checksum). */
const META_SUMMED = 56

/** A top-level bucket: its name and its entries, sorted by key (unsigned bytes), keys unique. */
export interface BoltBucket {
  readonly name: Uint8Array
  readonly entries: ReadonlyArray<readonly [key: Uint8Array, value: Uint8Array]>
}

/** A file that is not a bbolt database this reader understands, with the reason. */
export class BoltFormatError extends Error {
  override readonly name = "BoltFormatError"
}

interface Element {
  readonly key: Uint8Array
  readonly value: Uint8Array
  readonly flags: number
}

/** Pages of one node: a leaf of elements, or a branch of (first key, child pgid). */
const leafSize = (elements: ReadonlyArray<Element>): number => {
  let size = PAGE_HEADER
  for (const e of elements) size += ELEMENT + e.key.length + e.value.length
  return size
}

class Writer {
  readonly pageSize: number
  readonly pages: Array<{ readonly id: number; readonly bytes: Uint8Array }> = []
  next = 2

  constructor(pageSize: number) {
    this.pageSize = pageSize
  }

  /** Allocates the pages for a node of `size` bytes; returns its page buffer and id. */
  allocate(
    size: number,
    flags: number,
    count: number,
  ): { id: number; page: DataView; bytes: Uint8Array } {
    const span = Math.max(1, Math.ceil(size / this.pageSize))
    const bytes = new Uint8Array(span * this.pageSize)
    const page = new DataView(bytes.buffer)
    const id = this.next
    this.next += span
    page.setBigUint64(0, BigInt(id), true)
    page.setUint16(8, flags, true)
    page.setUint16(10, count, true)
    page.setUint32(12, span - 1, true)
    this.pages.push({ id, bytes })
    return { id, page, bytes }
  }

  /** A leaf node written at `bytes[offset]` (a page, or an inline bucket's page). */
  static fillLeaf(bytes: Uint8Array, offset: number, elements: ReadonlyArray<Element>): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset)
    let data = offset + PAGE_HEADER + elements.length * ELEMENT
    elements.forEach((e, i) => {
      const at = offset + PAGE_HEADER + i * ELEMENT
      view.setUint32(at, e.flags, true)
      view.setUint32(at + 4, data - at, true)
      view.setUint32(at + 8, e.key.length, true)
      view.setUint32(at + 12, e.value.length, true)
      bytes.set(e.key, data)
      bytes.set(e.value, data + e.key.length)
      data += e.key.length + e.value.length
    })
  }

  /** Writes a B+tree of sorted elements, in steps; returns its root pgid. */
  *tree(elements: ReadonlyArray<Element>): Generator<void, number, void> {
    // Leaves: greedily filled up to a page; an element larger than a page gets overflow pages.
    let level: Array<{ key: Uint8Array; id: number }> = []
    let start = 0
    while (start < elements.length || level.length === 0) {
      let end = start
      let size = PAGE_HEADER
      while (end < elements.length) {
        const e = elements[end] as Element
        const grown = size + ELEMENT + e.key.length + e.value.length
        if (end > start && grown > this.pageSize) break
        size = grown
        end++
      }
      const chunk = elements.slice(start, end)
      const { id, bytes } = this.allocate(leafSize(chunk), LEAF_PAGE, chunk.length)
      Writer.fillLeaf(bytes, 0, chunk)
      level.push({ key: chunk[0]?.key ?? new Uint8Array(0), id })
      start = end
      if (level.length % PAGES_PER_STEP === 0) yield
      if (elements.length === 0) break
    }
    // Branches, level by level, until one node is left.
    while (level.length > 1) {
      const above: Array<{ key: Uint8Array; id: number }> = []
      let s = 0
      while (s < level.length) {
        let e = s
        let size = PAGE_HEADER
        while (e < level.length) {
          const grown = size + ELEMENT + (level[e] as { key: Uint8Array }).key.length
          if (e > s + 1 && grown > this.pageSize) break
          size = grown
          e++
        }
        const chunk = level.slice(s, e)
        const { id, page, bytes } = this.allocate(size, BRANCH_PAGE, chunk.length)
        let data = PAGE_HEADER + chunk.length * ELEMENT
        chunk.forEach((c, i) => {
          const at = PAGE_HEADER + i * ELEMENT
          page.setUint32(at, data - at, true)
          page.setUint32(at + 4, c.key.length, true)
          page.setBigUint64(at + 8, BigInt(c.id), true)
          bytes.set(c.key, data)
          data += c.key.length
        })
        above.push({ key: (chunk[0] as { key: Uint8Array }).key, id })
        s = e
        if (above.length % PAGES_PER_STEP === 0) yield
      }
      level = above
    }
    return (level[0] as { id: number }).id
  }
}

const bucketHeader = (root: number, inline?: ReadonlyArray<Element>): Uint8Array => {
  const size = BUCKET_HEADER + (inline === undefined ? 0 : leafSize(inline))
  const bytes = new Uint8Array(size)
  const view = new DataView(bytes.buffer)
  view.setBigUint64(0, BigInt(root), true)
  if (inline !== undefined) {
    view.setUint16(BUCKET_HEADER + 8, LEAF_PAGE, true)
    view.setUint16(BUCKET_HEADER + 10, inline.length, true)
    Writer.fillLeaf(bytes, BUCKET_HEADER, inline)
  }
  return bytes
}

const checkSorted = (what: string, keys: ReadonlyArray<Uint8Array>): void => {
  for (let i = 1; i < keys.length; i++)
    if (compareBytes(keys[i - 1] as Uint8Array, keys[i] as Uint8Array) >= 0)
      throw new RangeError(`bolt: ${what}: keys must be sorted and unique (at ${i})`)
}

/**
 * A bbolt database holding `buckets` (top-level only, as etcd uses them).
 * Buckets whose one leaf would take at most a quarter page are stored inline
 * in the root leaf, as bbolt itself stores them.
 */
export function* writeBoltSteps(
  buckets: ReadonlyArray<BoltBucket>,
  pageSize: number = BOLT_PAGE_SIZE,
): Generator<void, Uint8Array, void> {
  const sorted = [...buckets].sort((a, b) => compareBytes(a.name, b.name))
  checkSorted(
    "bucket names",
    sorted.map((b) => b.name),
  )
  const w = new Writer(pageSize)
  const roots: Array<Element> = []
  for (const b of sorted) {
    checkSorted(
      `bucket ${new TextDecoder().decode(b.name)}`,
      b.entries.map(([k]) => k),
    )
    const elements = b.entries.map(([key, value]) => ({ key, value, flags: 0 }))
    yield
    const value =
      leafSize(elements) <= pageSize / 4
        ? bucketHeader(0, elements)
        : bucketHeader(yield* w.tree(elements))
    roots.push({ key: b.name, value, flags: BUCKET_LEAF })
  }
  const root = yield* w.tree(roots)
  const total = w.next
  const file = new Uint8Array(total * pageSize)
  for (let i = 0; i < w.pages.length; i++) {
    const p = w.pages[i] as { readonly id: number; readonly bytes: Uint8Array }
    file.set(p.bytes, p.id * pageSize)
    if (i % (4 * PAGES_PER_STEP) === 0) yield
  }
  // Two metas, as bbolt keeps them; the reader takes the valid one with the higher txid.
  for (const [pgid, txid] of [
    [0, 2],
    [1, 1],
  ] as const) {
    const at = pgid * pageSize
    const view = new DataView(file.buffer, at)
    view.setBigUint64(0, BigInt(pgid), true)
    view.setUint16(8, META_PAGE, true)
    const m = PAGE_HEADER
    view.setUint32(m, MAGIC, true)
    view.setUint32(m + 4, VERSION, true)
    view.setUint32(m + 8, pageSize, true)
    view.setUint32(m + 12, 0, true)
    view.setBigUint64(m + 16, BigInt(root), true)
    view.setBigUint64(m + 24, 0n, true)
    view.setBigUint64(m + 32, NO_FREELIST, true)
    view.setBigUint64(m + 40, BigInt(total), true)
    view.setBigUint64(m + 48, BigInt(txid), true)
    view.setBigUint64(
      m + META_SUMMED,
      fnv64Bytes(file.subarray(at + m, at + m + META_SUMMED)),
      true,
    )
  }
  return file
}

/** `writeBoltSteps` at once. */
export const writeBolt = (
  buckets: ReadonlyArray<BoltBucket>,
  pageSize: number = BOLT_PAGE_SIZE,
): Uint8Array => runSteps(writeBoltSteps(buckets, pageSize))

// ---------------------------------------------------------------------------
// Reading (for our own restore and for tests): every offset is checked.

const fail = (reason: string): never => {
  throw new BoltFormatError(reason)
}

interface Meta {
  readonly pageSize: number
  readonly root: number
  readonly pages: number
  readonly txid: bigint
}

const readMeta = (file: Uint8Array, at: number): Meta | string => {
  if (file.length < at + PAGE_HEADER + 64) return "truncated"
  const view = new DataView(file.buffer, file.byteOffset + at)
  if ((view.getUint16(8, true) & META_PAGE) === 0) return "not a meta page"
  const m = PAGE_HEADER
  if (view.getUint32(m, true) !== MAGIC) return "bad magic"
  if (view.getUint32(m + 4, true) !== VERSION) return `version ${view.getUint32(m + 4, true)}`
  const sum = fnv64Bytes(file.subarray(at + m, at + m + META_SUMMED))
  if (view.getBigUint64(m + META_SUMMED, true) !== sum) return "checksum mismatch"
  return {
    pageSize: view.getUint32(m + 8, true),
    root: Number(view.getBigUint64(m + 16, true)),
    pages: Number(view.getBigUint64(m + 40, true)),
    txid: view.getBigUint64(m + 48, true),
  }
}

/** Reads a node (leaf or branch) stored at `bytes[offset]`; `end` bounds it. */
const readElements = (
  bytes: Uint8Array,
  offset: number,
  end: number,
  where: string,
): { readonly branch: boolean; readonly elements: Array<Element & { child: number }> } => {
  if (offset + PAGE_HEADER > end) fail(`${where}: truncated page header`)
  const view = new DataView(bytes.buffer, bytes.byteOffset)
  const flags = view.getUint16(offset + 8, true)
  const count = view.getUint16(offset + 10, true)
  const branch = (flags & BRANCH_PAGE) !== 0
  if (!branch && (flags & LEAF_PAGE) === 0)
    fail(`${where}: page flags ${flags} are not a leaf or branch`)
  const elements: Array<Element & { child: number }> = []
  for (let i = 0; i < count; i++) {
    const at = offset + PAGE_HEADER + i * ELEMENT
    if (at + ELEMENT > end) fail(`${where}: element ${i} is past the page`)
    if (branch) {
      const pos = view.getUint32(at, true)
      const ksize = view.getUint32(at + 4, true)
      const child = Number(view.getBigUint64(at + 8, true))
      if (at + pos + ksize > end) fail(`${where}: key ${i} is past the page`)
      elements.push({
        key: bytes.slice(at + pos, at + pos + ksize),
        value: new Uint8Array(0),
        flags: 0,
        child,
      })
    } else {
      const eflags = view.getUint32(at, true)
      const pos = view.getUint32(at + 4, true)
      const ksize = view.getUint32(at + 8, true)
      const vsize = view.getUint32(at + 12, true)
      if (at + pos + ksize + vsize > end) fail(`${where}: entry ${i} is past the page`)
      const k = at + pos
      elements.push({
        key: bytes.slice(k, k + ksize),
        value: bytes.slice(k + ksize, k + ksize + vsize),
        flags: eflags,
        child: 0,
      })
    }
  }
  return { branch, elements }
}

/** The entries of the tree rooted at page `root`, in order. */
const readTree = (file: Uint8Array, meta: Meta, root: number, where: string): Array<Element> => {
  const out: Array<Element> = []
  const seen = new Set<number>()
  const visit = (pgid: number, depth: number): void => {
    if (depth > 64) fail(`${where}: tree deeper than 64`)
    if (pgid < 2 || pgid >= meta.pages) fail(`${where}: page ${pgid} out of range`)
    if (seen.has(pgid)) fail(`${where}: page ${pgid} reached twice`)
    seen.add(pgid)
    const at = pgid * meta.pageSize
    if (at + PAGE_HEADER > file.length) fail(`${where}: page ${pgid} is past the end of the file`)
    const overflow = new DataView(file.buffer, file.byteOffset + at).getUint32(12, true)
    const end = Math.min(file.length, at + (overflow + 1) * meta.pageSize)
    const node = readElements(file, at, end, `${where}: page ${pgid}`)
    if (node.branch) for (const e of node.elements) visit(e.child, depth + 1)
    else out.push(...node.elements)
  }
  visit(root, 0)
  return out
}

/** The top-level buckets of a bbolt file and their entries (nested buckets are refused). */
export const readBolt = (file: Uint8Array): Array<BoltBucket> => {
  const first = readMeta(file, 0)
  const pageSize = typeof first === "string" ? BOLT_PAGE_SIZE : first.pageSize
  const second = readMeta(file, pageSize)
  const metas = [first, second].filter((m): m is Meta => typeof m !== "string")
  if (metas.length === 0)
    fail(`not a bbolt database: meta 0 ${String(first)}, meta 1 ${String(second)}`)
  const meta = metas.reduce((a, b) => (b.txid > a.txid ? b : a))
  if (meta.pageSize < 512 || meta.pageSize > 65536) fail(`page size ${meta.pageSize}`)
  const buckets: Array<BoltBucket> = []
  for (const b of readTree(file, meta, meta.root, "root bucket")) {
    const name = new TextDecoder().decode(b.key)
    if ((b.flags & BUCKET_LEAF) === 0)
      fail(`root bucket: key ${JSON.stringify(name)} is not a bucket`)
    if (b.value.length < BUCKET_HEADER) fail(`bucket ${JSON.stringify(name)}: header truncated`)
    const root = Number(new DataView(b.value.buffer, b.value.byteOffset).getBigUint64(0, true))
    const elements =
      root === 0
        ? readElements(
            b.value,
            BUCKET_HEADER,
            b.value.length,
            `bucket ${JSON.stringify(name)} (inline)`,
          ).elements
        : readTree(file, meta, root, `bucket ${JSON.stringify(name)}`)
    for (const e of elements)
      if ((e.flags & BUCKET_LEAF) !== 0)
        fail(`bucket ${JSON.stringify(name)}: nested buckets are not supported`)
    buckets.push({ name: b.key, entries: elements.map((e) => [e.key, e.value] as const) })
  }
  return buckets
}
