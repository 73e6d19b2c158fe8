import type { AppendEntries, Message } from "../core/types.ts"

/** An AppendEntries with no entries: it only carries a commitIndex, or probes. */
export const isEmptyAppend = (m: Message): m is AppendEntries =>
  m.type === "AppendEntries" && m.entries.length === 0

/**
 * Drops, in place and keeping order, every empty AppendEntries that a later
 * AppendEntries in `queue` supersedes: same term, prevLogIndex and
 * prevLogTerm and at least its leaderCommit, so the later one tells the
 * follower all it would have and gets the answer the leader waits for (the
 * leader counts no AppendEntries without entries in flight). A leader that
 * commits an entry and then takes the next proposal sends both to a follower
 * in the same turn: one message and one answer instead of two. Returns how
 * many were dropped.
 */
export const coalesceAppends = (queue: Message[]): number => {
  let kept = 0
  for (let i = 0; i < queue.length; i++) {
    const m = queue[i]!
    if (isEmptyAppend(m) && supersededAfter(queue, i, m)) continue
    queue[kept++] = m
  }
  const dropped = queue.length - kept
  queue.length = kept
  return dropped
}

const supersededAfter = (queue: ReadonlyArray<Message>, i: number, m: AppendEntries): boolean => {
  for (let j = i + 1; j < queue.length; j++) {
    const later = queue[j]!
    if (
      later.type === "AppendEntries" &&
      later.term === m.term &&
      later.prevLogIndex === m.prevLogIndex &&
      later.prevLogTerm === m.prevLogTerm &&
      later.leaderCommit >= m.leaderCommit
    )
      return true
  }
  return false
}
