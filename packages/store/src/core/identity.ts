// A member's identity (member ID, cluster ID) as its data directory records
// it. etcd keeps both in its WAL's metadata and, once the WAL holds state,
// reads them from there and ignores --initial-advertise-peer-urls and
// --initial-cluster: a member whose peer URL changed (MemberUpdate) keeps its
// ID. Ours derive from the peer URLs first given, so without this record a
// member restarted with its new URL would compute another ID and be a
// stranger to its own log.
//
// The record is 25 bytes: "FLID", version 1, member ID and cluster ID
// (uint64, big-endian; cluster ID 0 = not known yet, a joining member learns
// it from the leader), CRC-32 of the first 21 bytes.
import { crc32 } from "./crc32.ts"

export interface MemberIdentity {
  readonly memberId: bigint
  /** 0 while the member does not know its cluster yet. */
  readonly clusterId: bigint
}

const MAGIC = [0x46, 0x4c, 0x49, 0x44] // "FLID"
const VERSION = 1
export const IDENTITY_BYTES = 25
const U64_MAX = (1n << 64n) - 1n

export const encodeIdentity = (identity: MemberIdentity): Uint8Array => {
  const out = new Uint8Array(IDENTITY_BYTES)
  const view = new DataView(out.buffer)
  out.set(MAGIC, 0)
  out[4] = VERSION
  view.setBigUint64(5, identity.memberId & U64_MAX)
  view.setBigUint64(13, identity.clusterId & U64_MAX)
  view.setUint32(21, crc32(out, 0, 21))
  return out
}

export type DecodedIdentity =
  | ({ readonly _tag: "Identity" } & MemberIdentity)
  | { readonly _tag: "Invalid"; readonly reason: string }

const invalid = (reason: string): DecodedIdentity => ({ _tag: "Invalid", reason })

/** Reads a record; an invalid one says which part is wrong and why. */
export const decodeIdentity = (bytes: Uint8Array): DecodedIdentity => {
  if (bytes.length !== IDENTITY_BYTES)
    return invalid(`length: ${bytes.length} bytes, expected ${IDENTITY_BYTES}`)
  if (MAGIC.some((b, i) => bytes[i] !== b)) return invalid("magic: not an identity record")
  if (bytes[4] !== VERSION) return invalid(`version: ${bytes[4]}, expected ${VERSION}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const sum = crc32(bytes, 0, 21)
  if (view.getUint32(21) !== sum)
    return invalid(
      `checksum: ${view.getUint32(21)} stored, ${sum} computed (the record is damaged)`,
    )
  const memberId = view.getBigUint64(5)
  if (memberId === 0n) return invalid("member ID: 0 (never a member's ID)")
  return { _tag: "Identity", memberId, clusterId: view.getBigUint64(13) }
}

/** What the data directory says about the member's identity. */
export type StoredIdentity =
  | { readonly _tag: "Missing" }
  | DecodedIdentity
  /** The record exists but could not be read (permissions, a directory, ...). */
  | { readonly _tag: "Unreadable"; readonly reason: string }

export type IdentityResolution =
  /** The data directory's log runs under the ID it recorded (flags ignored). */
  | ({ readonly _tag: "Stored" } & MemberIdentity)
  /**
   * The ID derived from the flags: a fresh start (no log; a record left from
   * a wiped log is stale) or a data directory from before the record existed.
   */
  | { readonly _tag: "Derived"; readonly memberId: bigint; readonly fresh: boolean }
  | { readonly _tag: "Refuse"; readonly reason: string }

/**
 * Which ID a member runs under. `walHoldsState`: its log holds state (it ran
 * before). A damaged record beside a log is refused: guessing the ID could
 * make the member a stranger to its own log, or another member's double.
 */
export const resolveIdentity = (input: {
  readonly walHoldsState: boolean
  readonly stored: StoredIdentity
  readonly derived: bigint
}): IdentityResolution => {
  const { stored } = input
  if (!input.walHoldsState) return { _tag: "Derived", memberId: input.derived, fresh: true }
  switch (stored._tag) {
    case "Missing":
      return { _tag: "Derived", memberId: input.derived, fresh: false }
    case "Identity":
      return { _tag: "Stored", memberId: stored.memberId, clusterId: stored.clusterId }
    case "Invalid":
    case "Unreadable":
      return { _tag: "Refuse", reason: stored.reason }
  }
}

/**
 * The record to write now, if any. Written once the replicated membership
 * lists the member (so a derived ID that is not the member's - an old data
 * directory started with a changed advertise URL - is never made sticky),
 * and again when the cluster ID becomes known.
 */
export const identityToPersist = (
  recorded: MemberIdentity | undefined,
  memberId: bigint,
  membership: { readonly clusterId: bigint; readonly lists: boolean },
): MemberIdentity | undefined => {
  if (!membership.lists) return undefined
  if (recorded !== undefined && recorded.memberId === memberId) {
    if (membership.clusterId === 0n || recorded.clusterId === membership.clusterId) return undefined
    // A recorded cluster ID is never replaced by another (see clusterMismatch).
    if (recorded.clusterId !== 0n) return undefined
  }
  return { memberId, clusterId: membership.clusterId }
}

/** A recorded cluster ID the log contradicts: the data directory is not this cluster's. */
export const clusterMismatch = (recorded: bigint, fromLog: bigint): boolean =>
  recorded !== 0n && fromLog !== 0n && recorded !== fromLog
