import type { QueueSortPlugin } from "../framework.ts"
import { prioritySort, type QueuedPodInfo } from "../queue.ts"
import type { PodInfo } from "../types.ts"

export const PrioritySortName = "PrioritySort"

/** QueueSort: higher `spec.priority` first, then the pod that entered the queue first. */
export class PrioritySort implements QueueSortPlugin {
  readonly name = PrioritySortName

  less(a: QueuedPodInfo<PodInfo>, b: QueuedPodInfo<PodInfo>): boolean {
    return prioritySort(a, b)
  }
}
