/** The wire shape of a Taint. */
export interface TaintView {
  readonly key: string
  readonly value?: string | undefined
  readonly effect: string
}

/** The wire shape of a Toleration. */
export interface TolerationView {
  readonly key?: string | undefined
  readonly operator?: string | undefined
  readonly value?: string | undefined
  readonly effect?: string | undefined
  readonly tolerationSeconds?: number | undefined
}

export const TaintEffectNoSchedule = "NoSchedule"
export const TaintEffectPreferNoSchedule = "PreferNoSchedule"
export const TaintEffectNoExecute = "NoExecute"
/** Kubernetes' `TaintNodeUnschedulable`. */
export const TaintNodeUnschedulable = "node.kubernetes.io/unschedulable"

/**
 * Kubernetes' `Toleration.ToleratesTaint`: an empty effect matches every
 * effect, an empty key (with Exists) every key; operator "" means Equal.
 */
export const toleratesTaint = (t: TolerationView, taint: TaintView): boolean => {
  if (t.effect !== undefined && t.effect !== "" && t.effect !== taint.effect) return false
  if (t.key !== undefined && t.key !== "" && t.key !== taint.key) return false
  switch (t.operator) {
    case undefined:
    case "":
    case "Equal":
      return (t.value ?? "") === (taint.value ?? "")
    case "Exists":
      return true
    default:
      return false
  }
}

export const tolerationsTolerateTaint = (
  tolerations: ReadonlyArray<TolerationView>,
  taint: TaintView,
): boolean => {
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true
  return false
}

/**
 * Kubernetes' `FindMatchingUntoleratedTaint`: the first taint passing `filter`
 * that no toleration tolerates.
 */
export const findMatchingUntoleratedTaint = (
  taints: ReadonlyArray<TaintView>,
  tolerations: ReadonlyArray<TolerationView>,
  filter: (t: TaintView) => boolean,
): TaintView | undefined => {
  for (const taint of taints) {
    if (!filter(taint)) continue
    if (!tolerationsTolerateTaint(tolerations, taint)) return taint
  }
  return undefined
}
