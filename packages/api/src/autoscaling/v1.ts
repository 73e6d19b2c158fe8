/**
 * autoscaling/v1 Scale: the `scale` subresource of Deployments and ReplicaSets
 * (`kubectl scale`). `status.selector` is the label selector in string form.
 */
import { Schema } from "effect"
import { RequiredObjectMeta } from "../meta/v1.ts"
import { Int32, RequiredInt32, TypeField, withZero } from "../wire.ts"

export const ScaleSpec = Schema.Struct({ replicas: Schema.optionalKey(Int32) })
export interface ScaleSpec extends Schema.Schema.Type<typeof ScaleSpec> {}

export const ScaleStatus = Schema.Struct({
  replicas: RequiredInt32,
  selector: Schema.optionalKey(Schema.String),
})
export interface ScaleStatus extends Schema.Schema.Type<typeof ScaleStatus> {}

export const Scale = Schema.Struct({
  apiVersion: TypeField("autoscaling/v1"),
  kind: TypeField("Scale"),
  metadata: RequiredObjectMeta,
  spec: ScaleSpec.pipe(withZero({})),
  status: ScaleStatus.pipe(withZero({})),
})
export interface Scale extends Schema.Schema.Type<typeof Scale> {}
