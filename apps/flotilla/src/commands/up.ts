/**
 * `flotilla up`: a local cluster's control plane on this machine. It starts
 * the store (three members replicated by Raft inside this process, each with
 * its write-ahead log under `<data-dir>/store/`; or remote etcd v3 endpoints
 * with `--etcd-servers`), the API server on 127.0.0.1 (`--port`, default 6443
 * or the next free port), the embedded store's etcd v3 API for etcdctl
 * (`--etcd-port`, default 2379 or the next free port), writes a kubeconfig into the data directory
 * (`.flotilla` unless `--data-dir` says otherwise), prints the kubectl line,
 * and runs until Ctrl-C, when it stops cleanly. A second `up` on the same data
 * directory starts the members from their logs and finds every object, with
 * its resourceVersion, as it was. A lock file keeps two `up`s off one data
 * directory.
 */
import {
  accessSync,
  constants,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs"
import { join, resolve } from "node:path"
import { serve } from "@flotilla/apiserver"
import {
  KV,
  type MvccStore,
  mkdirAll,
  readSnapshotStore,
  SnapshotFileError,
  type SnapshotStore,
  serve as serveEtcd,
} from "@flotilla/store"
import {
  Console,
  Context,
  Duration,
  Effect,
  Layer,
  Option,
  Result,
  Runtime,
  Schema,
  type Scope,
} from "effect"
import { Command, Flag } from "effect/cli"
import { errnoText, writeAtomic } from "../files.ts"
import { schedulerConfigFlag, startScheduler } from "./scheduler.ts"
import {
  decodeDataDir,
  decodeEndpoints,
  decodeMembers,
  decodePort,
  existingMembers,
  maxMembers,
  membersFor,
  shellQuote,
} from "./up-flags.ts"

/** `up` could not start; the message says why. */
export class UpFailed extends Schema.TaggedError<UpFailed>()("UpFailed", {
  message: Schema.String,
}) {
  override readonly [Runtime.errorReported] = false
  override readonly [Runtime.errorExitCode] = 1
}

const port = Flag.String("port").pipe(
  Flag.withDescription("Port of the API server on 127.0.0.1 (default 6443, or the next free one)"),
  Flag.optional,
)
const dataDir = Flag.String("data-dir").pipe(
  Flag.withDescription("Where the kubeconfig, the store's logs and the lock file live"),
  Flag.withDefault(".flotilla"),
)
const members = Flag.String("members").pipe(
  Flag.withDescription(
    `Members of the embedded store, replicated by Raft (1-${maxMembers}; default 3, or the count an existing data directory was made with)`,
  ),
  Flag.optional,
)
const etcdPort = Flag.String("etcd-port").pipe(
  Flag.withDescription(
    "Port of the embedded store's etcd v3 API on 127.0.0.1, for etcdctl (default 2379, or the next free one)",
  ),
  Flag.optional,
)
const restore = Flag.String("restore").pipe(
  Flag.withDescription(
    "Start a new embedded store from a snapshot file (etcdctl snapshot save, from ours or a real etcd)",
  ),
  Flag.optional,
)
const etcdServers = Flag.String("etcd-servers").pipe(
  Flag.withDescription(
    "Comma-separated etcd v3 endpoints (ours or a real etcd) to use instead of the embedded store",
  ),
  Flag.optional,
)

/** How many ports after 6443 are tried when no port is given. */
const portSearch = 50

const kubeconfigText = (url: string, dir: string) =>
  [
    "# Written by `flotilla up`; plain HTTP on 127.0.0.1, no credentials.",
    `# data directory: ${dir}`,
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: flotilla",
    "  cluster:",
    `    server: ${url}`,
    "contexts:",
    "- name: flotilla",
    "  context:",
    "    cluster: flotilla",
    "    user: flotilla",
    "    namespace: default",
    "current-context: flotilla",
    "users:",
    "- name: flotilla",
    "  user: {}",
    "",
  ].join("\n")

/**
 * When process `pid` started (/proc/<pid>/stat field 22, clock ticks after
 * boot), or undefined where /proc cannot tell: with the pid it names one
 * process, as a pid alone may have gone to another one since a kill -9.
 */
const processStart = (pid: number | "self"): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    return undefined
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Takes the data directory's lock (`up.pid`: our pid and start time) for the
 * scope's lifetime. Created exclusively, so of two `up`s started at once one
 * wins; a lock whose process is gone (kill -9), or whose pid now names
 * another process (its start time differs), is taken over.
 */
const lockDataDir = (dir: string): Effect.Effect<void, UpFailed, Scope.Scope> => {
  const lock = join(dir, "up.pid")
  return Effect.acquireRelease(
    Effect.gen(function* () {
      const started = processStart("self")
      const self = `${process.pid}${started === undefined ? "" : ` ${started}`}\n`
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          writeFileSync(lock, self, { flag: "wx" })
          return
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
            return yield* new UpFailed({
              message: `--data-dir: cannot write ${lock}: ${errnoText(e)}`,
            })
          }
        }
        const [pidText, holderStarted] = readText(lock).trim().split(/\s+/)
        const pid = Number(pidText)
        if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) {
          // A lock without a start time, or where /proc cannot tell, is trusted
          // on its pid, unless that process is no flotilla at all.
          const now = holderStarted === undefined ? undefined : processStart(pid)
          const command = readText(`/proc/${pid}/cmdline`)
          if (
            (now === undefined || now === holderStarted) &&
            (command === "" || command.includes("flotilla"))
          ) {
            return yield* new UpFailed({
              message: `another flotilla up (pid ${pid}) is using ${dir}; stop it or pick another --data-dir`,
            })
          }
        }
        rmSync(lock, { force: true })
      }
      return yield* new UpFailed({ message: `--data-dir: ${lock} keeps reappearing` })
    }),
    () => Effect.sync(() => rmSync(lock, { force: true })),
  )
}

const readText = (path: string): string => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return ""
  }
}

/**
 * Makes the data directory (one component at a time: Node's recursive mkdir
 * spins forever under /proc); true when this run created it.
 */
const makeDataDir = (dir: string) =>
  Effect.gen(function* () {
    const existed = yield* Effect.sync(() => statOrUndefined(dir))
    if (existed !== undefined && !existed.isDirectory()) {
      return yield* new UpFailed({ message: `--data-dir: ${dir} exists and is not a directory` })
    }
    yield* Effect.tryPromise({
      try: () => mkdirAll(dir),
      catch: (e) => new UpFailed({ message: `--data-dir: cannot create ${dir}: ${errnoText(e)}` }),
    })
    const made = statOrUndefined(dir)
    if (made === undefined || !made.isDirectory()) {
      return yield* new UpFailed({ message: `--data-dir: ${dir} is not a directory` })
    }
    try {
      accessSync(dir, constants.W_OK)
    } catch (e) {
      return yield* new UpFailed({ message: `--data-dir: cannot write in ${dir}: ${errnoText(e)}` })
    }
    return existed === undefined
  })

const statOrUndefined = (path: string) => {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

/** Listens on the asked port, or on the first free one from 6443. */
/**
 * Starts a server on port `asked`, or on the first free one from `first`
 * (`portSearch` tried); `flag` names the port in refusals.
 */
const onFreePort = <A, R>(
  start: (port: number) => Effect.Effect<A, { readonly message: string }, R>,
  asked: number | undefined,
  first: number,
  flag: string,
) =>
  Effect.gen(function* () {
    const from = asked ?? first
    const last = asked !== undefined ? from : from + portSearch
    let lastError = ""
    for (let p = from; p <= last; p++) {
      const server = yield* start(p).pipe(
        Effect.map((s): A | undefined => s),
        Effect.catch((e) => {
          lastError = e.message
          return Effect.succeed(undefined)
        }),
      )
      if (server !== undefined) return server
    }
    return yield* new UpFailed({
      message:
        asked !== undefined
          ? `--${flag} ${asked}: ${listenReason(lastError)}`
          : `no free port from ${from} to ${last} (pass --${flag}): ${lastError}`,
    })
  })

const listen = (kv: KV["Service"], asked: number | undefined) =>
  onFreePort((p) => serve(kv, { port: p }), asked, 6443, "port")

/** Why a listen failed, in a few words. */
const listenReason = (message: string): string =>
  /EADDRINUSE/.test(message)
    ? "address already in use (another process listens there)"
    : /EACCES/.test(message)
      ? "permission denied (ports below 1024 need privileges)"
      : message

/** The embedded store: `members` Raft members with their logs under `<dir>/store`. */
/**
 * The embedded store, and its etcd v3 API on 127.0.0.1 (the first member's),
 * so that etcdctl can look at what the API server keeps under /registry.
 */
const embedded = (
  dir: string,
  members: number,
  etcdPort: number | undefined,
  initialStore: MvccStore | undefined,
) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(
      KV.layerRaft({
        members,
        dataDir: join(dir, "store"),
        ...(initialStore === undefined ? {} : { initialStore }),
      }),
    ).pipe(Effect.mapError((e) => new UpFailed({ message: `starting the store: ${e.message}` })))
    const etcd = yield* onFreePort(
      (p) => Effect.provide(serveEtcd({ port: p }), context),
      etcdPort,
      2379,
      "etcd-port",
    )
    return { kv: Context.get(context, KV), etcd: `${etcd.host}:${etcd.port}` }
  })

/**
 * Remote etcd v3 endpoints, asked for one key before anything is served: an
 * endpoint that is down or is not etcd fails here with its reason, instead of
 * every request of the API server failing later.
 */
const remote = (endpoints: ReadonlyArray<string>, flag: string) =>
  Effect.gen(function* () {
    const kv = Context.get(yield* Layer.build(KV.layerRemote({ endpoints })), KV)
    yield* kv.range({ key: new TextEncoder().encode("/registry/"), limit: 1 }).pipe(
      Effect.timeout(probeTimeout),
      Effect.mapError(
        (e) =>
          new UpFailed({
            message: `--etcd-servers ${flag}: the store does not answer: ${e._tag === "TimeoutError" ? `no answer in ${Duration.format(probeTimeout)}` : grpcReason(e.message)}`,
          }),
      ),
    )
    return kv
  })

/** gRPC's connection message without its timestamps and empty resolution note. */
const grpcReason = (message: string): string =>
  message
    .replace(/\s*Resolution note:\s*$/, "")
    .replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, "")
    .replace(/\.$/, "")

/** How long the first request to remote endpoints may take. */
const probeTimeout = Duration.seconds(10)

/** The member directories under `<data-dir>/store` (none when it does not exist yet). */
const listStore = (storeDir: string): Effect.Effect<ReadonlyArray<string>, UpFailed> =>
  Effect.try({
    try: () => (existsSync(storeDir) ? readdirSync(storeDir) : []),
    catch: (e) => new UpFailed({ message: `--data-dir: cannot read ${storeDir}: ${errnoText(e)}` }),
  })

/** A refused flag: printed as `flotilla up: --flag: reason`, exit 2. */
export class UpUsageError extends Schema.TaggedError<UpUsageError>()("UpUsageError", {
  message: Schema.String,
}) {
  override readonly [Runtime.errorReported] = false
  override readonly [Runtime.errorExitCode] = 2
}

const usage = <A>(r: Result.Result<A, string>): Effect.Effect<A, UpUsageError> =>
  Result.isSuccess(r)
    ? Effect.succeed(r.success)
    : Effect.fail(new UpUsageError({ message: r.failure }))

const startUp = Effect.fn(function* (flags: {
  readonly port: Option.Option<string>
  readonly dataDir: string
  readonly members: Option.Option<string>
  readonly etcdPort: Option.Option<string>
  readonly restore: Option.Option<string>
  readonly etcdServers: Option.Option<string>
  readonly schedulerConfig: Option.Option<string>
}) {
  const port = yield* usage(decodePort(Option.getOrUndefined(flags.port)))
  const etcdPort = yield* usage(decodePort(Option.getOrUndefined(flags.etcdPort), "etcd-port"))
  const dataDir = yield* usage(decodeDataDir(flags.dataDir))
  const asked = yield* usage(decodeMembers(Option.getOrUndefined(flags.members)))
  const endpoints = Option.isSome(flags.etcdServers)
    ? yield* usage(decodeEndpoints(flags.etcdServers.value))
    : undefined
  if (endpoints !== undefined && asked !== undefined) {
    return yield* new UpUsageError({
      message: "--members: the embedded store's size; it does not apply with --etcd-servers",
    })
  }
  const restoreFrom = Option.getOrUndefined(flags.restore)
  if (endpoints !== undefined && restoreFrom !== undefined) {
    return yield* new UpUsageError({
      message: "--restore: starts the embedded store; it does not apply with --etcd-servers",
    })
  }
  if (endpoints !== undefined && etcdPort !== undefined) {
    return yield* new UpUsageError({
      message: "--etcd-port: the embedded store's port; it does not apply with --etcd-servers",
    })
  }
  const dir = resolve(dataDir)
  const created = yield* makeDataDir(dir)
  let ready = false
  // A data directory this run created is removed again when it fails before
  // it is ready, so a refused start leaves nothing behind.
  return yield* Effect.scoped(
    Effect.gen(function* () {
      yield* lockDataDir(dir)
      const storeDir = join(dir, "store")
      const members =
        endpoints === undefined
          ? yield* usage(
              membersFor(
                asked,
                yield* usage(existingMembers(yield* listStore(storeDir), storeDir)),
                storeDir,
              ),
            )
          : 0
      let restored: SnapshotStore | undefined
      if (restoreFrom !== undefined) {
        if ((yield* listStore(storeDir)).length > 0)
          return yield* new UpUsageError({
            message: `--restore: ${storeDir} already holds a store; restore into a new --data-dir`,
          })
        restored = yield* readSnapshotStore(restoreFrom).pipe(
          Effect.mapError(
            (e) =>
              new UpFailed({
                message: `--restore: ${e instanceof SnapshotFileError ? e.message : `cannot read ${restoreFrom}: ${errnoText(e)}`}`,
              }),
          ),
        )
      }
      const store =
        endpoints === undefined
          ? yield* embedded(dir, members, etcdPort, restored?.store)
          : {
              kv: yield* remote(
                endpoints,
                Option.getOrElse(flags.etcdServers, () => ""),
              ),
              etcd: undefined,
            }
      const kv = store.kv
      const server = yield* listen(kv, port)
      const profiles = yield* startScheduler({ server: server.url }, flags.schedulerConfig)
      // Written last: a kubeconfig on disk names a server that is serving.
      const kubeconfig = join(dir, "kubeconfig")
      yield* Effect.try({
        try: () => writeAtomic(kubeconfig, kubeconfigText(server.url, dir)),
        catch: (e) =>
          new UpFailed({ message: `--data-dir: cannot write ${kubeconfig}: ${errnoText(e)}` }),
      })
      ready = true
      const shown = dataDir === ".flotilla" ? ".flotilla/kubeconfig" : kubeconfig
      yield* Console.log(
        endpoints !== undefined
          ? `flotilla: store: etcd v3 endpoints ${endpoints.join(",")}`
          : `flotilla: store: ${members} member${members === 1 ? "" : "s"} replicated by Raft, write-ahead logs in ${storeDir}`,
      )
      if (restored !== undefined)
        yield* Console.log(
          `flotilla: store: started from ${restoreFrom}, revision ${restored.store.rev}${restored.store.compactRev > 0 ? `, compacted at ${restored.store.compactRev}` : ""}`,
        )
      for (const [from, to] of restored?.renumberedLeases ?? [])
        yield* Console.log(
          `flotilla: lease ${from.toString(16)} is ${to.toString(16)} here (this store keeps lease IDs below 2^53)`,
        )
      if (store.etcd !== undefined)
        yield* Console.log(
          `flotilla: store's etcd v3 API on ${store.etcd} (etcdctl --endpoints=${store.etcd} get /registry --prefix --keys-only)`,
        )
      yield* Console.log(`flotilla: API server on ${server.url} (kubectl v1.32 compatible)`)
      yield* Console.log(`flotilla: kubeconfig ${kubeconfig}`)
      yield* Console.log(`flotilla: scheduler running (profiles: ${profiles.join(", ")})`)
      yield* Console.log("flotilla: controllers and kubelets join as they land; Ctrl-C stops")
      yield* Console.log("")
      yield* Console.log(`  kubectl --kubeconfig ${shellQuote(shown)} get all -A`)
      yield* Console.log("")
      yield* Effect.addFinalizer(() => Console.log("flotilla: stopping"))
      return yield* Effect.never
    }),
  ).pipe(
    Effect.onExit(() =>
      Effect.sync(() => {
        if (created && !ready) rmSync(dir, { recursive: true, force: true })
      }),
    ),
  )
})

export const up = Command.make(
  "up",
  {
    port,
    dataDir,
    members,
    etcdPort,
    restore,
    etcdServers,
    schedulerConfig: schedulerConfigFlag,
  },
  (flags) =>
    startUp(flags).pipe(Effect.tapError((e) => Console.error(`flotilla up: ${e.message}`))),
).pipe(
  Command.withDescription(
    "Start a local control plane (store and API server on 127.0.0.1) and write a kubeconfig for kubectl",
  ),
  Command.withExamples([
    {
      command: "flotilla up",
      description: "Start on port 6443 (or the next free), data in .flotilla",
    },
    {
      command: "flotilla up --port 7443 --data-dir /tmp/cluster",
      description: "Pick the port and the data directory",
    },
    {
      command: "flotilla up --etcd-servers 127.0.0.1:2379",
      description: "Keep the objects in an etcd v3 store (ours or a real etcd)",
    },
  ]),
)
