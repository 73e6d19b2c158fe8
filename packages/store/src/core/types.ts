// Requests and responses of the store, modelled on etcd's `etcdserverpb` and
// `mvccpb` messages: same message names and field names (snake_case as in the
// .proto files), as plain objects. int64 fields are JavaScript numbers (safe
// integers; the gRPC layer rejects anything larger), bytes are Uint8Array and
// enums are their proto names. Optional request fields take proto3 defaults
// when absent, so `{ key }` is a complete RangeRequest.
//
// Byte arrays handed to the store are treated as immutable: the store keeps
// references to them instead of copying.

/** mvccpb.KeyValue. A stored version; the store returns the same objects it keeps, never mutate them. */
export interface KeyValue {
  readonly key: Uint8Array
  /** Revision of the last creation of this key (0 for a tombstone). */
  readonly create_revision: number
  /** Revision of this version (the deletion revision for a tombstone). */
  readonly mod_revision: number
  /** Number of versions since creation; 0 marks a tombstone. */
  readonly version: number
  readonly value: Uint8Array
  /** Lease the key is attached to, 0 for none. */
  readonly lease: number
}

export type EventType = "PUT" | "DELETE"

/** mvccpb.Event */
export interface Event {
  readonly type: EventType
  readonly kv: KeyValue
  readonly prev_kv?: KeyValue
}

/** etcdserverpb.ResponseHeader; the core fills `revision`, the server the rest. */
export interface ResponseHeader {
  readonly cluster_id?: bigint
  readonly member_id?: bigint
  readonly revision: number
  readonly raft_term?: number
}

export type SortOrder = "NONE" | "ASCEND" | "DESCEND"
export type SortTarget = "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE"

export interface RangeRequest {
  readonly key: Uint8Array
  /** Empty: the single key. `\0`: every key >= key. Otherwise the half-open range [key, range_end). */
  readonly range_end?: Uint8Array
  /** At most this many kvs; 0 or negative: no limit. */
  readonly limit?: number
  /** Read at this revision; 0: the current one. */
  readonly revision?: number
  readonly sort_order?: SortOrder
  readonly sort_target?: SortTarget
  readonly serializable?: boolean
  readonly keys_only?: boolean
  readonly count_only?: boolean
  readonly min_mod_revision?: number
  readonly max_mod_revision?: number
  readonly min_create_revision?: number
  readonly max_create_revision?: number
}

export interface RangeResponse {
  readonly header: ResponseHeader
  readonly kvs: ReadonlyArray<KeyValue>
  /** More kvs matched than `limit` allowed. */
  readonly more: boolean
  /** Number of keys in the range at the revision (before the min/max filters and the limit). */
  readonly count: number
}

export interface PutRequest {
  readonly key: Uint8Array
  readonly value?: Uint8Array
  readonly lease?: number
  readonly prev_kv?: boolean
  readonly ignore_value?: boolean
  readonly ignore_lease?: boolean
}

export interface PutResponse {
  readonly header: ResponseHeader
  readonly prev_kv?: KeyValue
}

export interface DeleteRangeRequest {
  readonly key: Uint8Array
  readonly range_end?: Uint8Array
  readonly prev_kv?: boolean
}

export interface DeleteRangeResponse {
  readonly header: ResponseHeader
  readonly deleted: number
  readonly prev_kvs: ReadonlyArray<KeyValue>
}

/** etcdserverpb.RequestOp: exactly one of the fields. */
export type RequestOp =
  | { readonly request_range: RangeRequest }
  | { readonly request_put: PutRequest }
  | { readonly request_delete_range: DeleteRangeRequest }
  | { readonly request_txn: TxnRequest }

/** etcdserverpb.ResponseOp: exactly one of the fields. */
export type ResponseOp =
  | { readonly response_range: RangeResponse }
  | { readonly response_put: PutResponse }
  | { readonly response_delete_range: DeleteRangeResponse }
  | { readonly response_txn: TxnResponse }

export type CompareResult = "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL"
export type CompareTarget = "VERSION" | "CREATE" | "MOD" | "VALUE" | "LEASE"

/** etcdserverpb.Compare; the field of `target_union` read is the one named by `target`. */
export interface Compare {
  readonly result?: CompareResult
  readonly target?: CompareTarget
  readonly key: Uint8Array
  readonly range_end?: Uint8Array
  readonly version?: number
  readonly create_revision?: number
  readonly mod_revision?: number
  readonly value?: Uint8Array
  readonly lease?: number
}

export interface TxnRequest {
  readonly compare?: ReadonlyArray<Compare>
  readonly success?: ReadonlyArray<RequestOp>
  readonly failure?: ReadonlyArray<RequestOp>
}

export interface TxnResponse {
  readonly header: ResponseHeader
  readonly succeeded: boolean
  readonly responses: ReadonlyArray<ResponseOp>
}

export interface CompactionRequest {
  readonly revision: number
  readonly physical?: boolean
}

export interface CompactionResponse {
  readonly header: ResponseHeader
}

export interface LeaseGrantRequest {
  /** Requested time to live in seconds (raised to the minimum lease TTL). */
  readonly TTL: number
  /** Lease ID; 0 asks the server to choose one. */
  readonly ID?: number
}

export interface LeaseGrantResponse {
  readonly header: ResponseHeader
  readonly ID: number
  readonly TTL: number
  readonly error: string
}

export interface LeaseRevokeRequest {
  readonly ID: number
}

export interface LeaseRevokeResponse {
  readonly header: ResponseHeader
}

export interface LeaseKeepAliveRequest {
  readonly ID: number
}

export interface LeaseKeepAliveResponse {
  readonly header: ResponseHeader
  readonly ID: number
  /** The renewed TTL in seconds; 0 when the lease does not exist. */
  readonly TTL: number
}

export interface LeaseTimeToLiveRequest {
  readonly ID: number
  readonly keys?: boolean
}

export interface LeaseTimeToLiveResponse {
  readonly header: ResponseHeader
  readonly ID: number
  /** Remaining seconds; -1 when the lease does not exist. */
  readonly TTL: number
  readonly grantedTTL: number
  readonly keys: ReadonlyArray<Uint8Array>
}

export interface LeaseStatus {
  readonly ID: number
}

export interface LeaseLeasesResponse {
  readonly header: ResponseHeader
  readonly leases: ReadonlyArray<LeaseStatus>
}

export type FilterType = "NOPUT" | "NODELETE"

export interface WatchCreateRequest {
  readonly key: Uint8Array
  readonly range_end?: Uint8Array
  /** First revision to deliver; 0: changes after the current revision. */
  readonly start_revision?: number
  readonly progress_notify?: boolean
  readonly filters?: ReadonlyArray<FilterType>
  readonly prev_kv?: boolean
  /** Watch ID chosen by the client; 0 lets the server choose. */
  readonly watch_id?: number
  readonly fragment?: boolean
}

export interface WatchCancelRequest {
  readonly watch_id: number
}

/** etcdserverpb.WatchRequest: exactly one of the fields. */
export type WatchRequest =
  | { readonly create_request: WatchCreateRequest }
  | { readonly cancel_request: WatchCancelRequest }
  | { readonly progress_request: Record<string, never> }

export interface WatchResponse {
  readonly header: ResponseHeader
  /** -1 for a progress notification that speaks for every watcher of the stream. */
  readonly watch_id: number
  readonly created: boolean
  readonly canceled: boolean
  readonly compact_revision: number
  readonly cancel_reason: string
  readonly fragment: boolean
  readonly events: ReadonlyArray<Event>
}

// ---------------------------------------------------------------------------
// Cluster and maintenance (etcdserverpb.Cluster, etcdserverpb.Maintenance).
// Member and cluster IDs are uint64: bigint.

export interface Member {
  readonly ID: bigint
  /** Empty until the member has started and published its name. */
  readonly name: string
  readonly peerURLs: ReadonlyArray<string>
  readonly clientURLs: ReadonlyArray<string>
  readonly isLearner: boolean
}

export interface MemberListResponse {
  readonly header: ResponseHeader
  readonly members: ReadonlyArray<Member>
}

export interface MemberAddRequest {
  readonly peerURLs: ReadonlyArray<string>
  readonly isLearner?: boolean
}

export interface MemberAddResponse {
  readonly header: ResponseHeader
  readonly member: Member
  readonly members: ReadonlyArray<Member>
}

export interface MemberRemoveRequest {
  readonly ID: bigint
}

export interface MemberRemoveResponse {
  readonly header: ResponseHeader
  readonly members: ReadonlyArray<Member>
}

export interface MemberUpdateRequest {
  readonly ID: bigint
  readonly peerURLs: ReadonlyArray<string>
}

export interface MemberUpdateResponse {
  readonly header: ResponseHeader
  readonly members: ReadonlyArray<Member>
}

export interface MemberPromoteRequest {
  readonly ID: bigint
}

export interface MemberPromoteResponse {
  readonly header: ResponseHeader
  readonly members: ReadonlyArray<Member>
}

export interface MoveLeaderRequest {
  readonly targetID: bigint
}

export interface MoveLeaderResponse {
  readonly header: ResponseHeader
}

export interface StatusResponse {
  readonly header: ResponseHeader
  readonly version: string
  readonly dbSize: number
  readonly leader: bigint
  readonly raftIndex: number
  readonly raftTerm: number
  readonly raftAppliedIndex: number
  readonly errors: ReadonlyArray<string>
  readonly dbSizeInUse: number
  readonly isLearner: boolean
}

export interface HashKVResponse {
  readonly header: ResponseHeader
  readonly hash: number
  readonly compact_revision: number
}

// ---------------------------------------------------------------------------
// Log entries: what the Raft log carries (etcd's InternalRaftRequest).

/** Header of a log entry, stamped by the proposer (the leader). */
export interface RequestHeader {
  /** Proposal ID, unique per proposer, used to match the applied result to the waiting caller. */
  readonly ID: number
  /**
   * The proposer's logical time in milliseconds. Lease deadlines are kept in this
   * time base; applying an entry advances the state machine's time to
   * max(time, now), so time never moves backwards except by `lease_promote`.
   */
  readonly now: number
}

/** Expire the leases whose deadline has passed (decided by the leader, re-checked on apply). */
export interface LeaseExpireRequest {
  readonly IDs: ReadonlyArray<number>
}

/**
 * A new leader takes over lease timing (etcd's lessor Promote): every lease keeps
 * its remaining TTL, measured from the state machine's last time, re-based onto
 * the new leader's clock `header.now`.
 */
export type LeasePromoteRequest = Record<string, never>

/** One log entry: a header and exactly one request. */
export interface InternalRequest {
  readonly header: RequestHeader
  readonly put?: PutRequest
  readonly delete_range?: DeleteRangeRequest
  readonly txn?: TxnRequest
  readonly compaction?: CompactionRequest
  readonly lease_grant?: LeaseGrantRequest
  readonly lease_revoke?: LeaseRevokeRequest
  readonly lease_keep_alive?: LeaseKeepAliveRequest
  readonly lease_expire?: LeaseExpireRequest
  readonly lease_promote?: LeasePromoteRequest
  /** Raise or clear an alarm (etcd's AlarmRequest through the log). */
  readonly alarm?: AlarmChange
}

/** etcd's AlarmType; NONE means every type where a type filters. */
export type AlarmType = "NONE" | "NOSPACE" | "CORRUPT"

/** A raised alarm: which member raised it, and what. */
export interface AlarmMember {
  readonly memberID: bigint
  readonly alarm: AlarmType
}

/** etcd's AlarmRequest: GET lists, ACTIVATE raises, DEACTIVATE clears. */
export interface AlarmRequest {
  readonly action: "GET" | "ACTIVATE" | "DEACTIVATE"
  readonly memberID: bigint
  readonly alarm: AlarmType
}

export interface AlarmChange {
  readonly action: "ACTIVATE" | "DEACTIVATE"
  readonly memberID: bigint
  readonly alarm: AlarmType
}

/** The alarms a change affected (raised or cleared; none when it changed nothing). */
export interface AlarmResponse {
  readonly header: ResponseHeader
  readonly alarms: ReadonlyArray<AlarmMember>
}

export interface LeaseExpireResponse {
  readonly header: ResponseHeader
  /** The leases that were expired (the others had been renewed or revoked meanwhile). */
  readonly expired: ReadonlyArray<number>
}

export interface LeasePromoteResponse {
  readonly header: ResponseHeader
}

export type InternalResponse =
  | PutResponse
  | DeleteRangeResponse
  | TxnResponse
  | CompactionResponse
  | LeaseGrantResponse
  | LeaseRevokeResponse
  | LeaseKeepAliveResponse
  | LeaseExpireResponse
  | LeasePromoteResponse
  | AlarmResponse
