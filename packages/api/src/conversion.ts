/**
 * Conversion between the versions of Deployments and ReplicaSets: the legacy
 * `apps/v1beta1`, `apps/v1beta2` and `extensions/v1beta1` to the preferred
 * `apps/v1` and back. The shapes are the same except the legacy Deployment's
 * `spec.rollbackTo`, which apps/v1 carries as the annotation
 * `deprecated.deployment.rollback.to`, as Kubernetes does. Defaults are not
 * part of conversion: each version's own defaults are applied before it.
 */
import { Result, Schema } from "effect"
import type * as AppsV1 from "./apps/v1.ts"
import type * as AppsV1beta1 from "./apps/v1beta1.ts"
import type { KubeObject } from "./codec.ts"
import { preferredKind } from "./registry.ts"

/** Where apps/v1 keeps a legacy Deployment's `spec.rollbackTo.revision`. */
export const DeprecatedRollbackTo = "deprecated.deployment.rollback.to"

/** The versions a Deployment can be converted between. */
export const deploymentVersions = [
  "apps/v1",
  "apps/v1beta2",
  "apps/v1beta1",
  "extensions/v1beta1",
] as const
/** The versions a ReplicaSet can be converted between. */
export const replicaSetVersions = ["apps/v1", "apps/v1beta2", "extensions/v1beta1"] as const

/** Versions whose Deployment spec has `rollbackTo`. */
const hasRollbackTo = (apiVersion: string) =>
  apiVersion === "apps/v1beta1" || apiVersion === "extensions/v1beta1"

export class ConversionError extends Schema.TaggedError<ConversionError>()("ConversionError", {
  message: Schema.String,
}) {}

/** A Deployment of any version: apps/v1's shape plus the legacy `rollbackTo`. */
export type AnyDeployment = Omit<AppsV1.Deployment, "apiVersion" | "spec"> & {
  readonly apiVersion: string
  readonly spec: AppsV1beta1.DeploymentSpec
}

/** A ReplicaSet of any version (they share apps/v1's shape). */
export type AnyReplicaSet = Omit<AppsV1.ReplicaSet, "apiVersion"> & { readonly apiVersion: string }

const isInteger = /^-?\d+$/

/** A legacy Deployment (or an apps/v1 one) as apps/v1: `rollbackTo` becomes the annotation. */
export const deploymentToV1 = (deployment: AnyDeployment): AppsV1.Deployment => {
  const { rollbackTo, ...spec } = deployment.spec
  // Versions without rollbackTo keep their annotations as they are.
  if (!hasRollbackTo(deployment.apiVersion)) {
    return { ...deployment, apiVersion: "apps/v1", spec }
  }
  const annotations = { ...deployment.metadata.annotations }
  delete annotations[DeprecatedRollbackTo]
  if (rollbackTo !== undefined) {
    annotations[DeprecatedRollbackTo] = String(rollbackTo.revision)
  }
  const keepAnnotations =
    deployment.metadata.annotations !== undefined || Object.keys(annotations).length > 0
  const { annotations: _, ...metadata } = deployment.metadata
  return {
    ...deployment,
    apiVersion: "apps/v1",
    metadata: keepAnnotations ? { ...metadata, annotations } : metadata,
    spec,
  }
}

/**
 * An apps/v1 Deployment in another version. To a version with `rollbackTo`, a
 * valid `deprecated.deployment.rollback.to` annotation becomes the field again
 * (and the annotation map is dropped when that was its only entry).
 */
export const deploymentFromV1 = (
  deployment: AppsV1.Deployment,
  apiVersion: string,
): AnyDeployment => {
  const revision = deployment.metadata.annotations?.[DeprecatedRollbackTo]
  if (!hasRollbackTo(apiVersion) || revision === undefined || !isInteger.test(revision)) {
    return { ...deployment, apiVersion }
  }
  const annotations = { ...deployment.metadata.annotations }
  delete annotations[DeprecatedRollbackTo]
  const { annotations: _, ...metadata } = deployment.metadata
  return {
    ...deployment,
    apiVersion,
    metadata: Object.keys(annotations).length > 0 ? { ...metadata, annotations } : metadata,
    spec: { ...deployment.spec, rollbackTo: { revision: Number(revision) } },
  }
}

/**
 * Converts a Deployment or ReplicaSet to `apiVersion`. Any other kind converts
 * only to its own version.
 */
export const convert = (
  object: KubeObject,
  apiVersion: string,
): Result.Result<KubeObject, ConversionError> => {
  if (object.apiVersion === apiVersion) return Result.succeed(object)
  const unsupported = () =>
    Result.fail(
      new ConversionError({
        message: `converting ${object.kind} from ${object.apiVersion} to ${apiVersion} is not supported`,
      }),
    )
  switch (object.kind) {
    case "Deployment": {
      const versions: ReadonlyArray<string> = deploymentVersions
      if (!versions.includes(object.apiVersion) || !versions.includes(apiVersion)) {
        return unsupported()
      }
      const v1 = deploymentToV1(object as unknown as AnyDeployment)
      return Result.succeed(
        (apiVersion === "apps/v1" ? v1 : deploymentFromV1(v1, apiVersion)) as unknown as KubeObject,
      )
    }
    case "ReplicaSet": {
      const versions: ReadonlyArray<string> = replicaSetVersions
      if (!versions.includes(object.apiVersion) || !versions.includes(apiVersion)) {
        return unsupported()
      }
      return Result.succeed({ ...object, apiVersion })
    }
    default:
      return unsupported()
  }
}

/** Converts an object to the version it is stored and served in (apps/v1 for the legacy kinds). */
export const toPreferredVersion = (
  object: KubeObject,
): Result.Result<KubeObject, ConversionError> => {
  const preferred = preferredKind(object.apiVersion, object.kind)
  if (preferred === undefined) {
    return Result.fail(
      new ConversionError({
        message: `no kind ${JSON.stringify(object.kind)} is registered for version ${JSON.stringify(object.apiVersion)}`,
      }),
    )
  }
  return convert(object, preferred.apiVersion)
}
