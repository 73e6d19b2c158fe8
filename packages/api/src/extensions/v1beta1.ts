/**
 * extensions/v1beta1 (Deployments and ReplicaSets removed in Kubernetes 1.16):
 * the first home of both kinds. The Deployment spec carries `rollbackTo` like
 * apps/v1beta1; its defaults differ (surge and unavailable 1, no deadline, all
 * revisions kept).
 */
import type { Schema } from "effect"
import { makeDeployment, makeReplicaSet } from "../apps/v1.ts"
import { DeploymentSpec } from "../apps/v1beta1.ts"
import { makeList } from "../meta/v1.ts"

export const Deployment = makeDeployment("extensions/v1beta1", DeploymentSpec)
export interface Deployment extends Schema.Schema.Type<typeof Deployment> {}

export const DeploymentList = makeList("extensions/v1beta1", "DeploymentList", Deployment)
export interface DeploymentList extends Schema.Schema.Type<typeof DeploymentList> {}

export const ReplicaSet = makeReplicaSet("extensions/v1beta1")
export interface ReplicaSet extends Schema.Schema.Type<typeof ReplicaSet> {}

export const ReplicaSetList = makeList("extensions/v1beta1", "ReplicaSetList", ReplicaSet)
export interface ReplicaSetList extends Schema.Schema.Type<typeof ReplicaSetList> {}
