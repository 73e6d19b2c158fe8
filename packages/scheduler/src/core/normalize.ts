/** Kubernetes' framework.MaxNodeScore / MinNodeScore. */
export const MaxNodeScore = 100
export const MinNodeScore = 0
/** Kubernetes' MaxTotalScore (math.MaxInt64 in Go); ours is the largest safe integer. */
export const MaxTotalScore = Number.MAX_SAFE_INTEGER

/**
 * Kubernetes' `helper.DefaultNormalizeScore` (the legacy `NormalizeReduce`):
 * scales the first `count` scores so the highest becomes `maxPriority`, with
 * integer (truncating) maths; `reverse` flips them (`maxPriority - s`). When
 * every score is 0, reverse makes them all `maxPriority` and otherwise they stay 0.
 */
export const defaultNormalizeScore = (
  maxPriority: number,
  reverse: boolean,
  scores: Float64Array | Array<number>,
  count: number = scores.length,
): void => {
  let maxCount = 0
  for (let i = 0; i < count; i++) {
    const s = scores[i]!
    if (s > maxCount) maxCount = s
  }
  if (maxCount === 0) {
    if (reverse) for (let i = 0; i < count; i++) scores[i] = maxPriority
    return
  }
  for (let i = 0; i < count; i++) {
    let s = Math.trunc((maxPriority * scores[i]!) / maxCount)
    if (reverse) s = maxPriority - s
    scores[i] = s
  }
}
