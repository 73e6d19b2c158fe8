import type { CycleState, ScorePlugin } from "../framework.ts"
import type { NodeInfo } from "../nodeinfo.ts"
import { MaxNodeScore } from "../normalize.ts"
import type { PodInfo } from "../types.ts"

export const ImageLocalityName = "ImageLocality"

const mb = 1024 * 1024
/** Below 23 MiB the score is 0 (a small image pulls quickly anyway). */
export const MinImageThreshold = 23 * mb
/** At 1000 MiB or more the score is 100. */
export const MaxImageThreshold = 1000 * mb

/** Kubernetes' `normalizedImageName`: adds `:latest` when the name has no tag. */
export const normalizedImageName = (name: string): string =>
  name.lastIndexOf(":") <= name.lastIndexOf("/") ? `${name}:latest` : name

/** `100 * (clamp(sum) - 23MiB) / (1000MiB - 23MiB)`, integer maths. */
export const imageLocalityScore = (sumScores: number): number => {
  let s = sumScores
  if (s < MinImageThreshold) s = MinImageThreshold
  else if (s > MaxImageThreshold) s = MaxImageThreshold
  return Math.trunc(
    (MaxNodeScore * (s - MinImageThreshold)) / (MaxImageThreshold - MinImageThreshold),
  )
}

/**
 * Score (legacy ImageLocalityPriority): favours nodes that already have the
 * pod's container images, each image's size scaled by the fraction of nodes
 * that have it (so an image everywhere does not pull every pod to one node).
 */
export class ImageLocality implements ScorePlugin {
  readonly name = ImageLocalityName
  private readonly totalNodes: () => number

  constructor(totalNodes: () => number) {
    this.totalNodes = totalNodes
  }

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    if (pod.images.length === 0 || node.imageStates.size === 0) return imageLocalityScore(0)
    const total = this.totalNodes()
    let sum = 0
    for (const image of pod.images) {
      const state = node.imageStates.get(image)
      if (state === undefined) continue
      sum += Math.trunc(state.size * (state.spread.nodes.size / total))
    }
    return imageLocalityScore(sum)
  }
}
