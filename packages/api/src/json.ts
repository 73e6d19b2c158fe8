/**
 * Structural equality of JSON values: object key order does not matter, and
 * own keys are counted in place (no key arrays: the API server runs it on
 * every write).
 */
export const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  let members = 0
  for (const k in x) {
    if (!Object.hasOwn(x, k)) continue
    members++
    if (!Object.hasOwn(y, k) || !jsonEqual(x[k], y[k])) return false
  }
  for (const k in y) if (Object.hasOwn(y, k)) members--
  return members === 0
}
