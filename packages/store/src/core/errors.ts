// The errors the store answers with, as etcd's server sends them: a gRPC status
// code and etcd's exact message (api/v3rpc/rpctypes), so that etcd clients
// recognise them. Plain frozen values: cheap to return from the apply loop.

/** gRPC status codes (google.rpc.Code). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode]

/** A failed request: what the gRPC layer sends as the status. */
export interface EtcdFailure {
  readonly _tag: "EtcdFailure"
  readonly code: GrpcCode
  readonly message: string
}

export const etcdFailure = (code: GrpcCode, message: string): EtcdFailure =>
  Object.freeze({ _tag: "EtcdFailure", code, message })

export const isEtcdFailure = (u: unknown): u is EtcdFailure =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "EtcdFailure"

export const ErrEmptyKey = etcdFailure(GrpcCode.INVALID_ARGUMENT, "etcdserver: key is not provided")
export const ErrKeyNotFound = etcdFailure(GrpcCode.INVALID_ARGUMENT, "etcdserver: key not found")
export const ErrValueProvided = etcdFailure(
  GrpcCode.INVALID_ARGUMENT,
  "etcdserver: value is provided",
)
export const ErrLeaseProvided = etcdFailure(
  GrpcCode.INVALID_ARGUMENT,
  "etcdserver: lease is provided",
)
export const ErrTooManyOps = etcdFailure(
  GrpcCode.INVALID_ARGUMENT,
  "etcdserver: too many operations in txn request",
)
export const ErrDuplicateKey = etcdFailure(
  GrpcCode.INVALID_ARGUMENT,
  "etcdserver: duplicate key given in txn request",
)
/** The store is over its quota, or a NOSPACE alarm is raised (etcd's ErrGRPCNoSpace). */
export const ErrNoSpace = etcdFailure(
  GrpcCode.RESOURCE_EXHAUSTED,
  "etcdserver: mvcc: database space exceeded",
)

export const ErrCompacted = etcdFailure(
  GrpcCode.OUT_OF_RANGE,
  "etcdserver: mvcc: required revision has been compacted",
)
export const ErrFutureRev = etcdFailure(
  GrpcCode.OUT_OF_RANGE,
  "etcdserver: mvcc: required revision is a future revision",
)
export const ErrLeaseNotFound = etcdFailure(
  GrpcCode.NOT_FOUND,
  "etcdserver: requested lease not found",
)
export const ErrLeaseExist = etcdFailure(
  GrpcCode.FAILED_PRECONDITION,
  "etcdserver: lease already exists",
)
export const ErrLeaseTTLTooLarge = etcdFailure(
  GrpcCode.OUT_OF_RANGE,
  "etcdserver: too large lease TTL",
)
export const ErrRequestTooLarge = etcdFailure(
  GrpcCode.INVALID_ARGUMENT,
  "etcdserver: request is too large",
)
export const ErrMemberNotFound = etcdFailure(GrpcCode.NOT_FOUND, "etcdserver: member not found")
export const ErrMemberExist = etcdFailure(
  GrpcCode.FAILED_PRECONDITION,
  "etcdserver: member ID already exist",
)
export const ErrPeerURLExist = etcdFailure(
  GrpcCode.FAILED_PRECONDITION,
  "etcdserver: Peer URLs already exists",
)
export const ErrMemberBadURLs = etcdFailure(
  GrpcCode.INVALID_ARGUMENT,
  "etcdserver: given member URLs are invalid",
)
export const ErrMemberNotLearner = etcdFailure(
  GrpcCode.FAILED_PRECONDITION,
  "etcdserver: can only promote a learner member",
)
export const ErrLearnerNotReady = etcdFailure(
  GrpcCode.FAILED_PRECONDITION,
  "etcdserver: can only promote a learner member which is in sync with leader",
)
export const ErrTooManyLearners = etcdFailure(
  GrpcCode.FAILED_PRECONDITION,
  "etcdserver: too many learner members in cluster",
)
/** etcd: a learner refuses all but Status and serializable Range (UNAVAILABLE: try another endpoint). */
export const ErrNotSupportedForLearner = etcdFailure(
  GrpcCode.UNAVAILABLE,
  "etcdserver: rpc not supported for learner",
)
export const ErrNotEnoughStartedMembers = etcdFailure(
  GrpcCode.FAILED_PRECONDITION,
  "etcdserver: re-configuration failed due to not enough started members",
)
/** etcd: a member change refused while this member is not (or not long) connected to the voters. */
export const ErrUnhealthy = etcdFailure(GrpcCode.UNAVAILABLE, "etcdserver: unhealthy cluster")
export const ErrNotLeader = etcdFailure(GrpcCode.FAILED_PRECONDITION, "etcdserver: not leader")
export const ErrBadLeaderTransferee = etcdFailure(
  GrpcCode.FAILED_PRECONDITION,
  "etcdserver: bad leader transferee",
)
/** etcd maps this one to no gRPC error of its own: clients see UNKNOWN with the message. */
export const ErrTimeoutLeaderTransfer = etcdFailure(
  GrpcCode.UNKNOWN,
  "etcdserver: request timed out, leader transfer took too long",
)
/** Ours: member IDs derive from peer URLs, so a removed member's URLs cannot come back. */
export const ErrRemovedPeerURLs = etcdFailure(
  GrpcCode.FAILED_PRECONDITION,
  "etcdserver: these peer URLs belonged to a removed member; use other URLs",
)
export const ErrTimeout = etcdFailure(GrpcCode.UNAVAILABLE, "etcdserver: request timed out")
export const ErrTimeoutDueToLeaderFail = etcdFailure(
  GrpcCode.UNAVAILABLE,
  "etcdserver: request timed out, possibly due to previous leader failure",
)
export const ErrLeaderChanged = etcdFailure(GrpcCode.UNAVAILABLE, "etcdserver: leader changed")
export const ErrNotCapable = etcdFailure(GrpcCode.UNAVAILABLE, "etcdserver: not capable")
export const ErrStopped = etcdFailure(GrpcCode.UNAVAILABLE, "etcdserver: server stopped")
export const ErrNoLeader = etcdFailure(GrpcCode.UNAVAILABLE, "etcdserver: no leader")

/** Watch-level refusals (mvcc package), sent as `cancel_reason`. */
export const ErrWatcherDuplicateID = "mvcc: duplicate watch ID provided on the WatchStream"
export const ErrEmptyWatcherRange = "mvcc: watcher range is empty"

/** A malformed field: INVALID_ARGUMENT naming the field and the reason. */
export const invalidArgument = (field: string, reason: string): EtcdFailure =>
  etcdFailure(GrpcCode.INVALID_ARGUMENT, `etcdserver: invalid ${field}: ${reason}`)
