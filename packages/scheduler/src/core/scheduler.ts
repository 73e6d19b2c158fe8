/**
 * The scheduler as a pure state machine: informer events, time (`now`, in
 * milliseconds of the caller's clock) and binding results go in; commands
 * (bind this pod to that node, record this event) come out. The Effect shell
 * feeds it and carries the commands out; tests and the model checker drive it
 * directly.
 */
import type { Node, Pod } from "@flotilla/api"
import { GenericScheduler, ScheduleError } from "./algorithm.ts"
import { Cache } from "./cache.ts"
import {
  CompileError,
  compileNode,
  compilePod,
  DefaultSchedulerName,
  type PodView,
} from "./compile.ts"
import { ConfigError, instantiateProfile, type SchedulerConfiguration } from "./config.ts"
import { FitError } from "./fit-error.ts"
import {
  type BindRequest,
  CycleState,
  type Handle,
  type SpreadSelectorSource,
} from "./framework.ts"
import { everything } from "./labels.ts"
import { podMatchesTerm } from "./plugins/interpod-affinity.ts"
import type { Profile } from "./profile.ts"
import { type QueuedPodInfo, SchedulingQueue } from "./queue.ts"
import type { Registry } from "./registry.ts"
import { Rng } from "./rng.ts"
import { Code, type Status } from "./status.ts"
import type { NodeFacts, PodInfo } from "./types.ts"

/** The pod a command is about. */
export interface PodRef {
  readonly namespace: string
  readonly name: string
  readonly uid: string
}

export type Command =
  | {
      readonly kind: "bind"
      readonly pod: PodInfo
      readonly nodeName: string
      /** The Bind plugin that claimed the binding. */
      readonly binder: string
      readonly request: BindRequest
    }
  | {
      readonly kind: "event"
      readonly type: "Normal" | "Warning"
      readonly reason: "Scheduled" | "FailedScheduling"
      readonly message: string
      readonly pod: PodRef
      /** The profile's scheduler name, the Event's `source.component` (as each Kubernetes profile has its own recorder). */
      readonly component: string
    }
  | {
      /** The pod's PodScheduled condition (False with Unschedulable or SchedulerError when a cycle fails). */
      readonly kind: "condition"
      readonly pod: PodRef
      readonly condition: {
        readonly type: "PodScheduled"
        readonly status: "False"
        readonly reason: "Unschedulable" | "SchedulerError"
        readonly message: string
      }
    }

/** A pod view with the status phase, which decides whether an assigned pod still counts. */
export interface SchedulablePodView extends PodView {
  readonly status?: { readonly phase?: string | undefined } | undefined
}

export interface SchedulerCoreOptions {
  readonly registry: Registry
  readonly configuration: SchedulerConfiguration
  /** Seed for tie-breaking among equally good nodes. */
  readonly seed: number
  readonly spreadSelectors?: SpreadSelectorSource
  readonly assumedPodTtlMs?: number
}

interface InFlight {
  readonly info: QueuedPodInfo<PodInfo>
  readonly cycle: number
  readonly profile: Profile
  readonly state: CycleState
  readonly pod: PodInfo
  readonly nodeName: string
  deleted: boolean
}

interface Waiting extends InFlight {
  /** Permit plugins that still have to allow the pod. */
  readonly pending: Set<string>
  readonly deadline: number
}

const noSpread: SpreadSelectorSource = { selectorFor: () => everything }

const refOf = (pod: PodView): PodRef => ({
  namespace: pod.metadata.namespace ?? "default",
  name: pod.metadata.name ?? "",
  uid: pod.metadata.uid ?? "",
})

const isTerminated = (pod: SchedulablePodView): boolean =>
  pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed"

/** A pending pod being deleted is never scheduled (the API server would refuse its binding). */
const isDeleting = (pod: PodView): boolean => pod.metadata.deletionTimestamp !== undefined

const sameLabels = (
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean => {
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  for (const k of ka) if (a[k] !== b[k]) return false
  return true
}

/** Kubernetes' `nodeSchedulingPropertiesChange`: could this node update make a pending pod fit? */
export const nodeSchedulingPropertiesChanged = (old: NodeFacts, now: NodeFacts): boolean => {
  if (old.unschedulable && !now.unschedulable) return true
  const a = old.allocatable
  const b = now.allocatable
  if (
    a.milliCPU !== b.milliCPU ||
    a.memory !== b.memory ||
    a.ephemeralStorage !== b.ephemeralStorage ||
    a.allowedPodNumber !== b.allowedPodNumber ||
    JSON.stringify([...(a.scalar ?? [])]) !== JSON.stringify([...(b.scalar ?? [])])
  ) {
    return true
  }
  if (!sameLabels(old.labels, now.labels)) return true
  if (JSON.stringify(old.taints) !== JSON.stringify(now.taints)) return true
  const conds = (f: NodeFacts) => JSON.stringify(f.conditions.map((c) => [c.type, c.status]))
  return conds(old) !== conds(now)
}

export class SchedulerCore {
  readonly cache: Cache
  readonly queue: SchedulingQueue<PodInfo>
  readonly profiles = new Map<string, Profile>()
  readonly algorithm: GenericScheduler
  private readonly inFlight = new Map<string, InFlight>()
  private readonly waiting = new Map<string, Waiting>()
  /** Node facts by name, to tell relevant node updates from heartbeats. */
  private readonly nodeFacts = new Map<string, NodeFacts>()
  /** Pending pods as last seen, to tell spec changes from status updates. */
  private readonly pendingPods = new Map<string, SchedulablePodView>()

  constructor(options: SchedulerCoreOptions) {
    const cfg = options.configuration
    this.cache = new Cache(
      options.assumedPodTtlMs === undefined ? {} : { assumedPodTtlMs: options.assumedPodTtlMs },
    )
    const handle: Handle = {
      snapshot: this.cache,
      spreadSelectors: options.spreadSelectors ?? noSpread,
    }
    for (const spec of cfg.profiles) {
      this.profiles.set(spec.schedulerName, instantiateProfile(spec, options.registry, handle))
    }
    const first = this.profiles.values().next().value as Profile
    // One queue serves every profile, so they must sort it the same way (as Kubernetes requires).
    for (const p of this.profiles.values()) {
      if (p.queueSort.name !== first.queueSort.name) {
        throw new ConfigError([
          {
            path: "profiles",
            message: `different queue sort plugins for profile "${p.schedulerName}": "${p.queueSort.name}", first: "${first.queueSort.name}"`,
          },
        ])
      }
    }
    this.queue = new SchedulingQueue<PodInfo>({
      less: (a, b) => first.queueSort.less(a, b),
      initialBackoffMs: cfg.podInitialBackoffMs,
      maxBackoffMs: cfg.podMaxBackoffMs,
    })
    this.algorithm = new GenericScheduler(
      this.cache,
      new Rng(options.seed),
      cfg.percentageOfNodesToScore,
    )
  }

  /** True when a pod is ready to be tried now. */
  get hasActivePods(): boolean {
    return this.queue.activeCount > 0
  }

  /** Pods waiting for a Permit plugin or for their binding to finish. */
  get podsInFlight(): number {
    return this.inFlight.size + this.waiting.size
  }

  responsibleFor(pod: PodView): boolean {
    return this.profiles.has(pod.spec.schedulerName ?? "default-scheduler")
  }

  // --- informer events ----------------------------------------------------

  onNodeAdd(node: Node, now: number): Array<Command> {
    const facts = compileNode(node)
    this.nodeFacts.set(facts.name, facts)
    this.cache.addNode(facts)
    this.queue.moveAllToActiveOrBackoffQueue("NodeAdd", now)
    return []
  }

  onNodeUpdate(node: Node, now: number): Array<Command> {
    const facts = compileNode(node)
    const old = this.nodeFacts.get(facts.name)
    this.nodeFacts.set(facts.name, facts)
    this.cache.updateNode(facts)
    if (old === undefined || nodeSchedulingPropertiesChanged(old, facts)) {
      this.queue.moveAllToActiveOrBackoffQueue("NodeLabelChange", now)
    }
    return []
  }

  onNodeDelete(name: string, _now: number): Array<Command> {
    this.nodeFacts.delete(name)
    this.cache.removeNode(name)
    return []
  }

  onPodAdd(pod: Pod, now: number): Array<Command> {
    const assigned = (pod.spec.nodeName ?? "") !== ""
    if (assigned) {
      if (isTerminated(pod)) return []
      const info = this.compileOrReport(pod)
      if (Array.isArray(info)) return []
      this.cache.addPod(info)
      this.queue.assignedPodAdded(info, (pending, a) => pendingAffinityMatches(pending, a), now)
      return []
    }
    if (!this.responsibleFor(pod) || isTerminated(pod) || isDeleting(pod)) return []
    const info = this.compileOrReport(pod)
    if (Array.isArray(info)) return info
    this.pendingPods.set(info.key, pod)
    this.queue.add(info, now)
    return []
  }

  onPodUpdate(pod: Pod, now: number): Array<Command> {
    const assigned = (pod.spec.nodeName ?? "") !== ""
    const key = `${pod.metadata.namespace ?? "default"}/${pod.metadata.name ?? ""}`
    if (assigned) {
      this.pendingPods.delete(key)
      this.queue.delete(key)
      if (isTerminated(pod)) {
        this.removeAssigned(key, now)
        return []
      }
      const info = this.compileOrReport(pod)
      if (Array.isArray(info)) return []
      const existing = this.cache.getPod(key)
      if (existing === undefined) this.cache.addPod(info)
      else this.cache.updatePod(existing, info)
      this.queue.assignedPodAdded(info, (pending, a) => pendingAffinityMatches(pending, a), now)
      return []
    }
    // An assumed pod's own updates (status) are ignored until it is bound.
    if (this.cache.isAssumed(key) || this.inFlight.has(key) || this.waiting.has(key)) return []
    if (!this.responsibleFor(pod) || isTerminated(pod) || isDeleting(pod)) {
      this.pendingPods.delete(key)
      this.queue.delete(key)
      return []
    }
    const info = this.compileOrReport(pod)
    if (Array.isArray(info)) return info
    const old = this.pendingPods.get(key)
    this.pendingPods.set(key, pod)
    const changed =
      old === undefined ||
      JSON.stringify(old.spec) !== JSON.stringify(pod.spec) ||
      !sameLabels(old.metadata.labels ?? {}, pod.metadata.labels ?? {})
    this.queue.update(info, now, changed)
    return []
  }

  onPodDelete(pod: Pod, now: number): Array<Command> {
    const key = `${pod.metadata.namespace ?? "default"}/${pod.metadata.name ?? ""}`
    this.pendingPods.delete(key)
    this.queue.delete(key)
    const flight = this.inFlight.get(key)
    if (flight !== undefined) flight.deleted = true
    const waiting = this.waiting.get(key)
    if (waiting !== undefined) {
      this.waiting.delete(key)
      waiting.profile.runUnreservePlugins(waiting.state, waiting.pod, waiting.nodeName)
      this.cache.forgetPod(key)
      return []
    }
    // Also drops a pod assumed while its binding is in flight: it no longer exists.
    this.removeAssigned(key, now)
    return []
  }

  /** A Service or ReplicaSet changed: spreading scores may differ, so pending pods are retried. */
  onServiceChange(now: number): Array<Command> {
    this.queue.moveAllToActiveOrBackoffQueue("ServiceUpdate", now)
    return []
  }

  // --- time -----------------------------------------------------------------

  /** Moves pods whose backoff ended, retries long-unschedulable pods, expires stale assumptions and permits. */
  tick(now: number): Array<Command> {
    this.queue.flush(now)
    this.cache.cleanupExpiredAssumedPods(now)
    const out: Array<Command> = []
    for (const [key, w] of [...this.waiting]) {
      if (now < w.deadline) continue
      const plugin = [...w.pending][0] ?? ""
      out.push(
        ...this.rejectWaiting(
          key,
          w,
          `rejected due to timeout after waiting at plugin ${plugin}`,
          now,
        ),
      )
    }
    return out
  }

  // --- the scheduling cycle -------------------------------------------------

  /** Schedules the next active pod, if any (Kubernetes' scheduleOne). */
  scheduleOne(now: number): Array<Command> {
    const info = this.queue.pop()
    if (info === undefined) return []
    const pod = info.pod
    const profile = this.profiles.get(pod.schedulerName)
    if (profile === undefined || pod.deleting) return []
    const cycle = this.queue.cycle
    const state = new CycleState()
    const result = this.algorithm.schedule(profile, state, pod)
    if (result instanceof FitError) {
      profile.runPostFilterPlugins(state, pod, result.filteredNodesStatuses)
      return this.fail(info, cycle, result.message, now, "Unschedulable")
    }
    if (result instanceof ScheduleError)
      return this.fail(info, cycle, result.message, now, "SchedulerError")
    const nodeName = result.suggestedHost
    const assumed = this.cache.assumePod(pod, nodeName)
    const flight: InFlight = { info, cycle, profile, state, pod: assumed, nodeName, deleted: false }
    const reserved = profile.runReservePlugins(state, assumed, nodeName)
    if (reserved !== undefined) return this.undo(flight, reserved.reasons.join(", "), now)
    const permit = profile.runPermitPlugins(state, assumed, nodeName)
    if ("rejected" in permit) return this.undo(flight, permit.rejected.reasons.join(", "), now)
    if (permit.waitFor.size > 0) {
      const deadline = now + Math.min(...permit.waitFor.values())
      this.waiting.set(pod.key, { ...flight, pending: new Set(permit.waitFor.keys()), deadline })
      return []
    }
    return this.bind(flight, now)
  }

  /** A waiting pod is allowed by a Permit plugin; binds once every waiting plugin has allowed. */
  allow(key: string, plugin: string, now: number): Array<Command> {
    const w = this.waiting.get(key)
    if (w === undefined) return []
    w.pending.delete(plugin)
    if (w.pending.size > 0) return []
    this.waiting.delete(key)
    return this.bind(w, now)
  }

  reject(key: string, plugin: string, message: string, now: number): Array<Command> {
    const w = this.waiting.get(key)
    if (w === undefined) return []
    return this.rejectWaiting(key, w, `rejected by "${plugin}" at permit: ${message}`, now)
  }

  bindingSucceeded(key: string, now: number): Array<Command> {
    const f = this.inFlight.get(key)
    if (f === undefined) return []
    this.inFlight.delete(key)
    this.cache.finishBinding(key, now)
    return [
      {
        kind: "event",
        type: "Normal",
        reason: "Scheduled",
        message: `Successfully assigned ${f.pod.namespace}/${f.pod.name} to ${f.nodeName}`,
        pod: refOf(f.pod.pod as PodView),
        component: f.profile.schedulerName,
      },
    ]
  }

  bindingFailed(key: string, message: string, now: number): Array<Command> {
    const f = this.inFlight.get(key)
    if (f === undefined) return []
    this.inFlight.delete(key)
    return this.undo(f, `Binding rejected: ${message}`, now)
  }

  // --- helpers ----------------------------------------------------------------

  private bind(f: InFlight, now: number): Array<Command> {
    for (const b of f.profile.bind) {
      let r: ReturnType<typeof b.bind>
      try {
        r = b.bind(f.state, f.pod, f.nodeName)
      } catch (e) {
        return this.undo(f, `Binding rejected: ${e instanceof Error ? e.message : String(e)}`, now)
      }
      if ("code" in r) {
        if ((r as Status).code === Code.Skip) continue
        return this.undo(f, `Binding rejected: ${(r as Status).reasons.join(", ")}`, now)
      }
      this.inFlight.set(f.pod.key, f)
      return [{ kind: "bind", pod: f.pod, nodeName: f.nodeName, binder: b.name, request: r }]
    }
    return this.undo(f, "Binding rejected: no bind plugin bound the pod", now)
  }

  private rejectWaiting(key: string, w: Waiting, message: string, now: number): Array<Command> {
    this.waiting.delete(key)
    return this.undo(w, message, now)
  }

  /** Undoes an assumption after Reserve, Permit or Bind failed, and requeues the pod. */
  private undo(f: InFlight, message: string, now: number): Array<Command> {
    f.profile.runUnreservePlugins(f.state, f.pod, f.nodeName)
    if (this.cache.isAssumed(f.pod.key)) this.cache.forgetPod(f.pod.key)
    if (f.deleted) return []
    return this.fail(f.info, f.cycle, message, now, "SchedulerError")
  }

  /**
   * Requeues the pod and reports why, as Kubernetes' recordSchedulingFailure:
   * a FailedScheduling Event and the PodScheduled=False condition.
   */
  private fail(
    info: QueuedPodInfo<PodInfo>,
    cycle: number,
    message: string,
    now: number,
    reason: "Unschedulable" | "SchedulerError",
  ): Array<Command> {
    if (this.pendingPods.has(info.pod.key) && !this.queue.has(info.pod.key)) {
      this.queue.addUnschedulableIfNotPresent(info, cycle, now)
    }
    const pod = refOf(info.pod.pod as PodView)
    return [
      {
        kind: "event",
        type: "Warning",
        reason: "FailedScheduling",
        message,
        pod,
        component: info.pod.schedulerName,
      },
      {
        kind: "condition",
        pod,
        condition: { type: "PodScheduled", status: "False", reason, message },
      },
    ]
  }

  private removeAssigned(key: string, now: number): void {
    if (this.cache.getPod(key) === undefined) return
    this.cache.removePod(key)
    this.queue.moveAllToActiveOrBackoffQueue("AssignedPodDelete", now)
  }

  private compileOrReport(pod: PodView): PodInfo | Array<Command> {
    try {
      return compilePod(pod)
    } catch (e) {
      if (!(e instanceof CompileError)) throw e
      return [
        {
          kind: "event",
          type: "Warning",
          reason: "FailedScheduling",
          message: e.message,
          pod: refOf(pod),
          component: pod.spec.schedulerName ?? DefaultSchedulerName,
        },
      ]
    }
  }
}

/** Kubernetes' AssignedPodAdded filter: a required pod-affinity term of the pending pod matches the assigned pod. */
const pendingAffinityMatches = (pending: PodInfo, assigned: PodInfo): boolean => {
  const a = pending.affinity
  if (a === undefined || !a.hasPodAffinity) return false
  for (const t of a.requiredAffinity) if (podMatchesTerm(assigned, t)) return true
  return false
}
