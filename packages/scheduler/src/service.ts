import type { Event } from "@flotilla/api"
import type { KubeClientShape } from "@flotilla/client"
import { Clock, Context, Effect, Exit, Latch, Layer, Option, Queue, Result, Schema } from "effect"
import {
  type ConfigError,
  decodeConfiguration,
  defaultConfiguration,
  formatConfigIssue,
  type SchedulerConfiguration,
} from "./core/config.ts"
import { parseConfiguration } from "./core/config-file.ts"
import { defaultRegistry, type Registry } from "./core/registry.ts"
import { type Command, SchedulerCore } from "./core/scheduler.ts"
import { type InformerSourceOptions, layerInformers } from "./informers.ts"
import type { InMemoryCluster } from "./memory.ts"
import { readTextFile } from "./read-file.ts"
import { ClusterSource, type SourceEvent } from "./source.ts"

export class SchedulerConfigError extends Schema.TaggedError<SchedulerConfigError>()(
  "SchedulerConfigError",
  {
    message: Schema.String,
  },
) {}

export interface SchedulerOptions {
  /** The plugin registry; the in-tree plugins when absent. Add custom plugins to a clone. */
  readonly registry?: Registry
  /** A KubeSchedulerConfiguration object (decoded and checked here); the defaults when absent. */
  readonly configuration?: unknown
  /**
   * A KubeSchedulerConfiguration file (YAML or JSON), read when the layer is
   * built; its problems are reported as `<file>:<line>: <field>: <reason>`.
   * Takes precedence over `configuration`.
   */
  readonly configurationFile?: string
  /** Seed for tie-breaking (the same seed and inputs give the same placements). */
  readonly seed?: number
  /** How often queues are flushed and timeouts checked (Kubernetes: 1 s). */
  readonly tickMs?: number
}

type Input =
  | SourceEvent
  | { readonly type: "Tick" }
  | { readonly type: "Bound"; readonly key: string }
  | { readonly type: "BindFailed"; readonly key: string; readonly message: string }

/** RFC 3339 with second precision, as Kubernetes writes `metav1.Time`. */
const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

/**
 * The scheduler service: one fiber runs the pure SchedulerCore, fed by the
 * ClusterSource's event handlers and a ticker; bindings run concurrently (the
 * binding cycle) and report back; Scheduled / FailedScheduling Events are
 * recorded through the source.
 */
export class Scheduler extends Context.Service<
  Scheduler,
  {
    /** The pure core, for inspection (queues, cache). */
    readonly core: SchedulerCore
    /**
     * Completes once every delivered change is processed, no pod is ready to
     * be tried and no binding is in flight (pods may still wait in backoff).
     */
    readonly idle: Effect.Effect<void>
  }
>()("@flotilla/scheduler/Scheduler") {
  static readonly layer = (
    options: SchedulerOptions = {},
  ): Layer.Layer<Scheduler, SchedulerConfigError, ClusterSource> =>
    Layer.effect(Scheduler, make(options))

  /** The scheduler over a real API server: informers, `pods/binding`, Events (see `informers.ts`). */
  static readonly layerClient = (
    client: KubeClientShape,
    options: SchedulerOptions & InformerSourceOptions = {},
  ): Layer.Layer<Scheduler, SchedulerConfigError> =>
    Scheduler.layer(options).pipe(Layer.provide(layerInformers(client, options)))

  /** The scheduler over an in-memory cluster (no API server). */
  static readonly layerMemory = (
    cluster: InMemoryCluster,
    options: SchedulerOptions = {},
  ): Layer.Layer<Scheduler, SchedulerConfigError> =>
    Scheduler.layer(options).pipe(Layer.provide(cluster.layer))
}

/** `file:line: field: reason` per problem, as compilers print them. */
const fileProblems = (file: string, e: ConfigError): string =>
  e.issues
    .map((i) =>
      i.line === undefined
        ? `${file}: ${formatConfigIssue(i)}`
        : `${file}:${i.line}: ${formatConfigIssue({ path: i.path, message: i.message })}`,
    )
    .join("\n")

/**
 * Reads and decodes a KubeSchedulerConfiguration file (YAML or JSON) against
 * the registry (the in-tree plugins when absent).
 */
export const readConfigurationFile = (
  file: string,
  registry: Registry = defaultRegistry(),
): Effect.Effect<SchedulerConfiguration, SchedulerConfigError> =>
  Effect.gen(function* () {
    const text = yield* Effect.try({
      try: () => readTextFile(file),
      catch: (e) =>
        new SchedulerConfigError({
          message: `${file}: cannot read: ${e instanceof Error ? e.message : String(e)}`,
        }),
    })
    const r = parseConfiguration(text, registry)
    if (Result.isFailure(r)) {
      return yield* new SchedulerConfigError({ message: fileProblems(file, r.failure) })
    }
    return r.success
  })

const configure = (
  options: SchedulerOptions,
  registry: Registry,
): Effect.Effect<SchedulerConfiguration, SchedulerConfigError> => {
  if (options.configurationFile !== undefined) {
    return readConfigurationFile(options.configurationFile, registry)
  }
  if (options.configuration === undefined) return Effect.succeed(defaultConfiguration(registry))
  const r = decodeConfiguration(options.configuration, registry)
  return Result.isFailure(r)
    ? Effect.fail(new SchedulerConfigError({ message: r.failure.message }))
    : Effect.succeed(r.success)
}

const make = Effect.fnUntraced(function* (options: SchedulerOptions) {
  const registry = options.registry ?? defaultRegistry()
  // The configuration is checked before the source starts (a bad file fails fast).
  const configuration = yield* configure(options, registry)
  const source = yield* ClusterSource
  const core = yield* Effect.try({
    try: () =>
      new SchedulerCore({
        registry,
        configuration,
        seed: options.seed ?? 0,
        spreadSelectors: source.spreadSelectors,
      }),
    catch: (e) => new SchedulerConfigError({ message: e instanceof Error ? e.message : String(e) }),
  })
  const inputs = yield* Queue.unbounded<Input>()
  const idle = yield* Latch.make(true)
  /** Inputs offered but not yet processed, plus bindings in flight. */
  let pending = 0
  let eventCounter = 0
  const offer = (input: Input): void => {
    pending++
    Latch.closeUnsafe(idle)
    Queue.offerUnsafe(inputs, input)
  }

  const apply = (input: Input, now: number): Array<Command> => {
    switch (input.type) {
      case "PodAdded":
        return core.onPodAdd(input.pod, now)
      case "PodUpdated":
        return core.onPodUpdate(input.pod, now)
      case "PodDeleted":
        return core.onPodDelete(input.pod, now)
      case "NodeAdded":
        return core.onNodeAdd(input.node, now)
      case "NodeUpdated":
        return core.onNodeUpdate(input.node, now)
      case "NodeDeleted":
        return core.onNodeDelete(input.node.metadata.name ?? "", now)
      case "ServiceChanged":
        return core.onServiceChange(now)
      case "Tick":
        return core.tick(now)
      case "Bound":
        return core.bindingSucceeded(input.key, now)
      case "BindFailed":
        return core.bindingFailed(input.key, input.message, now)
    }
  }

  const toEvent = (c: Extract<Command, { kind: "event" }>, now: number): Event => ({
    apiVersion: "v1",
    kind: "Event",
    metadata: {
      name: `${c.pod.name}.${(++eventCounter).toString(16).padStart(16, "0")}`,
      namespace: c.pod.namespace,
    },
    involvedObject: {
      apiVersion: "v1",
      kind: "Pod",
      namespace: c.pod.namespace,
      name: c.pod.name,
      uid: c.pod.uid,
    },
    reason: c.reason,
    message: c.message,
    type: c.type,
    source: { component: c.component },
    firstTimestamp: rfc3339(now),
    lastTimestamp: rfc3339(now),
    count: 1,
    reportingComponent: c.component,
    reportingInstance: "",
  })

  const execute = (commands: ReadonlyArray<Command>, now: number) =>
    Effect.forEach(
      commands,
      (c) => {
        if (c.kind === "event") return source.recordEvent(toEvent(c, now))
        if (c.kind === "condition") {
          return source.updatePodCondition(c.pod, {
            ...c.condition,
            lastTransitionTime: rfc3339(now),
          })
        }
        const key = c.pod.key
        const ref = { namespace: c.pod.namespace, name: c.pod.name, uid: c.pod.uid }
        const binding =
          c.request.kind === "api"
            ? source.bind(ref, c.nodeName).pipe(Effect.mapError((e) => e.message))
            : c.request.run
        pending++
        return binding.pipe(
          Effect.exit,
          Effect.flatMap((exit) =>
            Effect.sync(() => {
              if (Exit.isSuccess(exit)) offer({ type: "Bound", key })
              else {
                const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
                offer({
                  type: "BindFailed",
                  key,
                  message: failure?._tag === "Fail" ? String(failure.error) : "binding interrupted",
                })
              }
              pending--
            }),
          ),
          Effect.forkDetach,
          Effect.asVoid,
        )
      },
      { discard: true },
    )

  /** Runs a core transition; a bug that throws is logged and the loop goes on. */
  const guarded = Effect.fnUntraced(function* (what: string, run: () => Array<Command>) {
    try {
      return run()
    } catch (e) {
      yield* Effect.logError(`scheduler: ${what} failed`, e)
      return []
    }
  })

  const step = Effect.fnUntraced(function* (input: Input) {
    const now = yield* Clock.currentTimeMillis
    const commands = yield* guarded(input.type, () => apply(input, now))
    pending--
    yield* execute(commands, now)
  })

  const loop = Effect.gen(function* () {
    for (;;) {
      yield* step(yield* Queue.take(inputs))
      for (;;) {
        // Apply every change that arrived before trying the next pod.
        let next = yield* Queue.poll(inputs)
        while (Option.isSome(next)) {
          yield* step(next.value)
          next = yield* Queue.poll(inputs)
        }
        if (!core.hasActivePods) break
        const now = yield* Clock.currentTimeMillis
        yield* execute(yield* guarded("scheduleOne", () => core.scheduleOne(now)), now)
        yield* Effect.yieldNow
      }
      if (pending === 0 && !core.hasActivePods) Latch.openUnsafe(idle)
    }
  })

  yield* source.addEventHandler(offer)
  yield* Effect.forkScoped(loop)
  const tickMs = options.tickMs ?? 1000
  yield* Effect.forkScoped(
    Effect.forever(
      Effect.sleep(tickMs).pipe(Effect.andThen(Effect.sync(() => offer({ type: "Tick" })))),
    ),
  )
  return Scheduler.of({ core, idle: Latch.await(idle) })
})
