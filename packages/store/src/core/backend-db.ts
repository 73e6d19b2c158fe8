// etcd's backend database (what its Snapshot RPC streams and `etcdctl
// snapshot restore` reads) built from a store's state, in etcd 3.4's bucket
// layout:
// - key: every retained version under its revision, 8 bytes of main
//   revision (big-endian), '_', 8 bytes of sub revision (the change's place
//   in its transaction), plus 't' for a tombstone; the value is the
//   mvccpb.KeyValue (a tombstone's holds only the key);
// - meta: consistent_index (the last applied log index, u64 big-endian) and,
//   once compacted, scheduledCompactRev and finishedCompactRev (a revision);
// - lease: each lease's ID (u64 big-endian) -> leasepb.Lease {ID, TTL};
// - members: hex member ID -> the member as JSON (etcd's field names);
//   members_removed: hex ID -> "removed";
// - cluster: clusterVersion; auth: authRevision 1; alarm, authUsers,
//   authRoles: empty.
// Pure: the state in, the file's bytes out (bolt.ts writes the pages).
import { type BoltBucket, compareBytes, writeBolt } from "./bolt.ts"
import type { StoreState } from "./mvcc.ts"
import type { KeyValue, Member } from "./types.ts"

export interface BackendContents {
  readonly state: StoreState
  readonly members: ReadonlyArray<Member>
  readonly removed: ReadonlyArray<bigint>
  /** The cluster version etcd records ("3.4.0"). */
  readonly clusterVersion: string
}

const text = new TextEncoder()

const u64be = (n: bigint): Uint8Array => {
  const bytes = new Uint8Array(8)
  new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, n))
  return bytes
}

/** etcd's revision key: main and sub as u64 big-endian around '_', 't' after for a tombstone. */
export const revisionKey = (main: number, sub: number, tombstone: boolean): Uint8Array => {
  const bytes = new Uint8Array(tombstone ? 18 : 17)
  const view = new DataView(bytes.buffer)
  view.setBigUint64(0, BigInt(main))
  bytes[8] = 0x5f
  view.setBigUint64(9, BigInt(sub))
  if (tombstone) bytes[17] = 0x74
  return bytes
}

// Protobuf, just what these two messages need (proto3: zero fields left out;
// numbers are non-negative safe integers here).
const varintSize = (n: number): number => {
  let size = 1
  while (n >= 0x80) {
    size++
    n = Math.floor(n / 0x80)
  }
  return size
}

class Out {
  readonly bytes: Uint8Array
  at = 0
  constructor(size: number) {
    this.bytes = new Uint8Array(size)
  }
  varint(n: number): void {
    while (n >= 0x80) {
      this.bytes[this.at++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.bytes[this.at++] = n
  }
  number(field: number, n: number): void {
    if (n === 0) return
    this.bytes[this.at++] = field * 8
    this.varint(n)
  }
  blob(field: number, b: Uint8Array): void {
    if (b.length === 0) return
    this.bytes[this.at++] = field * 8 + 2
    this.varint(b.length)
    this.bytes.set(b, this.at)
    this.at += b.length
  }
}

const numberSize = (n: number): number => (n === 0 ? 0 : 1 + varintSize(n))
const blobSize = (b: Uint8Array): number => (b.length === 0 ? 0 : 1 + varintSize(b.length) + b.length)

/** mvccpb.KeyValue; a tombstone is written as etcd writes it: the key alone. */
export const encodeStoredKeyValue = (kv: KeyValue): Uint8Array => {
  if (kv.version === 0) {
    const out = new Out(blobSize(kv.key))
    out.blob(1, kv.key)
    return out.bytes
  }
  const out = new Out(
    blobSize(kv.key) +
      numberSize(kv.create_revision) +
      numberSize(kv.mod_revision) +
      numberSize(kv.version) +
      blobSize(kv.value) +
      numberSize(kv.lease),
  )
  out.blob(1, kv.key)
  out.number(2, kv.create_revision)
  out.number(3, kv.mod_revision)
  out.number(4, kv.version)
  out.blob(5, kv.value)
  out.number(6, kv.lease)
  return out.bytes
}

/** leasepb.Lease {ID = 1, TTL = 2}, as etcd persists a lease. */
const encodeLease = (id: number, ttl: number): Uint8Array => {
  const out = new Out(numberSize(id) + numberSize(ttl))
  out.number(1, id)
  out.number(2, ttl)
  return out.bytes
}

/**
 * A member as etcd 3.4 stores it (Go's encoding/json of its Member: id as a
 * number, then peerURLs, isLearner when set, name and clientURLs when not
 * empty). The ID is written from the bigint, so all 64 bits survive.
 */
export const memberJson = (m: Member): string => {
  let json = `{"id":${m.ID.toString()},"peerURLs":${JSON.stringify(m.peerURLs)}`
  if (m.isLearner) json += `,"isLearner":true`
  if (m.name !== "") json += `,"name":${JSON.stringify(m.name)}`
  if (m.clientURLs.length > 0) json += `,"clientURLs":${JSON.stringify(m.clientURLs)}`
  return `${json}}`
}

const byKey = (
  entries: Array<readonly [Uint8Array, Uint8Array]>,
): Array<readonly [Uint8Array, Uint8Array]> => entries.sort((a, b) => compareBytes(a[0], b[0]))

/** The key bucket: versions below the compaction (one per key), then the change log. */
const keyBucket = (state: StoreState): Array<readonly [Uint8Array, Uint8Array]> => {
  const entries: Array<readonly [Uint8Array, Uint8Array]> = []
  // Sub revisions: a change's place among the changes of its revision.
  let lastMain = -1
  let sub = 0
  const add = (kv: KeyValue): void => {
    sub = kv.mod_revision === lastMain ? sub + 1 : 0
    lastMain = kv.mod_revision
    entries.push([revisionKey(kv.mod_revision, sub, kv.version === 0), encodeStoredKeyValue(kv)])
  }
  // The base is in key order; its versions' order within a revision is not
  // known any more, so they take sub revisions in key order.
  const base = [...state.base].sort((a, b) => a.mod_revision - b.mod_revision)
  for (const kv of base) add(kv)
  for (let i = 0; i < state.logLength; i++) add(state.log[i] as KeyValue)
  return byKey(entries)
}

/** The bytes of etcd's backend database holding `contents`. */
export const writeBackendDb = (contents: BackendContents): Uint8Array => {
  const { state } = contents
  const name = (s: string) => text.encode(s)
  const meta: Array<readonly [Uint8Array, Uint8Array]> = [
    [name("consistent_index"), u64be(BigInt(state.appliedIndex))],
  ]
  if (state.compactRev > 0) {
    const rev = revisionKey(state.compactRev, 0, false)
    meta.push([name("finishedCompactRev"), rev], [name("scheduledCompactRev"), rev])
  }
  const buckets: Array<BoltBucket> = [
    { name: name("alarm"), entries: [] },
    { name: name("auth"), entries: [[name("authRevision"), u64be(1n)]] },
    { name: name("authRoles"), entries: [] },
    { name: name("authUsers"), entries: [] },
    { name: name("cluster"), entries: [[name("clusterVersion"), name(contents.clusterVersion)]] },
    { name: name("key"), entries: keyBucket(state) },
    {
      name: name("lease"),
      entries: byKey(state.leases.map((l) => [u64be(BigInt(l.ID)), encodeLease(l.ID, l.ttl)])),
    },
    {
      name: name("members"),
      entries: byKey(
        contents.members.map((m) => [name(m.ID.toString(16)), name(memberJson(m))] as const),
      ),
    },
    {
      name: name("members_removed"),
      entries: byKey(contents.removed.map((id) => [name(id.toString(16)), name("removed")])),
    },
    { name: name("meta"), entries: byKey(meta) },
  ]
  return writeBolt(buckets)
}
