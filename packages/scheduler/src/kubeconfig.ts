/**
 * `--kubeconfig`: the server and credentials of a kubeconfig file's current
 * context (or a named one), as kube-scheduler reads them, turned into
 * `@flotilla/client` options. Only what that client can use is accepted: an
 * http(s) server and a bearer token (inline or `tokenFile`); client
 * certificates and exec/auth-provider plugins are refused by name rather than
 * ignored.
 */
import { dirname, resolve } from "node:path"
import type { ClientOptions } from "@flotilla/client"
import { Effect, Result, Schema, SchemaIssue } from "effect"
import { parse } from "yaml"
import { readTextFile } from "./read-file.ts"

export class KubeconfigError extends Schema.TaggedError<KubeconfigError>()("KubeconfigError", {
  message: Schema.String,
}) {}

const Name = Schema.String.check(Schema.isNonEmpty({ message: "must not be empty" }))

// `server` is checked by `serverProblem` once the shape decodes.
const Cluster = Schema.Struct({ server: Schema.String })

const User = Schema.Struct({
  token: Schema.optionalKey(Schema.String),
  tokenFile: Schema.optionalKey(Schema.String),
})

const Context = Schema.Struct({
  cluster: Schema.String,
  user: Schema.optionalKey(Schema.String),
  namespace: Schema.optionalKey(Schema.String),
})

const Kubeconfig = Schema.Struct({
  clusters: Schema.Array(Schema.Struct({ name: Name, cluster: Cluster })),
  users: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.Struct({ name: Name, user: User })))),
  contexts: Schema.Array(Schema.Struct({ name: Name, context: Context })),
  "current-context": Schema.optionalKey(Schema.String),
})

/** What a kubeconfig says about one context. */
export interface KubeconfigContext {
  readonly context: string
  readonly server: string
  readonly namespace: string
  readonly token: string | undefined
}

/** Cluster fields this client cannot honour (it trusts the system's certificate authorities only). */
const unsupportedClusterFields = [
  "certificate-authority",
  "certificate-authority-data",
  "proxy-url",
  "tls-server-name",
]

/**
 * What is wrong with a cluster's `server`, if anything: a URL fetch can use as
 * the base of API paths (client-go's `DefaultServerURL` also refuses a query
 * or fragment). A path prefix is allowed.
 */
export const serverProblem = (server: string): string | undefined => {
  if (!/^https?:\/\//.test(server)) return "must be an http:// or https:// URL"
  const port = /^https?:\/\/(?:\[[^\]]*\]|[^/:?#]*):(\d+)(?:[/?#]|$)/.exec(server)?.[1]
  if (port !== undefined && Number(port) > 65535) return `port ${port} is out of range (0-65535)`
  let url: URL
  try {
    url = new URL(server)
  } catch {
    return "is not a URL"
  }
  if (url.hostname === "") return "names no host"
  if (url.username !== "" || url.password !== "")
    return "must not carry a user name or password (credentials go in users[].user)"
  if (url.search !== "" || url.hash !== "") return "must not have a query or fragment"
  return undefined
}

/** Kubernetes' conversion refuses two entries of one list with the same name. */
const duplicateName = (
  list: ReadonlyArray<{ readonly name: string }>,
  field: string,
): string | undefined => {
  const seen = new Set<string>()
  for (const [i, { name }] of list.entries()) {
    if (seen.has(name)) return `${field}[${i}].name: duplicate name "${name}"`
    seen.add(name)
  }
  return undefined
}

const describeValue = (u: unknown): string =>
  Array.isArray(u) ? "a list" : u === null ? "null" : `a ${typeof u}`

/** User fields this client cannot honour; refusing them beats connecting without them. */
const unsupportedUserFields = [
  "client-certificate",
  "client-certificate-data",
  "client-key",
  "client-key-data",
  "exec",
  "auth-provider",
  "username",
  "password",
]

const issuePath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (out, k) =>
      typeof k === "number" ? `${out}[${k}]` : out === "" ? String(k) : `${out}.${String(k)}`,
    "",
  )

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const issueLines = (issue: SchemaIssue.Issue): Array<string> =>
  formatter(issue).issues.map((i) => {
    const path = issuePath((i.path ?? []) as ReadonlyArray<PropertyKey>)
    return path === "" ? i.message : `${path}: ${i.message}`
  })

/**
 * Decodes a kubeconfig's text. `file` names it in errors and anchors a
 * relative `tokenFile`; `context` picks a context other than the current one.
 */
export const parseKubeconfig = (
  text: string,
  file: string,
  options: { readonly context?: string; readonly readFile?: (path: string) => string } = {},
): Result.Result<KubeconfigContext, KubeconfigError> => {
  const fail = (message: string) =>
    Result.fail(new KubeconfigError({ message: `${file}: ${message}` }))
  let raw: unknown
  try {
    raw = parse(text, { maxAliasCount: 100 })
  } catch (e) {
    return fail(
      `invalid YAML: ${e instanceof Error ? (e.message.split("\n")[0] ?? "").replace(/:$/, "") : String(e)}`,
    )
  }
  if (raw === null || raw === undefined)
    return fail("is empty: a kubeconfig needs clusters, contexts and a current-context")
  if (typeof raw !== "object" || Array.isArray(raw))
    return fail(`must be a mapping (a kubeconfig of kind Config), not ${describeValue(raw)}`)
  const top = raw as Record<string, unknown>
  if (top.kind !== undefined && top.kind !== "Config")
    return fail(`kind: must be Config, not ${JSON.stringify(top.kind)}`)
  if (top.apiVersion !== undefined && top.apiVersion !== "v1")
    return fail(`apiVersion: must be v1, not ${JSON.stringify(top.apiVersion)}`)
  const decoded = Schema.decodeUnknownResult(Kubeconfig)(raw, { errors: "all" })
  if (Result.isFailure(decoded)) {
    const issues = issueLines(decoded.failure.issue)
    return fail(issues.join("; "))
  }
  const cfg = decoded.success
  const duplicate =
    duplicateName(cfg.clusters, "clusters") ??
    duplicateName(cfg.contexts, "contexts") ??
    duplicateName(cfg.users ?? [], "users")
  if (duplicate !== undefined) return fail(duplicate)
  const rawClusters = top.clusters as ReadonlyArray<{ cluster?: Record<string, unknown> }>
  for (const [i, c] of cfg.clusters.entries()) {
    const problem = serverProblem(c.cluster.server)
    if (problem !== undefined) return fail(`clusters[${i}].cluster.server: ${problem}`)
    const rawCluster = rawClusters[i]?.cluster ?? {}
    for (const field of unsupportedClusterFields) {
      if (rawCluster[field] !== undefined) {
        return fail(
          `clusters[${i}].cluster.${field}: not supported (this client trusts the system's certificate authorities only)`,
        )
      }
    }
    if (rawCluster["insecure-skip-tls-verify"] === true) {
      return fail(
        `clusters[${i}].cluster.insecure-skip-tls-verify: not supported (this client always verifies https servers)`,
      )
    }
  }
  const name = options.context ?? cfg["current-context"] ?? ""
  if (name === "") return fail("current-context: no current context is set (pass a context)")
  const context = cfg.contexts.find((c) => c.name === name)
  if (context === undefined) return fail(`context "${name}" does not exist`)
  const clusterIndex = cfg.clusters.findIndex((c) => c.name === context.context.cluster)
  const cluster = cfg.clusters[clusterIndex]
  if (cluster === undefined) {
    return fail(`context "${name}": cluster "${context.context.cluster}" does not exist`)
  }
  let token: string | undefined
  const userName = context.context.user
  if (userName !== undefined && userName !== "") {
    const users = cfg.users ?? []
    const userIndex = users.findIndex((u) => u.name === userName)
    const user = users[userIndex]
    if (user === undefined) return fail(`context "${name}": user "${userName}" does not exist`)
    const rawUser = ((raw as { users: Array<{ user?: Record<string, unknown> }> }).users[userIndex]
      ?.user ?? {}) as Record<string, unknown>
    for (const field of unsupportedUserFields) {
      if (rawUser[field] !== undefined) {
        return fail(
          `users[${userIndex}].user.${field}: not supported (this client authenticates with a bearer token only)`,
        )
      }
    }
    token = user.user.token
    if (token === undefined && user.user.tokenFile !== undefined) {
      const path = resolve(dirname(file), user.user.tokenFile)
      try {
        token = (options.readFile ?? ((p) => readTextFile(p)))(path).trim()
      } catch (e) {
        return fail(
          `users[${userIndex}].user.tokenFile: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`,
        )
      }
    }
    // An HTTP header cannot carry these: fetch would refuse every request later.
    const control = (c: string) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f
    // fetch's headers are byte strings: a character past U+00FF cannot be sent at all.
    const wide = (c: string) => c.charCodeAt(0) > 0xff
    if (token !== undefined && [...token].some((c) => control(c) || wide(c))) {
      const field = user.user.token === undefined ? "tokenFile" : "token"
      return fail(
        `users[${userIndex}].user.${field}: the token contains ${[...token].some(control) ? "a line break or control character" : `a character an HTTP header cannot carry (${JSON.stringify([...token].find(wide))})`}`,
      )
    }
    // An empty inline token is no token (as kubectl); an empty token file is a mistake.
    if (token === "" && user.user.token === undefined)
      return fail(`users[${userIndex}].user.tokenFile: the file is empty`)
    if (token === "") token = undefined
  }
  return Result.succeed({
    context: name,
    server: cluster.cluster.server.replace(/\/+$/, ""),
    // kubectl: an empty namespace is the default one.
    namespace: context.context.namespace || "default",
    token,
  })
}

/** Reads a kubeconfig file into `@flotilla/client` options. */
export const readKubeconfig = (
  file: string,
  options: { readonly context?: string; readonly userAgent?: string } = {},
): Effect.Effect<ClientOptions & { readonly context: KubeconfigContext }, KubeconfigError> =>
  Effect.gen(function* () {
    const text = yield* Effect.try({
      try: () => readTextFile(file),
      catch: (e) =>
        new KubeconfigError({
          message: `${file}: cannot read: ${e instanceof Error ? e.message : String(e)}`,
        }),
    })
    const r = parseKubeconfig(
      text,
      file,
      options.context === undefined ? {} : { context: options.context },
    )
    if (Result.isFailure(r)) return yield* r.failure
    const c = r.success
    return {
      server: c.server,
      context: c,
      ...(c.token === undefined ? {} : { token: c.token }),
      ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
    }
  })
