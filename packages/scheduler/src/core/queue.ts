import { KeyedHeap } from "./heap.ts"

/** What the queue needs to know about a pod. */
export interface QueuePod {
  /** `namespace/name`, unique among pending pods. */
  readonly key: string
  /** `spec.priority` (0 when unset). */
  readonly priority: number
}

/** Kubernetes' QueuedPodInfo: a pending pod with its queueing history. */
export interface QueuedPodInfo<P extends QueuePod> {
  pod: P
  /** When the pod was (re-)added to a queue, in milliseconds of the caller's clock. */
  timestamp: number
  /** When the pod was first added; kept across attempts. */
  initialAttemptTimestamp: number
  /** Scheduling attempts so far (incremented by pop). */
  attempts: number
  /** Arrival order, breaking ties between equal timestamps (so queues are deterministic). */
  seq: number
}

/** Kubernetes' QueueSort `Less`: true when `a` should be scheduled before `b`. */
export type QueueLess<P extends QueuePod> = (a: QueuedPodInfo<P>, b: QueuedPodInfo<P>) => boolean

/** PrioritySort: higher priority first, then the earlier timestamp (arrival). */
export const prioritySort = <P extends QueuePod>(
  a: QueuedPodInfo<P>,
  b: QueuedPodInfo<P>,
): boolean =>
  a.pod.priority > b.pod.priority ||
  (a.pod.priority === b.pod.priority &&
    (a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.seq < b.seq)))

/** Events that can make an unschedulable pod schedulable (Kubernetes' event labels). */
export type ClusterEvent =
  | "NodeAdd"
  | "NodeSpecUnschedulableChange"
  | "NodeAllocatableChange"
  | "NodeLabelChange"
  | "NodeTaintChange"
  | "NodeConditionChange"
  | "AssignedPodDelete"
  | "ServiceAdd"
  | "ServiceUpdate"
  | "ServiceDelete"
  | "UnschedulableTimeout"

export interface SchedulingQueueOptions<P extends QueuePod> {
  /** The profile's QueueSort; PrioritySort when absent. */
  readonly less?: QueueLess<P>
  /** podInitialBackoffSeconds, in ms (Kubernetes: 1 s). */
  readonly initialBackoffMs?: number
  /** podMaxBackoffSeconds, in ms (Kubernetes: 10 s). */
  readonly maxBackoffMs?: number
  /** How long a pod may sit in unschedulableQ before it is retried anyway (Kubernetes: 60 s). */
  readonly unschedulableTimeoutMs?: number
}

export class QueueError extends Error {
  override readonly name = "QueueError"
}

/**
 * Kubernetes' PriorityQueue with time as an input (a pure state machine; the
 * shell calls `flush(now)` periodically, Kubernetes does it every second):
 *
 * - activeQ: pods ready to be tried, ordered by QueueSort;
 * - backoffQ: pods waiting out their backoff (1 s doubling per attempt, capped
 *   at 10 s), ordered by the time their backoff ends;
 * - unschedulableQ: pods that failed and wait for a cluster event that could
 *   make them fit (or for the unschedulable timeout).
 *
 * Invariant: a pod key is in at most one of the three.
 */
export class SchedulingQueue<P extends QueuePod> {
  readonly initialBackoffMs: number
  readonly maxBackoffMs: number
  readonly unschedulableTimeoutMs: number
  private readonly activeQ: KeyedHeap<QueuedPodInfo<P>>
  private readonly backoffQ: KeyedHeap<QueuedPodInfo<P>>
  private readonly unschedulableQ = new Map<string, QueuedPodInfo<P>>()
  /** Incremented by every pop. */
  private schedulingCycle = 0
  /** The cycle at which the last move request happened (Kubernetes' moveRequestCycle). */
  private moveRequestCycle = -1
  private arrivals = 0

  constructor(options: SchedulingQueueOptions<P> = {}) {
    this.initialBackoffMs = options.initialBackoffMs ?? 1000
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000
    this.unschedulableTimeoutMs = options.unschedulableTimeoutMs ?? 60_000
    const key = (p: QueuedPodInfo<P>) => p.pod.key
    this.activeQ = new KeyedHeap(key, options.less ?? prioritySort)
    this.backoffQ = new KeyedHeap(key, (a, b) => {
      const ta = this.backoffTime(a)
      const tb = this.backoffTime(b)
      return ta < tb || (ta === tb && a.seq < b.seq)
    })
  }

  /** The scheduling cycle of the most recent pop. */
  get cycle(): number {
    return this.schedulingCycle
  }

  get activeCount(): number {
    return this.activeQ.size
  }
  get backoffCount(): number {
    return this.backoffQ.size
  }
  get unschedulableCount(): number {
    return this.unschedulableQ.size
  }
  get size(): number {
    return this.activeQ.size + this.backoffQ.size + this.unschedulableQ.size
  }

  has(key: string): boolean {
    return this.activeQ.has(key) || this.backoffQ.has(key) || this.unschedulableQ.has(key)
  }

  /** Which queue holds the pod, for tests and status output. */
  where(key: string): "active" | "backoff" | "unschedulable" | undefined {
    if (this.activeQ.has(key)) return "active"
    if (this.backoffQ.has(key)) return "backoff"
    if (this.unschedulableQ.has(key)) return "unschedulable"
    return undefined
  }

  /** Kubernetes' backoff: initial * 2^(attempts-1), capped at the maximum. */
  backoffDuration(info: QueuedPodInfo<P>): number {
    let duration = this.initialBackoffMs
    for (let i = 1; i < info.attempts; i++) {
      duration *= 2
      if (duration > this.maxBackoffMs) return this.maxBackoffMs
    }
    return duration
  }

  backoffTime(info: QueuedPodInfo<P>): number {
    return info.timestamp + this.backoffDuration(info)
  }

  isBackingOff(info: QueuedPodInfo<P>, now: number): boolean {
    return this.backoffTime(info) > now
  }

  /** A new pending pod (or one re-created): straight to activeQ with a fresh history. */
  add(pod: P, now: number): void {
    this.backoffQ.delete(pod.key)
    this.unschedulableQ.delete(pod.key)
    this.activeQ.addOrUpdate({
      pod,
      timestamp: now,
      initialAttemptTimestamp: now,
      attempts: 0,
      seq: this.arrivals++,
    })
  }

  /**
   * A pending pod changed. In activeQ it is updated in place; in backoffQ and
   * unschedulableQ it moves to activeQ when `changed` (the spec may now fit)
   * and is otherwise updated where it is; a pod in no queue is added.
   */
  update(pod: P, now: number, changed = true): void {
    const active = this.activeQ.get(pod.key)
    if (active !== undefined) {
      this.activeQ.addOrUpdate({ ...active, pod })
      return
    }
    const backingOff = this.backoffQ.get(pod.key)
    if (backingOff !== undefined) {
      this.backoffQ.delete(pod.key)
      // A status-only update (such as the scheduler's own condition) keeps the backoff.
      if (changed) this.activeQ.addOrUpdate({ ...backingOff, pod })
      else this.backoffQ.addOrUpdate({ ...backingOff, pod })
      return
    }
    const unschedulable = this.unschedulableQ.get(pod.key)
    if (unschedulable !== undefined) {
      if (changed) {
        this.unschedulableQ.delete(pod.key)
        this.activeQ.addOrUpdate({ ...unschedulable, pod })
      } else {
        this.unschedulableQ.set(pod.key, { ...unschedulable, pod })
      }
      return
    }
    this.add(pod, now)
  }

  delete(key: string): boolean {
    const a = this.activeQ.delete(key) !== undefined
    const b = this.backoffQ.delete(key) !== undefined
    const c = this.unschedulableQ.delete(key)
    return a || b || c
  }

  /** The next pod to schedule, or undefined when activeQ is empty. Starts a new cycle. */
  pop(): QueuedPodInfo<P> | undefined {
    const info = this.activeQ.pop()
    if (info === undefined) return undefined
    info.attempts++
    this.schedulingCycle++
    return info
  }

  /**
   * Returns a pod whose attempt failed. When a move request arrived since the
   * attempt's cycle began, a cluster change may already have made it fit, so it
   * goes to backoffQ; otherwise it waits in unschedulableQ for such a change.
   */
  addUnschedulableIfNotPresent(
    info: QueuedPodInfo<P>,
    podSchedulingCycle: number,
    now: number,
  ): void {
    const key = info.pod.key
    if (this.unschedulableQ.has(key))
      throw new QueueError(`pod ${key} is already present in unschedulableQ`)
    if (this.activeQ.has(key))
      throw new QueueError(`pod ${key} is already present in the active queue`)
    if (this.backoffQ.has(key))
      throw new QueueError(`pod ${key} is already present in the backoff queue`)
    info.timestamp = now
    if (this.moveRequestCycle >= podSchedulingCycle) this.backoffQ.addOrUpdate(info)
    else this.unschedulableQ.set(key, info)
  }

  /**
   * Periodic housekeeping: pods whose backoff ended move to activeQ, and pods
   * that sat in unschedulableQ longer than the timeout are retried.
   */
  flush(now: number): void {
    for (;;) {
      const head = this.backoffQ.peek()
      if (head === undefined || this.backoffTime(head) > now) break
      this.backoffQ.pop()
      this.activeQ.addOrUpdate(head)
    }
    const stale: Array<QueuedPodInfo<P>> = []
    for (const info of this.unschedulableQ.values()) {
      if (now - info.timestamp > this.unschedulableTimeoutMs) stale.push(info)
    }
    if (stale.length > 0) this.movePods(stale, now)
  }

  /** A cluster event that may make any unschedulable pod fit. */
  moveAllToActiveOrBackoffQueue(_event: ClusterEvent, now: number): void {
    this.movePods([...this.unschedulableQ.values()], now)
  }

  /**
   * A pod was assigned to a node: only unschedulable pods with a required pod
   * affinity term matched by it can now fit (Kubernetes' AssignedPodAdded).
   */
  assignedPodAdded<A>(
    assigned: A,
    matches: (pending: P, assigned: A) => boolean,
    now: number,
  ): void {
    const toMove: Array<QueuedPodInfo<P>> = []
    for (const info of this.unschedulableQ.values())
      if (matches(info.pod, assigned)) toMove.push(info)
    // Like Kubernetes, this counts as a move request even when nothing moved.
    this.movePods(toMove, now)
  }

  /** Pending pods in all three queues, for listing. */
  pendingPods(): Array<P> {
    const out: Array<P> = []
    for (const i of this.activeQ.values()) out.push(i.pod)
    for (const i of this.backoffQ.values()) out.push(i.pod)
    for (const i of this.unschedulableQ.values()) out.push(i.pod)
    return out
  }

  private movePods(infos: ReadonlyArray<QueuedPodInfo<P>>, now: number): void {
    for (const info of infos) {
      this.unschedulableQ.delete(info.pod.key)
      if (this.isBackingOff(info, now)) this.backoffQ.addOrUpdate(info)
      else this.activeQ.addOrUpdate(info)
    }
    this.moveRequestCycle = this.schedulingCycle
  }
}
