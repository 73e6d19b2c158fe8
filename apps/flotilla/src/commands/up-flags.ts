/**
 * `flotilla up`'s flags, decoded before anything is created: each refusal
 * names the flag and the reason (printed as `flotilla up: --flag: reason`,
 * exit 2), so a bad command line leaves no data directory, lock or
 * kubeconfig behind. Pure: the data directory's listing comes in as names.
 */
import { Result } from "effect"

/** Most members of the embedded store: its members share one process, so more only slow writes (etcd's own advice is at most 7). */
export const maxMembers = 7

/**
 * A flag's decimal integer as Go's `strconv.Atoi` reads one: digits with an
 * optional sign, nothing else (JavaScript's `Number` also takes `1e3`,
 * `0x10`, `1.0` and blanks).
 */
const integerFlag = (flag: string, text: string): Result.Result<number, string> => {
  const n = Number(text)
  return /^[+-]?\d+$/.test(text) && Number.isSafeInteger(n)
    ? Result.succeed(n)
    : Result.fail(`--${flag}: must be a decimal integer, got ${JSON.stringify(text)}`)
}

/** `--port`: 0 (any free port) to 65535; absent means 6443 or the next free one. */
export const decodePort = (
  text: string | undefined,
  flag = "port",
): Result.Result<number | undefined, string> =>
  text === undefined
    ? Result.succeed(undefined)
    : Result.flatMap(integerFlag(flag, text), (port) =>
        port >= 0 && port <= 65535
          ? Result.succeed(port)
          : Result.fail(`--${flag}: must be from 0 to 65535, got ${port}`),
      )

/** `--data-dir`: any path but the empty one (which would be the working directory). */
export const decodeDataDir = (dir: string): Result.Result<string, string> =>
  dir.trim() === ""
    ? Result.fail("--data-dir: must not be empty")
    : dir.includes("\0")
      ? Result.fail("--data-dir: must not contain a NUL byte")
      : Result.succeed(dir)

/** `--members` alone: 1 to `maxMembers`. */
export const decodeMembers = (
  text: string | undefined,
): Result.Result<number | undefined, string> =>
  text === undefined
    ? Result.succeed(undefined)
    : Result.flatMap(integerFlag("members", text), (members) =>
        members >= 1 && members <= maxMembers
          ? Result.succeed(members)
          : Result.fail(
              members < 1
                ? `--members: must be at least 1, got ${members}`
                : `--members: at most ${maxMembers} (the members share this process: more only slow writes), got ${members}`,
            ),
      )

/**
 * How many members the store under `<data-dir>/store` was made with, from
 * its member directories `m1`..`mN`; undefined for none. A gap in the
 * numbering is a damaged store (a member's log is missing).
 */
export const existingMembers = (
  names: ReadonlyArray<string>,
  storeDir: string,
): Result.Result<number | undefined, string> => {
  const numbers = names
    .map((n) => /^m([1-9]\d*)$/.exec(n)?.[1])
    .filter((n) => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
  if (numbers.length === 0) return Result.succeed(undefined)
  const missing = numbers.findIndex((n, i) => n !== i + 1)
  return missing < 0
    ? Result.succeed(numbers.length)
    : Result.fail(
        `${storeDir}: member directory m${missing + 1} is missing (found ${numbers.map((n) => `m${n}`).join(", ")}); the store is damaged`,
      )
}

/**
 * The member count to start: an existing store keeps the count it was made
 * with (a different one would start members that disagree on who is in the
 * cluster: fewer never reach a quorum, more form a second cluster).
 */
export const membersFor = (
  asked: number | undefined,
  existing: number | undefined,
  storeDir: string,
): Result.Result<number, string> =>
  existing === undefined || asked === undefined || asked === existing
    ? Result.succeed(existing ?? asked ?? 3)
    : Result.fail(
        `--members: ${storeDir} holds a store of ${existing} member${existing === 1 ? "" : "s"}, not ${asked}; start it with --members ${existing} (or without --members), or pick another --data-dir`,
      )

/**
 * `--etcd-servers`: comma-separated `host:port` or `http://host:port`, as
 * etcd's `--endpoints` and kube-apiserver's `--etcd-servers` take them.
 */
export const decodeEndpoints = (text: string): Result.Result<ReadonlyArray<string>, string> => {
  const endpoints = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
  if (endpoints.length === 0) return Result.fail("--etcd-servers: names no endpoint")
  for (const endpoint of endpoints) {
    const reason = endpointProblem(endpoint)
    if (reason !== undefined)
      return Result.fail(`--etcd-servers: ${JSON.stringify(endpoint)}: ${reason}`)
  }
  return Result.succeed(endpoints)
}

const endpointProblem = (endpoint: string): string | undefined => {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(endpoint)?.[1]?.toLowerCase()
  if (scheme === "https") return "TLS to the store is not supported yet (use http://)"
  if (scheme !== undefined && scheme !== "http")
    return `unsupported scheme ${scheme}:// (expected host:port or http://host:port)`
  let url: URL
  try {
    url = new URL(scheme === undefined ? `http://${endpoint}` : endpoint)
  } catch {
    const port = /:(\d+)$/.exec(endpoint)?.[1]
    return port !== undefined && Number(port) > 65535
      ? `port ${port} is out of range (1-65535)`
      : "not host:port or http://host:port"
  }
  if (url.hostname === "") return "names no host (expected host:port or http://host:port)"
  if (url.port === "") return "names no port (expected host:port, e.g. 127.0.0.1:2379)"
  if (url.port === "0") return "port 0 is not a port to connect to"
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "")
    return "must not have a path, query or fragment"
  if (url.username !== "" || url.password !== "") return "credentials in the URL are not supported"
  return undefined
}

/** A path as a POSIX shell reads it back: quoted when it holds anything but safe characters. */
export const shellQuote = (s: string): string =>
  /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`
