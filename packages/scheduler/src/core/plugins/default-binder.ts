import type { BindPlugin, BindRequest } from "../framework.ts"

export const DefaultBinderName = "DefaultBinder"
const api: BindRequest = { kind: "api" }

/** Bind through the API server's `pods/binding` subresource (performed by the shell). */
export class DefaultBinder implements BindPlugin {
  readonly name = DefaultBinderName

  bind(): BindRequest {
    return api
  }
}
