/**
 * meta.k8s.io/v1: the metadata every object carries, lists, `Status`,
 * `DeleteOptions`, server-side `Table`s, `PartialObjectMetadata` and watch
 * events, in Kubernetes' JSON shape.
 */
import { Schema } from "effect"
import {
  Int32,
  Int64,
  RequiredInt32,
  RequiredString,
  StringMap,
  Time,
  TypeField,
  withZero,
} from "../wire.ts"

const opt = Schema.optionalKey

/** `apiVersion` and `kind`, both optional: how list items and raw bodies carry them. */
export const TypeMeta = Schema.Struct({
  apiVersion: opt(Schema.String),
  kind: opt(Schema.String),
})
export interface TypeMeta extends Schema.Schema.Type<typeof TypeMeta> {}

/** A reference from a dependent to its owner (garbage collection, controllers). */
export const OwnerReference = Schema.Struct({
  apiVersion: RequiredString,
  kind: RequiredString,
  name: RequiredString,
  uid: RequiredString,
  controller: opt(Schema.Boolean),
  blockOwnerDeletion: opt(Schema.Boolean),
})
export interface OwnerReference extends Schema.Schema.Type<typeof OwnerReference> {}

/** One field manager's entry in `metadata.managedFields` (server-side apply). */
export const ManagedFieldsEntry = Schema.Struct({
  manager: opt(Schema.String),
  operation: opt(Schema.String),
  apiVersion: opt(Schema.String),
  time: opt(Time),
  fieldsType: opt(Schema.String),
  fieldsV1: opt(Schema.Json),
  subresource: opt(Schema.String),
})
export interface ManagedFieldsEntry extends Schema.Schema.Type<typeof ManagedFieldsEntry> {}

/** `metadata` of every persisted object. Every field is optional on the wire. */
export const ObjectMeta = Schema.Struct({
  name: opt(Schema.String),
  generateName: opt(Schema.String),
  namespace: opt(Schema.String),
  selfLink: opt(Schema.String),
  uid: opt(Schema.String),
  resourceVersion: opt(Schema.String),
  generation: opt(Int64),
  creationTimestamp: opt(Time),
  deletionTimestamp: opt(Time),
  deletionGracePeriodSeconds: opt(Int64),
  labels: opt(StringMap),
  annotations: opt(StringMap),
  ownerReferences: opt(Schema.Array(OwnerReference)),
  finalizers: opt(Schema.Array(Schema.String)),
  managedFields: opt(Schema.Array(ManagedFieldsEntry)),
})
export interface ObjectMeta extends Schema.Schema.Type<typeof ObjectMeta> {}

/** `metadata` as a required field that decodes to `{}` when absent. */
export const RequiredObjectMeta = ObjectMeta.pipe(withZero({}))

/** `metadata` of lists. */
export const ListMeta = Schema.Struct({
  selfLink: opt(Schema.String),
  resourceVersion: opt(Schema.String),
  continue: opt(Schema.String),
  remainingItemCount: opt(Int64),
})
export interface ListMeta extends Schema.Schema.Type<typeof ListMeta> {}

/** `metadata` of a list as a required field that decodes to `{}` when absent. */
export const RequiredListMeta = ListMeta.pipe(withZero({}))

/** One cause of a failure, typically a field error (`reason` is the cause type). */
export const StatusCause = Schema.Struct({
  reason: opt(Schema.String),
  message: opt(Schema.String),
  field: opt(Schema.String),
})
export interface StatusCause extends Schema.Schema.Type<typeof StatusCause> {}

export const StatusDetails = Schema.Struct({
  name: opt(Schema.String),
  group: opt(Schema.String),
  kind: opt(Schema.String),
  uid: opt(Schema.String),
  causes: opt(Schema.Array(StatusCause)),
  retryAfterSeconds: opt(Int32),
})
export interface StatusDetails extends Schema.Schema.Type<typeof StatusDetails> {}

/** The result of an operation that does not return an object, and every API error. */
export const Status = Schema.Struct({
  apiVersion: TypeField("v1"),
  kind: TypeField("Status"),
  metadata: RequiredListMeta,
  status: opt(Schema.String),
  message: opt(Schema.String),
  reason: opt(Schema.String),
  details: opt(StatusDetails),
  code: opt(Int32),
})
export interface Status extends Schema.Schema.Type<typeof Status> {}

export const Preconditions = Schema.Struct({
  uid: opt(Schema.String),
  resourceVersion: opt(Schema.String),
})
export interface Preconditions extends Schema.Schema.Type<typeof Preconditions> {}

/** The body of a DELETE. */
export const DeleteOptions = Schema.Struct({
  apiVersion: opt(Schema.String),
  kind: opt(Schema.String),
  gracePeriodSeconds: opt(Int64),
  preconditions: opt(Preconditions),
  orphanDependents: opt(Schema.Boolean),
  propagationPolicy: opt(Schema.String),
  dryRun: opt(Schema.Array(Schema.String)),
})
export interface DeleteOptions extends Schema.Schema.Type<typeof DeleteOptions> {}

/** An object with only its type and metadata (the `object` of a Table row). */
export const PartialObjectMetadata = Schema.Struct({
  apiVersion: opt(Schema.String),
  kind: opt(Schema.String),
  metadata: RequiredObjectMeta,
})
export interface PartialObjectMetadata extends Schema.Schema.Type<typeof PartialObjectMetadata> {}

export const TableColumnDefinition = Schema.Struct({
  name: RequiredString,
  type: RequiredString,
  format: RequiredString,
  description: RequiredString,
  priority: RequiredInt32,
})
export interface TableColumnDefinition extends Schema.Schema.Type<typeof TableColumnDefinition> {}

export const TableRowCondition = Schema.Struct({
  type: RequiredString,
  status: RequiredString,
  reason: opt(Schema.String),
  message: opt(Schema.String),
})
export interface TableRowCondition extends Schema.Schema.Type<typeof TableRowCondition> {}

export const TableRow = Schema.Struct({
  cells: Schema.Array(Schema.Json).pipe(withZero([])),
  conditions: opt(Schema.Array(TableRowCondition)),
  /** The row's object: a PartialObjectMetadata or the full object, as the client asked. */
  object: opt(Schema.Json),
})
export interface TableRow extends Schema.Schema.Type<typeof TableRow> {}

/** A server-computed table (`kubectl get` asks for `as=Table;g=meta.k8s.io;v=v1`). */
export const Table = Schema.Struct({
  apiVersion: TypeField("meta.k8s.io/v1"),
  kind: TypeField("Table"),
  metadata: RequiredListMeta,
  columnDefinitions: Schema.Array(TableColumnDefinition).pipe(withZero([])),
  rows: Schema.Array(TableRow).pipe(withZero([])),
})
export interface Table extends Schema.Schema.Type<typeof Table> {}

/** One event of a watch stream; `object` is the encoded object (or a Status for ERROR). */
export const WatchEvent = Schema.Struct({
  type: RequiredString,
  object: Schema.Json,
})
export interface WatchEvent extends Schema.Schema.Type<typeof WatchEvent> {}

/** The watch event types Kubernetes sends. */
export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR"

/** Names of the `status` field of a `Status`. */
export const StatusSuccess = "Success"
export const StatusFailure = "Failure"

/** The list kind of an item schema: `{apiVersion, kind: <Kind>List, metadata, items}`. */
export const makeList = <const V extends string, const K extends string, S extends Schema.Top>(
  apiVersion: V,
  kind: K,
  item: S,
) =>
  Schema.Struct({
    apiVersion: TypeField(apiVersion),
    kind: TypeField(kind),
    metadata: RequiredListMeta,
    items: Schema.Array(item).pipe(withZero([])),
  })
