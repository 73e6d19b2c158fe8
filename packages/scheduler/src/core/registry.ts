import { Schema } from "effect"
import type { Handle, Plugin } from "./framework.ts"
import { DefaultBinder, DefaultBinderName } from "./plugins/default-binder.ts"
import { ImageLocality, ImageLocalityName } from "./plugins/image-locality.ts"
import { InterPodAffinity, InterPodAffinityName } from "./plugins/interpod-affinity.ts"
import { NodeAffinity, NodeAffinityName } from "./plugins/node-affinity.ts"
import {
  NodeCondition,
  NodeConditionName,
  NodeDiskPressure,
  NodeDiskPressureName,
  NodeMemoryPressure,
  NodeMemoryPressureName,
  NodePIDPressure,
  NodePIDPressureName,
} from "./plugins/node-conditions.ts"
import { NodeName, NodeNameName } from "./plugins/node-name.ts"
import { NodePorts, NodePortsName } from "./plugins/node-ports.ts"
import {
  defaultResourceSpecs,
  NodeResourcesBalancedAllocation,
  NodeResourcesBalancedAllocationName,
  NodeResourcesFit,
  NodeResourcesFitName,
  NodeResourcesLeastAllocated,
  NodeResourcesLeastAllocatedName,
  NodeResourcesMostAllocated,
  NodeResourcesMostAllocatedName,
} from "./plugins/node-resources.ts"
import { NodeUnschedulable, NodeUnschedulableName } from "./plugins/node-unschedulable.ts"
import { PrioritySort, PrioritySortName } from "./plugins/priority-sort.ts"
import {
  DefaultPodTopologySpread,
  DefaultPodTopologySpreadName,
} from "./plugins/selector-spread.ts"
import { TaintToleration, TaintTolerationName } from "./plugins/taint-toleration.ts"

/**
 * How to build one plugin: its name, the older names it answers to, a Schema
 * for its `pluginConfig[].args` with defaults, and a factory.
 */
export interface PluginRegistration<A = unknown> {
  readonly name: string
  /** Legacy predicate/priority names (and later renames) accepted in configuration. */
  readonly aliases?: ReadonlyArray<string>
  /** Decodes `args` from configuration (a JSON object); absent when the plugin takes none. */
  readonly args?: Schema.Codec<A, unknown>
  /** The args used when the configuration gives none. */
  readonly defaultArgs?: NoInfer<A>
  readonly factory: (args: A, handle: Handle) => Plugin
}

/** `define` keeps the args type of a registration checked against its Schema. */
export const define = <A>(r: PluginRegistration<A>): PluginRegistration<unknown> =>
  r as unknown as PluginRegistration<unknown>

export class RegistryError extends Error {
  override readonly name = "RegistryError"
}

/**
 * The plugin registry (Kubernetes' `framework.Registry`): factories by name.
 * A name or alias can be registered once; a second registration is refused.
 */
export class Registry {
  private readonly byName = new Map<string, PluginRegistration<unknown>>()
  /** Alias -> canonical names (an alias such as GeneralPredicates stands for several). */
  private readonly aliases = new Map<string, ReadonlyArray<string>>()

  register(r: PluginRegistration<unknown>): this {
    this.claim(r.name)
    for (const a of r.aliases ?? []) this.claim(a)
    this.byName.set(r.name, r)
    for (const a of r.aliases ?? []) this.aliases.set(a, [r.name])
    return this
  }

  /** A legacy name that stands for several plugins (GeneralPredicates). */
  registerAlias(alias: string, names: ReadonlyArray<string>): this {
    this.claim(alias)
    for (const n of names)
      if (!this.byName.has(n)) throw new RegistryError(`alias ${alias} names unknown plugin ${n}`)
    this.aliases.set(alias, names)
    return this
  }

  has(name: string): boolean {
    return this.byName.has(name) || this.aliases.has(name)
  }

  /** Canonical plugin names for a name or alias; undefined when unknown. */
  resolve(name: string): ReadonlyArray<string> | undefined {
    if (this.byName.has(name)) return [name]
    return this.aliases.get(name)
  }

  get(name: string): PluginRegistration<unknown> | undefined {
    return this.byName.get(name)
  }

  names(): Array<string> {
    return [...this.byName.keys()]
  }

  /** A copy, so a caller can add custom plugins without touching the shared default. */
  clone(): Registry {
    const r = new Registry()
    for (const [k, v] of this.byName) r.byName.set(k, v)
    for (const [k, v] of this.aliases) r.aliases.set(k, v)
    return r
  }

  private claim(name: string): void {
    if (this.byName.has(name) || this.aliases.has(name)) {
      throw new RegistryError(`a plugin named ${name} already exists`)
    }
  }
}

const Int = Schema.Number.check(Schema.isInt())

export const InterPodAffinityArgsSchema = Schema.Struct({
  hardPodAffinityWeight: Schema.optionalKey(
    Int.check(
      Schema.isBetween({ minimum: 0, maximum: 100 }, { message: "not in valid range [0-100]" }),
    ),
  ),
})

export const NodeResourcesFitArgsSchema = Schema.Struct({
  ignoredResources: Schema.optionalKey(Schema.Array(Schema.String)),
})

const ResourceSpec = Schema.Struct({
  name: Schema.String.check(Schema.isNonEmpty({ message: "resource name must not be empty" })),
  weight: Int.check(
    Schema.isBetween(
      { minimum: 1, maximum: 100 },
      { message: "resource weight should be in range 1-100" },
    ),
  ),
})

export const NodeResourcesAllocatedArgsSchema = Schema.Struct({
  resources: Schema.optionalKey(Schema.Array(ResourceSpec)),
})

/** The in-tree plugins with their Kubernetes names and the legacy predicate/priority names. */
export const inTreeRegistrations: ReadonlyArray<PluginRegistration<unknown>> = [
  define({ name: PrioritySortName, factory: () => new PrioritySort() }),
  define({
    name: NodeNameName,
    aliases: ["HostName", "PodFitsHost"],
    factory: () => new NodeName(),
  }),
  define({
    name: NodeUnschedulableName,
    aliases: ["CheckNodeUnschedulable"],
    factory: () => new NodeUnschedulable(),
  }),
  define({
    name: NodeAffinityName,
    aliases: ["MatchNodeSelector", "PodMatchNodeSelector", "NodeAffinityPriority"],
    factory: () => new NodeAffinity(),
  }),
  define({
    name: NodePortsName,
    // PodFitsHostPort: the singular spelling the seed's slides use.
    aliases: ["PodFitsHostPorts", "PodFitsHostPort", "PodFitsPorts"],
    factory: () => new NodePorts(),
  }),
  define({
    name: NodeResourcesFitName,
    aliases: ["PodFitsResources"],
    args: NodeResourcesFitArgsSchema,
    defaultArgs: {},
    factory: (a) => new NodeResourcesFit({ ignoredResources: a.ignoredResources ?? [] }),
  }),
  define({
    name: NodeResourcesLeastAllocatedName,
    aliases: ["LeastRequestedPriority"],
    args: NodeResourcesAllocatedArgsSchema,
    defaultArgs: {},
    factory: (a) =>
      new NodeResourcesLeastAllocated({ resources: a.resources ?? defaultResourceSpecs }),
  }),
  define({
    name: NodeResourcesMostAllocatedName,
    aliases: ["MostRequestedPriority"],
    args: NodeResourcesAllocatedArgsSchema,
    defaultArgs: {},
    factory: (a) =>
      new NodeResourcesMostAllocated({ resources: a.resources ?? defaultResourceSpecs }),
  }),
  define({
    name: NodeResourcesBalancedAllocationName,
    aliases: ["BalancedResourceAllocation"],
    factory: () => new NodeResourcesBalancedAllocation(),
  }),
  define({
    name: TaintTolerationName,
    aliases: ["PodToleratesNodeTaints", "TaintTolerationPriority"],
    factory: () => new TaintToleration(),
  }),
  define({
    name: InterPodAffinityName,
    aliases: ["MatchInterPodAffinity", "InterPodAffinityMatches", "InterPodAffinityPriority"],
    args: InterPodAffinityArgsSchema,
    defaultArgs: {},
    factory: (a, h) =>
      new InterPodAffinity(h, { hardPodAffinityWeight: a.hardPodAffinityWeight ?? 1 }),
  }),
  define({
    name: DefaultPodTopologySpreadName,
    aliases: ["SelectorSpread", "SelectorSpreadPriority"],
    factory: (_a, h) => new DefaultPodTopologySpread(h),
  }),
  define({
    name: ImageLocalityName,
    aliases: ["ImageLocalityPriority"],
    factory: (_a, h) => new ImageLocality(() => h.snapshot.numNodes),
  }),
  define({
    name: NodeConditionName,
    aliases: ["CheckNodeCondition"],
    factory: () => new NodeCondition(),
  }),
  define({
    name: NodeMemoryPressureName,
    aliases: ["CheckNodeMemoryPressure"],
    factory: () => new NodeMemoryPressure(),
  }),
  define({
    name: NodeDiskPressureName,
    aliases: ["CheckNodeDiskPressure"],
    factory: () => new NodeDiskPressure(),
  }),
  define({
    name: NodePIDPressureName,
    aliases: ["CheckNodePIDPressure"],
    factory: () => new NodePIDPressure(),
  }),
  define({ name: DefaultBinderName, factory: () => new DefaultBinder() }),
]

/** A fresh registry with every in-tree plugin and the GeneralPredicates alias. */
export const defaultRegistry = (): Registry => {
  const r = new Registry()
  for (const reg of inTreeRegistrations) r.register(reg)
  r.registerAlias("GeneralPredicates", [
    NodeResourcesFitName,
    NodeNameName,
    NodePortsName,
    NodeAffinityName,
  ])
  return r
}
