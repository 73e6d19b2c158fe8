/**
 * `flotilla up`: a local cluster's control plane on this machine. It starts
 * the store (three members replicated by Raft inside this process, each with
 * its write-ahead log under `<data-dir>/store/`; or remote etcd v3 endpoints
 * with `--etcd-servers`), the API server on 127.0.0.1 (`--port`, default 6443
 * or the next free port), writes a kubeconfig into the data directory
 * (`.flotilla` unless `--data-dir` says otherwise), prints the kubectl line,
 * and runs until Ctrl-C, when it stops cleanly. A second `up` on the same data
 * directory starts the members from their logs and finds every object, with
 * its resourceVersion, as it was. A lock file keeps two `up`s off one data
 * directory.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { type ApiServerShape, serve } from "@flotilla/apiserver"
import { KV } from "@flotilla/store"
import { Console, Context, Effect, Layer, Option, Runtime, Schema, type Scope } from "effect"
import { Command, Flag } from "effect/cli"
import { schedulerConfigFlag, startScheduler } from "./scheduler.ts"

/** `up` could not start; the message says why. */
export class UpFailed extends Schema.TaggedError<UpFailed>()("UpFailed", {
  message: Schema.String,
}) {
  override readonly [Runtime.errorReported] = false
  override readonly [Runtime.errorExitCode] = 1
}

const port = Flag.Int("port").pipe(
  Flag.withDescription("Port of the API server on 127.0.0.1 (default 6443, or the next free one)"),
  Flag.optional,
)
const dataDir = Flag.String("data-dir").pipe(
  Flag.withDescription("Where the kubeconfig, the store's logs and the lock file live"),
  Flag.withDefault(".flotilla"),
)
const members = Flag.Int("members").pipe(
  Flag.withDescription(
    "Members of the embedded store, replicated by Raft (default 3; 1 for no replication)",
  ),
  Flag.withDefault(3),
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

/** Writes a file so that readers see the old or the new content, never half. */
const writeAtomic = (path: string, data: Uint8Array | string) => {
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, data)
  renameSync(tmp, path)
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Takes the data directory's lock for the scope's lifetime. */
const lockDataDir = (dir: string): Effect.Effect<void, UpFailed, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const lock = join(dir, "up.pid")
      if (existsSync(lock)) {
        const pid = Number(readFileSync(lock, "utf8").trim())
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
          return yield* new UpFailed({
            message: `another flotilla up (pid ${pid}) is using ${dir}; stop it or pick another --data-dir`,
          })
        }
      }
      writeAtomic(lock, `${process.pid}\n`)
    }),
    () => Effect.sync(() => rmSync(join(dir, "up.pid"), { force: true })),
  )

/** Listens on the asked port, or on the first free one from 6443. */
const listen = (kv: KV["Service"], asked: Option.Option<number>) =>
  Effect.gen(function* () {
    const first = Option.getOrElse(asked, () => 6443)
    const last = Option.isSome(asked) ? first : first + portSearch
    let lastError = ""
    for (let p = first; p <= last; p++) {
      const server = yield* serve(kv, { port: p }).pipe(
        Effect.map((s): ApiServerShape | undefined => s),
        Effect.catch((e) => {
          lastError = e.message
          return Effect.succeed(undefined)
        }),
      )
      if (server !== undefined) return server
    }
    return yield* new UpFailed({ message: `no port to listen on: ${lastError}` })
  })

/** The embedded store: `members` Raft members with their logs under `<dir>/store`. */
const embedded = (dir: string, members: number) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(KV.layerRaft({ members, dataDir: join(dir, "store") })).pipe(
      Effect.mapError((e) => new UpFailed({ message: `starting the store: ${e.message}` })),
    )
    return { kv: Context.get(context, KV) }
  })

export const up = Command.make(
  "up",
  { port, dataDir, members, etcdServers, schedulerConfig: schedulerConfigFlag },
  Effect.fn(
    function* ({ port, dataDir, members, etcdServers, schedulerConfig }) {
      const dir = resolve(dataDir)
      mkdirSync(dir, { recursive: true })
      yield* lockDataDir(dir)
      if (members < 1) {
        return yield* new UpFailed({ message: `--members must be at least 1, not ${members}` })
      }
      const store = Option.isSome(etcdServers)
        ? {
            kv: Context.get(
              yield* Layer.build(
                KV.layerRemote({
                  endpoints: etcdServers.value
                    .split(",")
                    .map((s) => s.trim())
                    .filter((s) => s !== ""),
                }),
              ),
              KV,
            ),
          }
        : yield* embedded(dir, members)
      const server = yield* listen(store.kv, port)
      const kubeconfig = join(dir, "kubeconfig")
      writeAtomic(kubeconfig, kubeconfigText(server.url, dir))
      const shown = dataDir === ".flotilla" ? ".flotilla/kubeconfig" : kubeconfig
      const profiles = yield* startScheduler({ server: server.url }, schedulerConfig)
      yield* Console.log(
        Option.isSome(etcdServers)
          ? `flotilla: store: etcd v3 endpoints ${etcdServers.value}`
          : `flotilla: store: ${members} member${members === 1 ? "" : "s"} replicated by Raft, write-ahead logs in ${join(dir, "store")}`,
      )
      yield* Console.log(`flotilla: API server on ${server.url} (kubectl v1.32 compatible)`)
      yield* Console.log(`flotilla: kubeconfig ${kubeconfig}`)
      yield* Console.log(`flotilla: scheduler running (profiles: ${profiles.join(", ")})`)
      yield* Console.log("flotilla: controllers and kubelets join as they land; Ctrl-C stops")
      yield* Console.log("")
      yield* Console.log(`  kubectl --kubeconfig ${shown} get all -A`)
      yield* Console.log("")
      yield* Effect.addFinalizer(() => Console.log("flotilla: stopping"))
      return yield* Effect.never
    },
    Effect.scoped,
    Effect.tapError((e) => Console.error(`flotilla up: ${e.message}`)),
  ),
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
