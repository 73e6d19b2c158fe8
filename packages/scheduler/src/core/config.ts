/**
 * KubeSchedulerConfiguration: the configuration file in Kubernetes' shape,
 * decoded with Schema and then checked against the plugin registry. Every
 * problem is reported with its field path, e.g.
 * `profiles[0].plugins.score.enabled[1].weight: Expected an integer, got 1.5`.
 */
import { Result, Schema, SchemaIssue } from "effect"
import { DefaultSchedulerName } from "./compile.ts"
import {
  type BindPlugin,
  type FilterPlugin,
  type Handle,
  isBindPlugin,
  isFilterPlugin,
  isNormalizeScorePlugin,
  isPermitPlugin,
  isPostFilterPlugin,
  isPreFilterPlugin,
  isPreScorePlugin,
  isQueueSortPlugin,
  isReservePlugin,
  isScorePlugin,
  type PermitPlugin,
  type Plugin,
  type PostFilterPlugin,
  type PreFilterPlugin,
  type PreScorePlugin,
  type QueueSortPlugin,
  type ReservePlugin,
} from "./framework.ts"
import { DefaultBinderName } from "./plugins/default-binder.ts"
import { ImageLocalityName } from "./plugins/image-locality.ts"
import { InterPodAffinityName } from "./plugins/interpod-affinity.ts"
import { NodeAffinityName } from "./plugins/node-affinity.ts"
import { NodeNameName } from "./plugins/node-name.ts"
import { NodePortsName } from "./plugins/node-ports.ts"
import {
  NodeResourcesBalancedAllocationName,
  NodeResourcesFitName,
  NodeResourcesLeastAllocatedName,
} from "./plugins/node-resources.ts"
import { NodeUnschedulableName } from "./plugins/node-unschedulable.ts"
import { PrioritySortName } from "./plugins/priority-sort.ts"
import { DefaultPodTopologySpreadName } from "./plugins/selector-spread.ts"
import { TaintTolerationName } from "./plugins/taint-toleration.ts"
import { Profile, type WeightedScorePlugin } from "./profile.ts"
import type { Registry } from "./registry.ts"

const opt = Schema.optionalKey
const Int = Schema.Number.check(Schema.isInt({ message: "must be an integer" }))

const PluginRef = Schema.Struct({
  name: Schema.String.check(Schema.isNonEmpty({ message: "must not be empty" })),
  weight: opt(
    Int.check(Schema.isGreaterThanOrEqualTo(0, { message: "must be greater than or equal to 0" })),
  ),
})

const PluginSet = Schema.Struct({
  enabled: opt(Schema.Array(PluginRef)),
  disabled: opt(Schema.Array(PluginRef)),
})

/** The extension points a profile configures, in the order a cycle runs them. */
export const ExtensionPoints = [
  "queueSort",
  "preFilter",
  "filter",
  "postFilter",
  "preScore",
  "score",
  "reserve",
  "permit",
  "bind",
] as const
export type ExtensionPoint = (typeof ExtensionPoints)[number]

const Plugins = Schema.Struct({
  multiPoint: opt(PluginSet),
  queueSort: opt(PluginSet),
  preFilter: opt(PluginSet),
  filter: opt(PluginSet),
  postFilter: opt(PluginSet),
  preScore: opt(PluginSet),
  score: opt(PluginSet),
  reserve: opt(PluginSet),
  permit: opt(PluginSet),
  preBind: opt(PluginSet),
  bind: opt(PluginSet),
  postBind: opt(PluginSet),
})

const PluginConfig = Schema.Struct({
  name: Schema.String.check(Schema.isNonEmpty({ message: "must not be empty" })),
  args: opt(Schema.Unknown),
})

const ProfileSchema = Schema.Struct({
  schedulerName: opt(Schema.String.check(Schema.isNonEmpty({ message: "must not be empty" }))),
  plugins: opt(Plugins),
  pluginConfig: opt(Schema.Array(PluginConfig)),
})

/** The accepted group versions (the shape is the same for what Flotilla reads). */
export const ConfigApiVersions = [
  "kubescheduler.config.k8s.io/v1alpha2",
  "kubescheduler.config.k8s.io/v1beta1",
  "kubescheduler.config.k8s.io/v1beta2",
  "kubescheduler.config.k8s.io/v1beta3",
  "kubescheduler.config.k8s.io/v1",
] as const

export const KubeSchedulerConfiguration = Schema.Struct({
  apiVersion: Schema.Literals(ConfigApiVersions),
  kind: Schema.Literal("KubeSchedulerConfiguration"),
  percentageOfNodesToScore: opt(
    Int.check(
      Schema.isBetween({ minimum: 0, maximum: 100 }, { message: "not in valid range [0-100]" }),
    ),
  ),
  podInitialBackoffSeconds: opt(
    Int.check(Schema.isGreaterThan(0, { message: "must be greater than 0" })),
  ),
  podMaxBackoffSeconds: opt(
    Int.check(Schema.isGreaterThan(0, { message: "must be greater than 0" })),
  ),
  profiles: opt(Schema.Array(ProfileSchema)),
  // Accepted for compatibility with Kubernetes files; Flotilla does not use them.
  parallelism: opt(Int),
  leaderElection: opt(Schema.Unknown),
  clientConnection: opt(Schema.Unknown),
  healthzBindAddress: opt(Schema.String),
  metricsBindAddress: opt(Schema.String),
  enableProfiling: opt(Schema.Boolean),
  enableContentionProfiling: opt(Schema.Boolean),
  extenders: opt(Schema.Array(Schema.Unknown)),
})
export type KubeSchedulerConfiguration = typeof KubeSchedulerConfiguration.Type

export interface ConfigIssue {
  /** Field path such as `profiles[0].plugins.score.enabled[1].weight` ("" for the root). */
  readonly path: string
  readonly message: string
  /** 1-based line in the configuration file, when the configuration came from one. */
  readonly line?: number
}

/** One issue as a line of text: `line 7: profiles[0].schedulerName: must not be empty`. */
export const formatConfigIssue = (i: ConfigIssue): string =>
  `${i.line === undefined ? "" : `line ${i.line}: `}${i.path === "" ? "" : `${i.path}: `}${i.message}`

export class ConfigError extends Error {
  override readonly name = "ConfigError"
  readonly issues: ReadonlyArray<ConfigIssue>

  constructor(issues: ReadonlyArray<ConfigIssue>) {
    super(issues.map(formatConfigIssue).join("\n"))
    this.issues = issues
  }
}

const formatPath = (path: ReadonlyArray<PropertyKey>, prefix = ""): string => {
  let out = prefix
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`
    else out += out === "" ? String(k) : `.${String(k)}`
  }
  return out
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const schemaIssues = (issue: SchemaIssue.Issue, prefix = ""): Array<ConfigIssue> =>
  formatter(issue).issues.map((i) => {
    const path = (i.path ?? []) as ReadonlyArray<PropertyKey>
    // Worded like Kubernetes' strict decoding.
    const message =
      i.message === "Expected no excess property"
        ? `unknown field "${String(path[path.length - 1])}"`
        : i.message
    return { path: formatPath(path, prefix), message }
  })

/** A plugin enabled at one extension point, with its score weight. */
export interface EnabledPlugin {
  readonly name: string
  readonly weight: number
}

/** A validated profile: plugin names per extension point and decoded args. */
export interface ProfileSpec {
  /** Position in `profiles`, for error paths. */
  readonly index: number
  readonly schedulerName: string
  readonly plugins: Readonly<Record<ExtensionPoint, ReadonlyArray<EnabledPlugin>>>
  /** Plugins enabled at every extension point they implement (`plugins.multiPoint`). */
  readonly multiPoint: ReadonlyArray<EnabledPlugin>
  /** Names disabled explicitly per extension point (companion points respect them). */
  readonly disabled: Readonly<Record<ExtensionPoint, ReadonlySet<string>>>
  /** Canonical plugin name -> decoded args. */
  readonly args: ReadonlyMap<string, unknown>
}

export interface SchedulerConfiguration {
  readonly percentageOfNodesToScore: number
  readonly podInitialBackoffMs: number
  readonly podMaxBackoffMs: number
  readonly profiles: ReadonlyArray<ProfileSpec>
}

const on = (name: string, weight = 1): EnabledPlugin => ({ name, weight })

/**
 * The default plugins of every profile: Kubernetes v1.18's defaults restricted
 * to the plugins Flotilla has (no volume plugins), all score weights 1.
 */
export const defaultPlugins: Readonly<Record<ExtensionPoint, ReadonlyArray<EnabledPlugin>>> = {
  queueSort: [on(PrioritySortName)],
  // NodeResourcesFit and NodePorts compute their PreFilter state (the pod's
  // request and host ports) once when the pod is compiled, so only
  // InterPodAffinity has a PreFilter.
  preFilter: [on(InterPodAffinityName)],
  filter: [
    on(NodeUnschedulableName),
    on(NodeResourcesFitName),
    on(NodeNameName),
    on(NodePortsName),
    on(NodeAffinityName),
    on(TaintTolerationName),
    on(InterPodAffinityName),
  ],
  postFilter: [],
  preScore: [on(InterPodAffinityName), on(DefaultPodTopologySpreadName), on(TaintTolerationName)],
  score: [
    on(NodeResourcesBalancedAllocationName),
    on(ImageLocalityName),
    on(InterPodAffinityName),
    on(NodeResourcesLeastAllocatedName),
    on(NodeAffinityName),
    on(DefaultPodTopologySpreadName),
    on(TaintTolerationName),
  ],
  reserve: [],
  permit: [],
  bind: [on(DefaultBinderName)],
}

type PluginSetConfig = typeof PluginSet.Type

const implementsPoint = (p: Plugin, point: ExtensionPoint): boolean => {
  switch (point) {
    case "queueSort":
      return isQueueSortPlugin(p)
    case "preFilter":
      return isPreFilterPlugin(p)
    case "filter":
      return isFilterPlugin(p)
    case "postFilter":
      return isPostFilterPlugin(p)
    case "preScore":
      return isPreScorePlugin(p)
    case "score":
      return isScorePlugin(p)
    case "reserve":
      return isReservePlugin(p)
    case "permit":
      return isPermitPlugin(p)
    case "bind":
      return isBindPlugin(p)
  }
}

/**
 * Decodes and checks a configuration against the registry: unknown plugins,
 * plugins that do not implement the extension point they are enabled at, bad
 * plugin args, duplicate scheduler names and inconsistent backoffs are all
 * reported together.
 */
export const decodeConfiguration = (
  input: unknown,
  registry: Registry,
): Result.Result<SchedulerConfiguration, ConfigError> => {
  const decoded = Schema.decodeUnknownResult(KubeSchedulerConfiguration)(input, {
    errors: "all",
    onExcessProperty: "error",
  })
  if (Result.isFailure(decoded))
    return Result.fail(new ConfigError(schemaIssues(decoded.failure.issue)))
  const cfg = decoded.success
  const issues: Array<ConfigIssue> = []
  const initial = cfg.podInitialBackoffSeconds ?? 1
  const max = cfg.podMaxBackoffSeconds ?? 10
  if (max < initial) {
    issues.push({
      path: "podMaxBackoffSeconds",
      message: `Invalid value: ${max}: must be greater than or equal to podInitialBackoffSeconds`,
    })
  }
  const rawProfiles = cfg.profiles ?? [{}]
  if (rawProfiles.length === 0) issues.push({ path: "profiles", message: "Required value" })
  const names = new Set<string>()
  const profiles: Array<ProfileSpec> = []
  rawProfiles.forEach((p, i) => {
    const schedulerName = p.schedulerName ?? DefaultSchedulerName
    if (names.has(schedulerName)) {
      issues.push({
        path: `profiles[${i}].schedulerName`,
        message: `Duplicate value: "${schedulerName}"`,
      })
    }
    names.add(schedulerName)
    profiles.push(resolveProfile(p, i, schedulerName, registry, issues))
  })
  if (issues.length > 0) return Result.fail(new ConfigError(issues))
  return Result.succeed({
    percentageOfNodesToScore: cfg.percentageOfNodesToScore ?? 0,
    podInitialBackoffMs: initial * 1000,
    podMaxBackoffMs: max * 1000,
    profiles,
  })
}

/**
 * Decodes a configuration file's JSON text (`parseConfiguration` in
 * `config-file.ts` reads YAML or JSON and reports lines).
 */
export const parseConfigurationJson = (
  text: string,
  registry: Registry,
): Result.Result<SchedulerConfiguration, ConfigError> => {
  let input: unknown
  try {
    input = JSON.parse(text)
  } catch (e) {
    return Result.fail(
      new ConfigError([
        { path: "", message: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` },
      ]),
    )
  }
  return decodeConfiguration(input, registry)
}

/** The configuration with no file: one `default-scheduler` profile with the default plugins. */
export const defaultConfiguration = (registry: Registry): SchedulerConfiguration => {
  const r = decodeConfiguration(
    { apiVersion: "kubescheduler.config.k8s.io/v1beta1", kind: "KubeSchedulerConfiguration" },
    registry,
  )
  if (Result.isFailure(r)) throw r.failure
  return r.success
}

const resolveProfile = (
  p: typeof ProfileSchema.Type,
  i: number,
  schedulerName: string,
  registry: Registry,
  issues: Array<ConfigIssue>,
): ProfileSpec => {
  const base = `profiles[${i}]`
  // Resolve a configured name (or alias) to canonical names, reporting unknown ones.
  const resolve = (name: string, path: string, point: string): ReadonlyArray<string> => {
    if (name === "*") return ["*"]
    const r = registry.resolve(name)
    if (r === undefined) {
      issues.push({ path, message: `${point} plugin "${name}" does not exist` })
      return []
    }
    return r
  }
  const sets: Partial<Record<ExtensionPoint | "multiPoint", PluginSetConfig>> = p.plugins ?? {}
  const resolveSet = (point: ExtensionPoint | "multiPoint") => {
    const set = sets[point]
    const enabled: Array<EnabledPlugin> = []
    const disabled = new Set<string>()
    set?.enabled?.forEach((ref, j) => {
      for (const name of resolve(ref.name, `${base}.plugins.${point}.enabled[${j}].name`, point)) {
        if (name === "*") {
          issues.push({
            path: `${base}.plugins.${point}.enabled[${j}].name`,
            message: `"*" can only be disabled`,
          })
          continue
        }
        enabled.push({
          name,
          weight: ref.weight === undefined || ref.weight === 0 ? 1 : ref.weight,
        })
      }
    })
    set?.disabled?.forEach((ref, j) => {
      for (const name of resolve(ref.name, `${base}.plugins.${point}.disabled[${j}].name`, point))
        disabled.add(name)
    })
    return { enabled, disabled }
  }
  const multi = resolveSet("multiPoint")
  const plugins = {} as Record<ExtensionPoint, ReadonlyArray<EnabledPlugin>>
  const explicitlyDisabled = {} as Record<ExtensionPoint, ReadonlySet<string>>
  for (const point of ExtensionPoints) {
    const custom = resolveSet(point)
    explicitlyDisabled[point] = custom.disabled
    plugins[point] = mergePluginSets(defaultPlugins[point], custom.enabled, custom.disabled)
  }
  // Decode args before instantiating anything, so every problem is reported.
  const args = new Map<string, unknown>()
  const seenConfig = new Set<string>()
  p.pluginConfig?.forEach((c, j) => {
    const path = `${base}.pluginConfig[${j}]`
    const resolved = registry.resolve(c.name)
    if (resolved === undefined || resolved.length !== 1) {
      issues.push({ path: `${path}.name`, message: `plugin "${c.name}" does not exist` })
      return
    }
    const name = resolved[0]!
    if (seenConfig.has(name)) {
      issues.push({ path: `${path}.name`, message: `Duplicate value: "${c.name}"` })
      return
    }
    seenConfig.add(name)
    const reg = registry.get(name)!
    if (c.args === undefined) return
    if (reg.args === undefined) {
      issues.push({ path: `${path}.args`, message: `plugin "${c.name}" takes no args` })
      return
    }
    const r = Schema.decodeUnknownResult(reg.args)(c.args, {
      errors: "all",
      onExcessProperty: "error",
    })
    if (Result.isFailure(r)) issues.push(...schemaIssues(r.failure.issue, `${path}.args`))
    else args.set(name, r.success)
  })
  // multiPoint plugins are placed once instances exist (see instantiateProfile).
  const multiPoint = multi.enabled.filter((e) => !multi.disabled.has(e.name))
  return { index: i, schedulerName, plugins, multiPoint, disabled: explicitlyDisabled, args }
}

/**
 * Kubernetes' `mergePluginSets`: the defaults minus the disabled ones ("*"
 * disables every default), a re-enabled default keeps its place with the new
 * weight, and the other enabled plugins follow in their configured order.
 */
export const mergePluginSets = (
  defaults: ReadonlyArray<EnabledPlugin>,
  enabled: ReadonlyArray<EnabledPlugin>,
  disabled: ReadonlySet<string>,
): Array<EnabledPlugin> => {
  const custom = new Map<string, { index: number; plugin: EnabledPlugin }>()
  for (const [index, plugin] of enabled.entries()) custom.set(plugin.name, { index, plugin })
  const replaced = new Set<number>()
  const out: Array<EnabledPlugin> = []
  if (!disabled.has("*")) {
    for (const d of defaults) {
      if (disabled.has(d.name)) continue
      const c = custom.get(d.name)
      if (c !== undefined) {
        replaced.add(c.index)
        out.push(c.plugin)
      } else out.push(d)
    }
  }
  enabled.forEach((plugin, index) => {
    if (!replaced.has(index) && !out.some((o) => o.name === plugin.name)) out.push(plugin)
  })
  return out
}

/**
 * Builds the plugins of a profile. One instance per plugin is shared by all
 * the extension points it is enabled at. A plugin enabled at Filter also runs
 * its PreFilter, and one enabled at Score its PreScore, unless that point
 * disables it explicitly: Filter and Score read what those computed.
 * Throws ConfigError when a plugin does not implement a point it is enabled at.
 */
export const instantiateProfile = (
  spec: ProfileSpec,
  registry: Registry,
  handle: Handle,
): Profile => {
  const instances = new Map<string, Plugin>()
  const instance = (name: string): Plugin => {
    let p = instances.get(name)
    if (p === undefined) {
      const reg = registry.get(name)
      if (reg === undefined)
        throw new ConfigError([{ path: "", message: `plugin "${name}" does not exist` }])
      p = reg.factory(spec.args.get(name) ?? reg.defaultArgs ?? {}, handle)
      instances.set(name, p)
    }
    return p
  }
  const issues: Array<ConfigIssue> = []
  const lists = {} as Record<ExtensionPoint, Array<EnabledPlugin>>
  for (const point of ExtensionPoints) lists[point] = [...spec.plugins[point]]
  for (const e of spec.multiPoint) {
    const p = instance(e.name)
    for (const point of ExtensionPoints) {
      const present = lists[point].some((x) => x.name === e.name)
      if (implementsPoint(p, point) && !present && !spec.disabled[point].has(e.name))
        lists[point].push(e)
    }
  }
  const companion = (from: ExtensionPoint, to: ExtensionPoint): void => {
    for (const e of lists[from]) {
      const p = instance(e.name)
      const present = lists[to].some((x) => x.name === e.name)
      if (implementsPoint(p, to) && !present && !spec.disabled[to].has(e.name)) lists[to].push(e)
    }
  }
  companion("filter", "preFilter")
  companion("score", "preScore")
  for (const point of ExtensionPoints) {
    for (const e of lists[point]) {
      if (!implementsPoint(instance(e.name), point)) {
        issues.push({
          path: `profiles[${spec.index}].plugins.${point}`,
          message: `plugin "${e.name}" does not extend ${point} plugin`,
        })
      }
    }
  }
  if (lists.queueSort.length !== 1) {
    issues.push({
      path: `profiles[${spec.index}].plugins.queueSort`,
      message:
        lists.queueSort.length === 0
          ? "no queue sort plugin is enabled"
          : "only one queue sort plugin can be enabled",
    })
  }
  if (lists.bind.length === 0) {
    issues.push({
      path: `profiles[${spec.index}].plugins.bind`,
      message: "at least one bind plugin is needed",
    })
  }
  if (issues.length > 0) throw new ConfigError(issues)
  const get = <T extends Plugin>(point: ExtensionPoint): Array<T> =>
    lists[point].map((e) => instance(e.name) as T)
  const score: Array<WeightedScorePlugin> = lists.score.map((e) => {
    const p = instance(e.name)
    return {
      plugin: p as WeightedScorePlugin["plugin"],
      weight: e.weight,
      normalize: isNormalizeScorePlugin(p) ? p : undefined,
    }
  })
  return new Profile(spec.schedulerName, {
    queueSort: get<QueueSortPlugin>("queueSort")[0]!,
    preFilter: get<PreFilterPlugin>("preFilter"),
    filter: get<FilterPlugin>("filter"),
    postFilter: get<PostFilterPlugin>("postFilter"),
    preScore: get<PreScorePlugin>("preScore"),
    score,
    reserve: get<ReservePlugin>("reserve"),
    permit: get<PermitPlugin>("permit"),
    bind: get<BindPlugin>("bind"),
  })
}
