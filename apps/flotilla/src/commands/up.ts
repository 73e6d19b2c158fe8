/**
 * `flotilla up`: a local cluster's control plane on this machine. It starts
 * the store (embedded, or remote etcd v3 endpoints with `--etcd-servers`),
 * the API server on 127.0.0.1 (`--port`, default 6443 or the next free
 * port), writes a kubeconfig into the data directory (`.flotilla` unless
 * `--data-dir` says otherwise), prints the kubectl line, and runs until
 * Ctrl-C, when it stops cleanly.
 *
 * The embedded store is one in-process member: Raft replication of the store
 * is not wired in yet. Until the store persists its own log, `up` keeps the
 * data durable with a snapshot file (`<data-dir>/store.snapshot`), written
 * every few seconds when something changed and on shutdown, and read back by
 * the next `up` on the same data directory (objects keep their content and
 * order; resourceVersions restart from the store's new revisions, as after an
 * etcd restore). A lock file keeps two `up`s off one data directory.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { type ApiServerShape, serve } from "@flotilla/apiserver"
import { Applier, decodeSnapshot, encodeSnapshot, KV } from "@flotilla/store"
import {
  Console,
  Context,
  Duration,
  Effect,
  Layer,
  Option,
  Runtime,
  Schema,
  type Scope,
} from "effect"
import { Command, Flag } from "effect/cli"

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
  Flag.withDescription("Where the kubeconfig, the store's snapshot and the lock file live"),
  Flag.withDefault(".flotilla"),
)
const etcdServers = Flag.String("etcd-servers").pipe(
  Flag.withDescription(
    "Comma-separated etcd v3 endpoints (ours or a real etcd) to use instead of the embedded store",
  ),
  Flag.optional,
)

/** How many ports after 6443 are tried when no port is given. */
const portSearch = 50
/** How often a changed store is written to the snapshot file. */
const snapshotEvery = Duration.seconds(5)

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

/** Puts a snapshot's live keys into an empty store, oldest change first. */
const restore = (kv: KV["Service"], bytes: Uint8Array) =>
  Effect.gen(function* () {
    const snapshot = decodeSnapshot(bytes)
    const all = snapshot.range({ key: new Uint8Array([0]), range_end: new Uint8Array([0]) })
    if ("_tag" in all)
      return yield* new UpFailed({ message: `the snapshot cannot be read: ${all.message}` })
    const kvs = [...all.kvs].sort((a, b) => a.mod_revision - b.mod_revision)
    for (const entry of kvs) {
      yield* kv
        .put({ key: entry.key, value: entry.value })
        .pipe(
          Effect.mapError((e) => new UpFailed({ message: `restoring the snapshot: ${e.message}` })),
        )
    }
    return kvs.length
  })

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

const embedded = (dir: string) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(KV.layerMemory({ name: "flotilla" }))
    const kv = Context.get(context, KV)
    const applier = Context.get(context, Applier)
    const file = join(dir, "store.snapshot")
    let restored = 0
    if (existsSync(file)) restored = yield* restore(kv, new Uint8Array(readFileSync(file)))
    let written = -1
    const snapshot = Effect.gen(function* () {
      const revision = yield* applier.read((s) => s.rev, true)
      if (revision === written) return
      const bytes = yield* applier.read((s) => encodeSnapshot(s), true)
      writeAtomic(file, bytes)
      written = revision
    }).pipe(Effect.catch((e) => Console.error(`flotilla: writing ${file} failed: ${e.message}`)))
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(snapshotEvery), snapshot)))
    // Runs before the store closes (finalizers run in reverse order).
    yield* Effect.addFinalizer(() => snapshot)
    return { kv, file, restored }
  })

export const up = Command.make(
  "up",
  { port, dataDir, etcdServers },
  Effect.fn(
    function* ({ port, dataDir, etcdServers }) {
      const dir = resolve(dataDir)
      mkdirSync(dir, { recursive: true })
      yield* lockDataDir(dir)
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
            file: undefined,
            restored: 0,
          }
        : yield* embedded(dir)
      const server = yield* listen(store.kv, port)
      const kubeconfig = join(dir, "kubeconfig")
      writeAtomic(kubeconfig, kubeconfigText(server.url, dir))
      const shown = dataDir === ".flotilla" ? ".flotilla/kubeconfig" : kubeconfig
      yield* Console.log(
        Option.isSome(etcdServers)
          ? `flotilla: store: etcd v3 endpoints ${etcdServers.value}`
          : `flotilla: store: one embedded member (Raft replication of the store is not wired in yet); snapshot ${store.file}${store.restored > 0 ? `, ${store.restored} keys restored` : ""}`,
      )
      yield* Console.log(`flotilla: API server on ${server.url} (kubectl v1.32 compatible)`)
      yield* Console.log(`flotilla: kubeconfig ${kubeconfig}`)
      yield* Console.log(
        "flotilla: the scheduler, controllers and kubelets join as they land; Ctrl-C stops",
      )
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
