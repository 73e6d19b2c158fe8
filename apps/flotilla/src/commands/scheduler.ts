/**
 * `flotilla scheduler`: kube-scheduler's role against any API server named by
 * a kubeconfig (`--kubeconfig`), with an optional KubeSchedulerConfiguration
 * file (`--config`, YAML or JSON). It watches pods and nodes, binds pending
 * pods through `pods/binding` and records Scheduled / FailedScheduling
 * Events, until Ctrl-C. `flotilla up` starts the same scheduler next to its
 * API server (`startScheduler`, with `--scheduler-config`).
 */
import { makeClient } from "@flotilla/client"
import { readKubeconfig, Scheduler } from "@flotilla/scheduler"
import { Console, Context, Effect, Layer, Option, Runtime, Schema, type Scope } from "effect"
import { Command, Flag } from "effect/cli"

/** The scheduler could not start: a bad kubeconfig or configuration file. */
export class SchedulerFailed extends Schema.TaggedError<SchedulerFailed>()("SchedulerFailed", {
  message: Schema.String,
}) {
  override readonly [Runtime.errorReported] = false
  override readonly [Runtime.errorExitCode] = 1
}

/** `flotilla up --scheduler-config FILE`. */
export const schedulerConfigFlag = Flag.String("scheduler-config").pipe(
  Flag.withDescription("KubeSchedulerConfiguration file (YAML or JSON) for the scheduler"),
  Flag.optional,
)

/**
 * Runs the scheduler against `server` for the rest of the scope; resolves
 * once its informers have synced, with the names of its profiles.
 */
export const startScheduler = (
  options: { readonly server: string; readonly token?: string },
  configFile: Option.Option<string>,
): Effect.Effect<ReadonlyArray<string>, SchedulerFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const client = makeClient({ ...options, userAgent: "flotilla-scheduler/0.0.0" })
    const context = yield* Layer.build(
      Scheduler.layerClient(
        client,
        Option.isSome(configFile) ? { configurationFile: configFile.value } : {},
      ),
    ).pipe(Effect.mapError((e) => new SchedulerFailed({ message: e.message })))
    return [...Context.get(context, Scheduler).core.profiles.keys()]
  })

/** How long the API server may take to answer the first request. */
const probeTimeoutMs = 10_000

/**
 * Asks the API server for `/version` before the scheduler starts: a server
 * that is down, or is not Kubernetes, fails here with its reason (the
 * scheduler's informers would otherwise wait for a first list forever, saying
 * nothing).
 */
export const probeApiServer = (
  server: string,
  token: string | undefined,
  source: string,
): Effect.Effect<void, SchedulerFailed> =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(`${server}/version`, {
        headers: {
          accept: "application/json",
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        signal: AbortSignal.any([signal, AbortSignal.timeout(probeTimeoutMs)]),
      })
      const text = await response.text()
      return { status: response.status, type: response.headers.get("content-type") ?? "", text }
    },
    catch: (e) => {
      const err = e as Error & { cause?: { code?: string; message?: string } }
      const reason =
        err.name === "TimeoutError"
          ? `no answer in ${probeTimeoutMs / 1000} s`
          : (err.cause?.message ?? err.cause?.code ?? err.message)
      return new SchedulerFailed({
        message: `${source}: cannot reach the API server ${server}: ${reason}`,
      })
    },
  }).pipe(
    Effect.flatMap(({ status, type, text }) => {
      if (status === 401 || status === 403) {
        return Effect.fail(
          new SchedulerFailed({
            message: `${source}: the API server ${server} refuses these credentials (GET /version: ${status})`,
          }),
        )
      }
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        body = undefined
      }
      const looksLikeVersion =
        status === 200 && typeof body === "object" && body !== null && "gitVersion" in body
      return looksLikeVersion
        ? Effect.void
        : Effect.fail(
            new SchedulerFailed({
              message: `${source}: ${server} is not a Kubernetes API server (GET /version answered ${status}${type === "" ? "" : ` ${type.split(";")[0]}`})`,
            }),
          )
    }),
  )

const kubeconfig = Flag.String("kubeconfig").pipe(
  Flag.withDescription("Kubeconfig naming the API server (its current context)"),
)
const config = Flag.String("config").pipe(
  Flag.withDescription("KubeSchedulerConfiguration file (YAML or JSON); the defaults when absent"),
  Flag.optional,
)

export const scheduler = Command.make(
  "scheduler",
  { kubeconfig, config },
  Effect.fn(
    function* ({ kubeconfig, config }) {
      const target = yield* readKubeconfig(kubeconfig).pipe(
        Effect.mapError((e) => new SchedulerFailed({ message: e.message })),
      )
      yield* probeApiServer(target.server, target.token, `--kubeconfig ${kubeconfig}`)
      const profiles = yield* startScheduler(
        target.token === undefined
          ? { server: target.server }
          : { server: target.server, token: target.token },
        config,
      )
      yield* Console.log(
        `flotilla scheduler: scheduling pods of ${target.server} (profiles: ${profiles.join(", ")}); Ctrl-C stops`,
      )
      return yield* Effect.never
    },
    Effect.scoped,
    Effect.tapError((e) => Console.error(`flotilla scheduler: ${e.message}`)),
  ),
).pipe(
  Command.withDescription(
    "Run the scheduler against an API server: bind pending pods to nodes and record events",
  ),
  Command.withExamples([
    {
      command: "flotilla scheduler --kubeconfig .flotilla/kubeconfig",
      description: "Schedule the pods of the cluster `flotilla up` started",
    },
    {
      command: "flotilla scheduler --kubeconfig ~/.kube/config --config scheduler.yaml",
      description: "With profiles and plugins from a KubeSchedulerConfiguration file",
    },
  ]),
)
