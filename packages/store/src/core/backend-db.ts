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
import { type BoltBucket, writeBoltSteps } from "./bolt.ts"
import { compareBytes } from "./bytes.ts"
import { ALARM_TYPES, runSteps } from "./codec.ts"
import type { StoreState } from "./mvcc.ts"
import type { AlarmMember, KeyValue, Member } from "./types.ts"

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
const blobSize = (b: Uint8Array): number =>
  b.length === 0 ? 0 : 1 + varintSize(b.length) + b.length

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

/** etcdserverpb.AlarmMember {MemberID = 1, Alarm = 2}: etcd's alarm bucket keys (values are empty). */
const encodeAlarmMember = (a: AlarmMember): Uint8Array => {
  const out: Array<number> = []
  if (a.memberID !== 0n) {
    out.push(8)
    let v = a.memberID
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    out.push(Number(v))
  }
  const type = ALARM_TYPES.indexOf(a.alarm)
  if (type > 0) out.push(16, type)
  return Uint8Array.from(out)
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
function* keyBucket(
  state: StoreState,
): Generator<void, Array<readonly [Uint8Array, Uint8Array]>, void> {
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
  for (const kv of base) {
    add(kv)
    if (entries.length % VERSIONS_PER_STEP === 0) yield
  }
  for (let i = 0; i < state.logLength; i++) {
    add(state.log[i] as KeyValue)
    if (entries.length % VERSIONS_PER_STEP === 0) yield
  }
  // In revision order already (the base's revisions are all below the log's), but made sure.
  yield
  return byKey(entries)
}

/** Versions encoded between two steps of `writeBackendDbSteps`. */
const VERSIONS_PER_STEP = 4096

/** `writeBackendDbSteps` at once. */
export const writeBackendDb = (contents: BackendContents): Uint8Array =>
  runSteps(writeBackendDbSteps(contents))

/**
 * The bytes of etcd's backend database holding `contents`, in steps of a
 * millisecond or two (a member runs them between other work).
 */
export function* writeBackendDbSteps(contents: BackendContents): Generator<void, Uint8Array, void> {
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
    {
      name: name("alarm"),
      entries: byKey((state.alarms ?? []).map((a) => [encodeAlarmMember(a), new Uint8Array(0)])),
    },
    { name: name("auth"), entries: [[name("authRevision"), u64be(1n)]] },
    { name: name("authRoles"), entries: [] },
    { name: name("authUsers"), entries: [] },
    { name: name("cluster"), entries: [[name("clusterVersion"), name(contents.clusterVersion)]] },
    { name: name("key"), entries: yield* keyBucket(state) },
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
  return yield* writeBoltSteps(buckets)
}

// ---------------------------------------------------------------------------
// Reading etcd's backend database (a snapshot file): what a restore needs.

/** A snapshot file that cannot be restored, with the place and the reason. */
export class SnapshotFileError extends Error {
  override readonly name = "SnapshotFileError"
}

// A declaration (not an arrow) so that calls narrow types as `never` does.
function refuse(reason: string): never {
  throw new SnapshotFileError(reason)
}

/** Reads protobuf fields of one message: varints as unsigned 64-bit bigints, bytes as views. */
const readFields = (
  bytes: Uint8Array,
  where: string,
  field: (n: number, value: bigint | Uint8Array) => void,
): void => {
  let at = 0
  const varint = (what: string): bigint => {
    let n = 0n
    for (let i = 0; i < 10; i++) {
      if (at >= bytes.length) refuse(`${where}: ${what}: truncated varint`)
      const b = bytes[at++] as number
      n |= BigInt(b & 0x7f) << BigInt(7 * i)
      if (b < 0x80) return BigInt.asUintN(64, n)
    }
    return refuse(`${where}: ${what}: varint too long`)
  }
  const small = (n: bigint, what: string): number =>
    n > BigInt(bytes.length) ? refuse(`${where}: ${what}: ${n} is past the end`) : Number(n)
  while (at < bytes.length) {
    const tagValue = varint("tag")
    if (tagValue > 0xffffffffn) refuse(`${where}: tag ${tagValue} above 2^32`)
    const tag = Number(tagValue)
    const n = Math.floor(tag / 8)
    const wire = tag % 8
    if (n === 0) refuse(`${where}: field number 0`)
    if (wire === 0) field(n, varint(`field ${n}`))
    else if (wire === 2) {
      const len = small(varint(`field ${n} length`), `field ${n} length`)
      if (at + len > bytes.length) refuse(`${where}: field ${n}: ${len} bytes past the end`)
      field(n, bytes.subarray(at, at + len))
      at += len
    } else refuse(`${where}: field ${n}: wire type ${wire} is not one etcd writes here`)
  }
}

/** A non-negative count or revision as a number (what we keep exactly: below 2^53). */
const safe = (n: bigint, where: string): number =>
  n > BigInt(Number.MAX_SAFE_INTEGER)
    ? refuse(`${where}: ${BigInt.asIntN(64, n)} is negative or above 2^53`)
    : Number(n)

/** mvccpb.KeyValue, its lease ID as etcd wrote it (any 64 bits). */
const decodeKeyValue = (
  bytes: Uint8Array,
  where: string,
): { readonly kv: Omit<KeyValue, "lease">; readonly lease: bigint } => {
  let key = new Uint8Array(0)
  let value = new Uint8Array(0)
  const numbers = [0n, 0n, 0n, 0n, 0n, 0n, 0n]
  readFields(bytes, where, (n, v) => {
    if (n === 1 || n === 5) {
      if (typeof v === "bigint")
        refuse(`${where}: field ${n} (${n === 1 ? "key" : "value"}) is not bytes`)
      if (n === 1) key = v.slice()
      else value = v.slice()
    } else if (n >= 2 && n <= 6) {
      if (typeof v !== "bigint") refuse(`${where}: field ${n} is not a varint`)
      numbers[n] = v
    }
  })
  return {
    kv: {
      key,
      create_revision: safe(numbers[2] as bigint, `${where} create_revision`),
      mod_revision: safe(numbers[3] as bigint, `${where} mod_revision`),
      version: safe(numbers[4] as bigint, `${where} version`),
      value,
    },
    lease: numbers[6] as bigint,
  }
}

const u64Of = (bytes: Uint8Array, where: string): bigint => {
  if (bytes.length !== 8) refuse(`${where}: ${bytes.length} bytes, expected 8`)
  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0)
}

/** A revision key: [main, sub, tombstone]. */
const revisionOf = (key: Uint8Array, where: string): [number, number, boolean] => {
  const tombstone = key.length === 18 && key[17] === 0x74
  if ((key.length !== 17 && !tombstone) || key[8] !== 0x5f)
    refuse(`${where}: not a revision (main_sub, 17 bytes, or 18 with 't')`)
  return [
    safe(u64Of(key.subarray(0, 8), `${where} main`), `${where} main`),
    safe(u64Of(key.subarray(9, 17), `${where} sub`), `${where} sub`),
    tombstone,
  ]
}

export interface RestoredBackend {
  /** The key-value state, at log index 0, lease deadlines a full TTL from time 0. */
  readonly state: StoreState
  /** The consistent index the file recorded (the old cluster's; not kept). */
  readonly consistentIndex: bigint
  /**
   * Lease IDs this store cannot hold (etcd's are any positive int64; ours stay
   * below 2^53, as JavaScript numbers), each with the ID it was given here;
   * keys and versions follow their lease.
   */
  readonly renumberedLeases: ReadonlyArray<readonly [from: bigint, to: number]>
}

/**
 * The store state held by etcd's backend database (its buckets, as readBolt
 * gives them), ready to bootstrap a new cluster with: revisions, versions,
 * tombstones and the compaction as recorded; leases with their granted TTL
 * (etcd too restarts them whole). Membership is not taken: a restore names
 * the new cluster's members.
 */
export const readBackendDb = (
  buckets: ReadonlyArray<{ readonly name: Uint8Array; readonly entries: BoltBucket["entries"] }>,
): RestoredBackend => {
  const byName = new Map(buckets.map((b) => [new TextDecoder().decode(b.name), b.entries]))
  const keys = byName.get("key") ?? refuse('no "key" bucket: not an etcd backend database')
  const meta = new Map(
    (byName.get("meta") ?? []).map(([k, v]) => [new TextDecoder().decode(k), v] as const),
  )
  const compactBytes = meta.get("finishedCompactRev")
  const compactRev =
    compactBytes === undefined ? 0 : revisionOf(compactBytes, "meta finishedCompactRev")[0]
  const indexBytes = meta.get("consistent_index")
  const consistentIndex = indexBytes === undefined ? 0n : u64Of(indexBytes, "meta consistent_index")

  // Leases first: IDs that do not fit a number get the next free ones.
  const granted: Array<{ readonly id: bigint; readonly ttl: number }> = []
  for (const [k, v] of byName.get("lease") ?? []) {
    const id = u64Of(k, "lease bucket key")
    const where = `lease ${id}`
    let recorded = 0n
    let ttl = 0n
    readFields(v, where, (n, x) => {
      if (typeof x !== "bigint") return
      if (n === 1) recorded = x
      else if (n === 2) ttl = x
    })
    if (recorded !== id) refuse(`${where}: its record holds ID ${recorded}`)
    granted.push({ id, ttl: safe(ttl, `${where} TTL`) })
  }
  const renumbered = new Map<bigint, number>()
  let nextFree = 1
  for (const g of granted)
    if (g.id <= BigInt(Number.MAX_SAFE_INTEGER) && Number(g.id) >= nextFree)
      nextFree = Number(g.id) + 1
  const leaseNumber = (id: bigint): number => {
    if (id <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(id)
    let to = renumbered.get(id)
    if (to === undefined) {
      to = nextFree++
      renumbered.set(id, to)
    }
    return to
  }
  const leases = granted.map((g) => ({
    ID: leaseNumber(g.id),
    ttl: g.ttl,
    deadline: g.ttl * 1000,
  }))

  // Alarms as the file has them (etcd's restore keeps them too): cleared with `etcdctl alarm disarm`.
  const alarms: Array<AlarmMember> = []
  for (const [k] of byName.get("alarm") ?? []) {
    let memberID = 0n
    let type = 0n
    readFields(k, "alarm bucket key", (n, v) => {
      if (typeof v !== "bigint") return
      if (n === 1) memberID = v
      else if (n === 2) type = v
    })
    const alarm = ALARM_TYPES[Number(type)]
    if (alarm === undefined || type > 2n) refuse(`alarm bucket: unknown alarm type ${type}`)
    if (alarm !== "NONE") alarms.push({ memberID, alarm })
  }
  const base: Array<KeyValue> = []
  const log: Array<KeyValue> = []
  let rev = 1
  let previous: [number, number] = [0, -1]
  for (const [k, v] of keys) {
    const where = `key bucket, revision ${Buffer.from(k).toString("hex")}`
    const [main, sub, tombstone] = revisionOf(k, where)
    if (main < previous[0] || (main === previous[0] && sub <= previous[1]))
      refuse(`${where}: out of order`)
    previous = [main, sub]
    const { kv, lease } = decodeKeyValue(v, where)
    if (kv.key.length === 0) refuse(`${where}: the version has no key`)
    if (!tombstone && (kv.mod_revision !== main || kv.version < 1 || kv.create_revision < 1))
      refuse(
        `${where}: mod_revision ${kv.mod_revision}, create_revision ${kv.create_revision}, version ${kv.version} do not fit its revision`,
      )
    const version: KeyValue = tombstone
      ? {
          key: kv.key,
          create_revision: 0,
          mod_revision: main,
          version: 0,
          value: new Uint8Array(0),
          lease: 0,
        }
      : { ...kv, lease: lease === 0n ? 0 : leaseNumber(lease) }
    if (main > rev) rev = main
    ;(main < compactRev ? base : log).push(version)
  }
  if (compactRev > rev) rev = compactRev
  base.sort((a, b) => compareBytes(a.key, b.key))
  return {
    state: {
      rev,
      compactRev,
      time: 0,
      appliedIndex: 0,
      leases,
      base,
      log,
      logLength: log.length,
      alarms,
    },
    consistentIndex,
    renumberedLeases: [...renumbered],
  }
}
