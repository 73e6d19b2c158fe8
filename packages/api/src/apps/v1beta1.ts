/**
 * apps/v1beta1 (removed from Kubernetes in 1.16, still in old manifests such as
 * the seed's): Deployment only. Its spec adds `rollbackTo` and, unlike apps/v1,
 * its selector may be omitted (defaulted from the template's labels).
 */
import { Schema } from "effect"
import { makeList } from "../meta/v1.ts"
import { Int64, withZero } from "../wire.ts"
import { DeploymentSpec as DeploymentSpecV1, makeDeployment } from "./v1.ts"

/**
 * The revision to roll back to; 0 (also what `{}` decodes to, as in Go) means
 * the last revision.
 */
export const RollbackConfig = Schema.Struct({ revision: Int64.pipe(withZero(0)) })
export interface RollbackConfig extends Schema.Schema.Type<typeof RollbackConfig> {}

export const DeploymentSpec = Schema.Struct({
  ...DeploymentSpecV1.fields,
  rollbackTo: Schema.optionalKey(RollbackConfig),
})
export interface DeploymentSpec extends Schema.Schema.Type<typeof DeploymentSpec> {}

export const Deployment = makeDeployment("apps/v1beta1", DeploymentSpec)
export interface Deployment extends Schema.Schema.Type<typeof Deployment> {}

export const DeploymentList = makeList("apps/v1beta1", "DeploymentList", Deployment)
export interface DeploymentList extends Schema.Schema.Type<typeof DeploymentList> {}
