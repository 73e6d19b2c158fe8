/**
 * Storage keys, as Kubernetes lays them out in etcd:
 * `/registry/<resource>/<namespace>/<name>` for namespaced objects and
 * `/registry/<resource>/<name>` for cluster-scoped ones. Every version of a
 * resource (apps/v1 and apps/v1beta1 Deployments) shares its keys. Continue
 * tokens of paginated lists carry the list's revision and the next key.
 */

/** The prefix of every object of `resource` in `namespace` ("" for all namespaces). */
export const keyPrefix = (resource: string, namespace: string): string =>
  namespace === "" ? `/registry/${resource}/` : `/registry/${resource}/${namespace}/`

export const objectKey = (
  resource: string,
  namespaced: boolean,
  namespace: string,
  name: string,
): string =>
  namespaced ? `/registry/${resource}/${namespace}/${name}` : `/registry/${resource}/${name}`

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * The keys encoded last, with their bytes: a write encodes its key for its
 * read, its transaction's compare and its put (and a create its
 * namespace's), and each encoding allocates an ArrayBuffer. The bytes are
 * shared, so callers must not change them (the store copies the keys it
 * keeps; `prefixEnd` copies).
 */
let memoKey0 = ""
let memoBytes0: Uint8Array = new Uint8Array(0)
let memoKey1 = ""
let memoBytes1: Uint8Array = new Uint8Array(0)

/** A key's UTF-8 bytes (shared with the last callers that asked for the same key: do not change them). */
export const keyBytes = (key: string): Uint8Array => {
  if (key === memoKey0) return memoBytes0
  if (key === memoKey1) return memoBytes1
  const bytes = encoder.encode(key)
  memoKey1 = memoKey0
  memoBytes1 = memoBytes0
  memoKey0 = key
  memoBytes0 = bytes
  return bytes
}
export const keyString = (bytes: Uint8Array): string => decoder.decode(bytes)

/** The smallest key greater than every key with this prefix (etcd's `range_end` for a prefix). */
export const prefixEnd = (prefix: Uint8Array): Uint8Array => {
  const end = prefix.slice()
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] ?? 0) < 0xff) {
      end[i] = (end[i] ?? 0) + 1
      return end.slice(0, i + 1)
    }
  }
  // All 0xff: every key after the prefix.
  return new Uint8Array([0])
}

/** The smallest key strictly after `key`. */
export const keyAfter = (key: string): string => `${key}\u0000`

/** A continue token: the list's revision and where the next page starts (relative to the prefix). */
export interface ContinueToken {
  readonly resourceVersion: number
  readonly start: string
}

/** Encodes a token as Kubernetes does: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"..."}`. */
export const encodeContinue = (token: ContinueToken): string =>
  Buffer.from(
    JSON.stringify({ v: "meta.k8s.io/v1", rv: token.resourceVersion, start: token.start }),
    "utf8",
  ).toString("base64url")

/** Decodes a continue token, or explains why it is not one. */
export const decodeContinue = (
  token: string,
):
  | { readonly ok: true; readonly token: ContinueToken }
  | { readonly ok: false; readonly reason: string } => {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"))
  } catch {
    return { ok: false, reason: "continue key is not valid: not valid base64-encoded JSON" }
  }
  if (typeof parsed !== "object" || parsed === null) {
    return { ok: false, reason: "continue key is not valid: not an object" }
  }
  const { v, rv, start } = parsed as { v?: unknown; rv?: unknown; start?: unknown }
  if (v !== "meta.k8s.io/v1") {
    return {
      ok: false,
      reason: "continue key is not valid: server does not recognize this encoded key",
    }
  }
  if (typeof rv !== "number" || !Number.isSafeInteger(rv) || rv <= 0) {
    return {
      ok: false,
      reason:
        "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
    }
  }
  if (typeof start !== "string" || start === "" || start.includes("..") || start.startsWith("/")) {
    return { ok: false, reason: "continue key is not valid: encoded start key is not valid" }
  }
  return { ok: true, token: { resourceVersion: rv, start } }
}
