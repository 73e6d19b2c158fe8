/**
 * Empties `a` and keeps its storage for the next use. `a.length = 0` makes
 * V8 drop the backing store, so the next push allocates a new one (about
 * 150 bytes for a few items): on arrays reused once per message or write,
 * that was an allocation per entry on every member.
 */
export const clearArray = (a: unknown[]): void => {
  while (a.length > 0) a.pop()
}
