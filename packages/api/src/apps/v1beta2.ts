/**
 * apps/v1beta2 (removed in Kubernetes 1.16): Deployment and ReplicaSet with
 * the same shape as apps/v1 (the selector is required here too).
 */
import type { Schema } from "effect"
import { makeList } from "../meta/v1.ts"
import { DeploymentSpec, makeDeployment, makeReplicaSet } from "./v1.ts"

export const Deployment = makeDeployment("apps/v1beta2", DeploymentSpec)
export interface Deployment extends Schema.Schema.Type<typeof Deployment> {}

export const DeploymentList = makeList("apps/v1beta2", "DeploymentList", Deployment)
export interface DeploymentList extends Schema.Schema.Type<typeof DeploymentList> {}

export const ReplicaSet = makeReplicaSet("apps/v1beta2")
export interface ReplicaSet extends Schema.Schema.Type<typeof ReplicaSet> {}

export const ReplicaSetList = makeList("apps/v1beta2", "ReplicaSetList", ReplicaSet)
export interface ReplicaSetList extends Schema.Schema.Type<typeof ReplicaSetList> {}
