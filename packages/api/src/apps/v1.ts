/**
 * apps/v1: Deployment and ReplicaSet, the preferred version. The legacy
 * versions (`apps/v1beta1`, `apps/v1beta2`, `extensions/v1beta1`) build their
 * kinds from the same pieces with `makeDeployment` / `makeReplicaSet`.
 */
import { Schema } from "effect"
import { PodTemplateSpec } from "../core/v1.ts"
import { IntOrString } from "../intstr.ts"
import { LabelSelector } from "../labels.ts"
import { makeList, RequiredObjectMeta } from "../meta/v1.ts"
import { Int32, Int64, RequiredInt32, RequiredString, Time, TypeField, withZero } from "../wire.ts"

const opt = Schema.optionalKey

export const RollingUpdateDeployment = Schema.Struct({
  maxUnavailable: opt(IntOrString),
  maxSurge: opt(IntOrString),
})
export interface RollingUpdateDeployment
  extends Schema.Schema.Type<typeof RollingUpdateDeployment> {}

/** `type` RollingUpdate (default) or Recreate. */
export const DeploymentStrategy = Schema.Struct({
  type: opt(Schema.String),
  rollingUpdate: opt(RollingUpdateDeployment),
})
export interface DeploymentStrategy extends Schema.Schema.Type<typeof DeploymentStrategy> {}

export const DeploymentSpec = Schema.Struct({
  replicas: opt(Int32),
  selector: opt(LabelSelector),
  template: PodTemplateSpec.pipe(withZero({})),
  strategy: opt(DeploymentStrategy),
  minReadySeconds: opt(Int32),
  revisionHistoryLimit: opt(Int32),
  paused: opt(Schema.Boolean),
  progressDeadlineSeconds: opt(Int32),
})
export interface DeploymentSpec extends Schema.Schema.Type<typeof DeploymentSpec> {}

/** Available, Progressing, ReplicaFailure. */
export const DeploymentCondition = Schema.Struct({
  type: RequiredString,
  status: RequiredString,
  lastUpdateTime: opt(Time),
  lastTransitionTime: opt(Time),
  reason: opt(Schema.String),
  message: opt(Schema.String),
})
export interface DeploymentCondition extends Schema.Schema.Type<typeof DeploymentCondition> {}

export const DeploymentStatus = Schema.Struct({
  observedGeneration: opt(Int64),
  replicas: opt(Int32),
  updatedReplicas: opt(Int32),
  readyReplicas: opt(Int32),
  availableReplicas: opt(Int32),
  unavailableReplicas: opt(Int32),
  terminatingReplicas: opt(Int32),
  conditions: opt(Schema.Array(DeploymentCondition)),
  collisionCount: opt(Int32),
})
export interface DeploymentStatus extends Schema.Schema.Type<typeof DeploymentStatus> {}

/** A Deployment kind of one group version, with that version's spec schema. */
export const makeDeployment = <const V extends string, Spec extends Schema.Top>(
  apiVersion: V,
  spec: Spec,
) =>
  Schema.Struct({
    apiVersion: TypeField(apiVersion),
    kind: TypeField("Deployment"),
    metadata: RequiredObjectMeta,
    spec: spec.pipe(withZero({} as Spec["Encoded"])),
    status: DeploymentStatus.pipe(withZero({})),
  })

export const Deployment = makeDeployment("apps/v1", DeploymentSpec)
export interface Deployment extends Schema.Schema.Type<typeof Deployment> {}

export const DeploymentList = makeList("apps/v1", "DeploymentList", Deployment)
export interface DeploymentList extends Schema.Schema.Type<typeof DeploymentList> {}

export const ReplicaSetSpec = Schema.Struct({
  replicas: opt(Int32),
  minReadySeconds: opt(Int32),
  selector: opt(LabelSelector),
  template: PodTemplateSpec.pipe(withZero({})),
})
export interface ReplicaSetSpec extends Schema.Schema.Type<typeof ReplicaSetSpec> {}

/** ReplicaFailure. */
export const ReplicaSetCondition = Schema.Struct({
  type: RequiredString,
  status: RequiredString,
  lastTransitionTime: opt(Time),
  reason: opt(Schema.String),
  message: opt(Schema.String),
})
export interface ReplicaSetCondition extends Schema.Schema.Type<typeof ReplicaSetCondition> {}

export const ReplicaSetStatus = Schema.Struct({
  replicas: RequiredInt32,
  fullyLabeledReplicas: opt(Int32),
  readyReplicas: opt(Int32),
  availableReplicas: opt(Int32),
  terminatingReplicas: opt(Int32),
  observedGeneration: opt(Int64),
  conditions: opt(Schema.Array(ReplicaSetCondition)),
})
export interface ReplicaSetStatus extends Schema.Schema.Type<typeof ReplicaSetStatus> {}

/** A ReplicaSet kind of one group version (the shape is the same in all of them). */
export const makeReplicaSet = <const V extends string>(apiVersion: V) =>
  Schema.Struct({
    apiVersion: TypeField(apiVersion),
    kind: TypeField("ReplicaSet"),
    metadata: RequiredObjectMeta,
    spec: ReplicaSetSpec.pipe(withZero({})),
    status: ReplicaSetStatus.pipe(withZero({})),
  })

export const ReplicaSet = makeReplicaSet("apps/v1")
export interface ReplicaSet extends Schema.Schema.Type<typeof ReplicaSet> {}

export const ReplicaSetList = makeList("apps/v1", "ReplicaSetList", ReplicaSet)
export interface ReplicaSetList extends Schema.Schema.Type<typeof ReplicaSetList> {}
