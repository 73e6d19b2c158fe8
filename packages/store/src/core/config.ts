// A member's configuration from etcd's own flags (the subset we support), so
// that a script starting an etcd cluster starts ours by changing only the
// program's name. Pure: decoding and checking, with errors naming the flag.
import { DEFAULT_QUOTA_BACKEND_BYTES } from "./mvcc.ts"

/** The flags, as given (absent ones take etcd's defaults). */
export interface EtcdFlags {
  readonly name?: string | undefined
  readonly "data-dir"?: string | undefined
  readonly "listen-client-urls"?: string | undefined
  readonly "advertise-client-urls"?: string | undefined
  readonly "listen-peer-urls"?: string | undefined
  readonly "initial-advertise-peer-urls"?: string | undefined
  readonly "initial-cluster"?: string | undefined
  readonly "initial-cluster-state"?: string | undefined
  readonly "initial-cluster-token"?: string | undefined
  readonly "snapshot-count"?: string | undefined
  readonly "heartbeat-interval"?: string | undefined
  readonly "election-timeout"?: string | undefined
  readonly "auto-compaction-mode"?: string | undefined
  readonly "auto-compaction-retention"?: string | undefined
  readonly "quota-backend-bytes"?: string | undefined
}

export interface MemberConfig {
  readonly name: string
  readonly dataDir: string
  readonly listenClientURLs: ReadonlyArray<URL>
  readonly advertiseClientURLs: ReadonlyArray<string>
  readonly listenPeerURL: URL
  readonly initialAdvertisePeerURLs: ReadonlyArray<string>
  readonly initialCluster: ReadonlyArray<{
    readonly name: string
    readonly peerURLs: ReadonlyArray<string>
  }>
  readonly initialClusterState: "new" | "existing"
  readonly initialClusterToken: string
  readonly snapshotCount: number
  readonly heartbeatMs: number
  readonly electionMs: number
  /** etcd's automatic compaction, or undefined when off (the default). */
  readonly autoCompaction: AutoCompaction | undefined
  /** The store's space quota in bytes (etcd's --quota-backend-bytes); 0: none. */
  readonly quotaBackendBytes: number
}

/** A flag's value was refused: `flag` names it (without dashes). */
export class FlagError extends Error {
  readonly flag: string
  readonly reason: string
  constructor(flag: string, reason: string) {
    super(`--${flag}: ${reason}`)
    this.name = "FlagError"
    this.flag = flag
    this.reason = reason
  }
}

/** etcd's maxElectionMs. */
const maxElectionMs = 50_000

const urlList = (flag: string, value: string): URL[] => {
  const parts = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
  if (parts.length === 0) throw new FlagError(flag, "expected at least one URL")
  return parts.map((p) => {
    let u: URL
    try {
      u = new URL(p)
    } catch {
      const port = /^[a-z][a-z0-9+.-]*:\/\/[^/]*:(\d+)\/?$/i.exec(p)?.[1]
      throw new FlagError(
        flag,
        port !== undefined && Number(port) > 65535
          ? `${JSON.stringify(p)}: port ${port} is out of range (0-65535)`
          : `${JSON.stringify(p)} is not a URL`,
      )
    }
    if (u.protocol !== "http:") {
      const why = u.protocol === "https:" ? "TLS is not supported yet" : "expected http://host:port"
      throw new FlagError(flag, `${JSON.stringify(p)}: ${why}`)
    }
    if (u.port === "") throw new FlagError(flag, `${JSON.stringify(p)} has no port`)
    if (u.pathname !== "/" || u.search !== "" || u.hash !== "") {
      throw new FlagError(flag, `${JSON.stringify(p)} must not have a path, query or fragment`)
    }
    return u
  })
}

/** A URL as etcd prints it: scheme://host:port, no trailing slash. */
const show = (u: URL): string => `${u.protocol}//${u.host}`

const positiveInt = (flag: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback
  const n = Number(value.trim())
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new FlagError(flag, `expected a positive integer, got ${JSON.stringify(value)}`)
  }
  return n
}

const HOUR_MS = 3_600_000

export type AutoCompaction =
  | { readonly mode: "periodic"; readonly retentionMs: number }
  | { readonly mode: "revision"; readonly retention: number }

const UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: HOUR_MS,
}

/**
 * A Go duration ("1h30m", "90s", "1.5h", "500ms") in milliseconds, or
 * undefined when it is not one. Negative durations are not taken.
 */
export const parseGoDuration = (text: string): number | undefined => {
  if (text === "0") return 0
  const part = /([0-9]*\.?[0-9]+|[0-9]+\.)(ns|us|µs|μs|ms|s|m|h)/gy
  let total = 0
  let at = 0
  while (at < text.length) {
    part.lastIndex = at
    const m = part.exec(text)
    if (m === null) return undefined
    total += Number(m[1]) * (UNITS[m[2] as string] as number)
    at = part.lastIndex
  }
  return at === 0 ? undefined : total
}

/**
 * The flags as etcd reads them: a retention that is a whole number is hours
 * (periodic) or revisions (revision); otherwise a Go duration (periodic
 * only). "0" (the default) turns it off: undefined.
 */
export const decodeAutoCompaction = (
  mode: string | undefined,
  retention: string | undefined,
): AutoCompaction | undefined => {
  const m = mode ?? "periodic"
  if (m !== "periodic" && m !== "revision")
    throw new FlagError(
      "auto-compaction-mode",
      `unknown auto-compaction-mode ${JSON.stringify(m)} (periodic or revision)`,
    )
  const r = (retention ?? "0").trim()
  if (/^\d+$/.test(r)) {
    const n = Number(r)
    if (!Number.isSafeInteger(n))
      throw new FlagError("auto-compaction-retention", `${r} is too large`)
    if (n === 0) return undefined
    return m === "periodic" ? { mode: m, retentionMs: n * HOUR_MS } : { mode: m, retention: n }
  }
  const ms = parseGoDuration(r)
  if (ms === undefined)
    throw new FlagError(
      "auto-compaction-retention",
      `${JSON.stringify(r)} is neither a whole number nor a duration such as 30m or 1h`,
    )
  if (m === "revision")
    throw new FlagError(
      "auto-compaction-retention",
      `${JSON.stringify(r)}: revision mode takes a number of revisions`,
    )
  if (ms < 1) throw new FlagError("auto-compaction-retention", `${JSON.stringify(r)} is too short`)
  return { mode: m, retentionMs: ms }
}

/** Decodes and checks the flags; throws FlagError naming the flag at fault. */
export const decodeMemberConfig = (flags: EtcdFlags): MemberConfig => {
  const name = flags.name ?? "default"
  if (name.trim() === "") throw new FlagError("name", "must not be empty")
  const dataDir = flags["data-dir"] ?? `${name}.etcd`
  if (dataDir.trim() === "") throw new FlagError("data-dir", "must not be empty")
  const listenClientURLs = urlList(
    "listen-client-urls",
    flags["listen-client-urls"] ?? "http://localhost:2379",
  )
  const advertiseClientURLs = urlList(
    "advertise-client-urls",
    flags["advertise-client-urls"] ?? "http://localhost:2379",
  ).map(show)
  const listenPeer = urlList(
    "listen-peer-urls",
    flags["listen-peer-urls"] ?? "http://localhost:2380",
  )
  if (listenPeer.length > 1) {
    throw new FlagError("listen-peer-urls", "only one peer URL is supported")
  }
  const initialAdvertisePeerURLs = urlList(
    "initial-advertise-peer-urls",
    flags["initial-advertise-peer-urls"] ?? "http://localhost:2380",
  ).map(show)
  const clusterFlag =
    flags["initial-cluster"] ?? `${name}=${initialAdvertisePeerURLs.join(`,${name}=`)}`
  const byName = new Map<string, string[]>()
  for (const part of clusterFlag.split(",").map((s) => s.trim())) {
    if (part === "") continue
    const eq = part.indexOf("=")
    if (eq <= 0) {
      throw new FlagError("initial-cluster", `${JSON.stringify(part)} is not name=URL`)
    }
    const member = part.slice(0, eq).trim()
    const [url] = urlList("initial-cluster", part.slice(eq + 1))
    const urls = byName.get(member) ?? []
    const shown = show(url!)
    if (urls.includes(shown)) {
      throw new FlagError("initial-cluster", `${JSON.stringify(part)} is given twice`)
    }
    urls.push(shown)
    byName.set(member, urls)
  }
  if (byName.size === 0) throw new FlagError("initial-cluster", "names no member")
  const own = byName.get(name)
  if (own === undefined) {
    throw new FlagError(
      "initial-cluster",
      `has no entry for this member's --name ${JSON.stringify(name)}`,
    )
  }
  const same =
    own.length === initialAdvertisePeerURLs.length &&
    [...own].sort().every((u, i) => u === [...initialAdvertisePeerURLs].sort()[i])
  if (!same) {
    throw new FlagError(
      "initial-cluster",
      `${name}=${own.join(",")} does not match --initial-advertise-peer-urls ${initialAdvertisePeerURLs.join(",")}`,
    )
  }
  const seen = new Map<string, string>()
  for (const [member, urls] of byName) {
    for (const u of urls) {
      const other = seen.get(u)
      if (other !== undefined) {
        throw new FlagError("initial-cluster", `${u} is given to both ${other} and ${member}`)
      }
      seen.set(u, member)
    }
  }
  // One address cannot serve both: the second listen fails after the data directory is made.
  for (const u of listenClientURLs) {
    if (u.port !== "0" && u.host === listenPeer[0]!.host) {
      throw new FlagError("listen-client-urls", `${u.host} is also the --listen-peer-urls address`)
    }
  }
  const state = flags["initial-cluster-state"] ?? "new"
  if (state !== "new" && state !== "existing") {
    throw new FlagError(
      "initial-cluster-state",
      `expected new or existing, got ${JSON.stringify(state)}`,
    )
  }
  const token = flags["initial-cluster-token"] ?? "etcd-cluster"
  if (token === "") throw new FlagError("initial-cluster-token", "must not be empty")
  const heartbeatMs = positiveInt("heartbeat-interval", flags["heartbeat-interval"], 100)
  const electionMs = positiveInt("election-timeout", flags["election-timeout"], 1000)
  // etcd's bound: a longer timeout leaves a cluster without a leader for most of a minute.
  if (electionMs > maxElectionMs) {
    throw new FlagError(
      "election-timeout",
      `${electionMs} ms is too long, and should be set less than ${maxElectionMs} ms`,
    )
  }
  if (electionMs < 5 * heartbeatMs) {
    throw new FlagError(
      "election-timeout",
      `${electionMs} ms should be at least 5 times --heartbeat-interval (${heartbeatMs} ms)`,
    )
  }
  return {
    name,
    dataDir,
    listenClientURLs,
    advertiseClientURLs,
    listenPeerURL: listenPeer[0]!,
    initialAdvertisePeerURLs,
    initialCluster: [...byName].map(([n, peerURLs]) => ({ name: n, peerURLs })),
    initialClusterState: state,
    initialClusterToken: token,
    snapshotCount: positiveInt("snapshot-count", flags["snapshot-count"], 100_000),
    heartbeatMs,
    electionMs,
    autoCompaction: decodeAutoCompaction(
      flags["auto-compaction-mode"],
      flags["auto-compaction-retention"],
    ),
    quotaBackendBytes: decodeQuota(flags["quota-backend-bytes"]),
  }
}

/**
 * --quota-backend-bytes as etcd reads it: 0 (the default) is 2 GiB, a
 * negative number turns the quota off (0 here), a positive one is the quota.
 */
const decodeQuota = (text: string | undefined): number => {
  if (text === undefined) return DEFAULT_QUOTA_BACKEND_BYTES
  const t = text.trim()
  if (!/^-?\d+$/.test(t) || !Number.isSafeInteger(Number(t)))
    throw new FlagError("quota-backend-bytes", `expected an integer, got ${JSON.stringify(text)}`)
  const n = Number(t)
  return n === 0 ? DEFAULT_QUOTA_BACKEND_BYTES : Math.max(n, 0)
}
