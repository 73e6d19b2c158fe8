/**
 * A watch's feed: the events a watch-cache subscription produces, handed to
 * whichever consumer attaches (the HTTP shell's socket writer, or a `Stream`
 * for embedding and tests). The subscription is taken before anyone consumes,
 * so events produced meanwhile wait here, at most `maxPending` of them; a
 * consumer that falls too far behind (its `write` answers false) or a full
 * buffer ends the feed, as Kubernetes ends a watcher that is too slow (it
 * watches again from the last revision it has and loses nothing).
 *
 * Plain TypeScript: it runs once per watcher per batch of changes.
 */

export interface FeedConsumer {
  /**
   * Takes a chunk of whole lines holding `events` events; false when the
   * consumer is too far behind (the feed then ends).
   */
  readonly write: (text: string, events: number) => boolean
  /** The feed ended (once); nothing is written after. */
  readonly end: () => void
}

export class WatchFeed {
  readonly #maxPending: number
  #pending: Array<string> = []
  #pendingEvents = 0
  #consumer: FeedConsumer | undefined
  #closed = false
  #onClose: Array<() => void> = []

  constructor(maxPending: number) {
    this.#maxPending = maxPending
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Runs `f` once when the feed closes (releasing the subscription, a timer). */
  onClose(f: () => void): void {
    if (this.#closed) f()
    else this.#onClose.push(f)
  }

  /** Offers `events` events as one chunk of lines (0: a chunk not held to the bound). */
  offer(text: string, events: number): void {
    if (this.#closed) return
    if (this.#consumer === undefined) {
      // Past the bound the chunk is dropped and the feed ends: what waits is
      // delivered, the watcher watches again from there.
      if (this.#pendingEvents + events > this.#maxPending) {
        this.close()
        return
      }
      this.#pending.push(text)
      this.#pendingEvents += events
    } else if (!this.#consumer.write(text, events)) {
      this.close()
    }
  }

  /** Attaches the consumer: it gets what is waiting, then every chunk as offered. */
  attach(consumer: FeedConsumer): void {
    if (this.#consumer !== undefined) throw new Error("a watch feed has one consumer")
    this.#consumer = consumer
    const pending = this.#pending
    const events = this.#pendingEvents
    this.#pending = []
    this.#pendingEvents = 0
    const ok = pending.length === 0 || consumer.write(pending.join(""), events)
    // Closed before attaching: the consumer ends after what waited.
    if (this.#closed) consumer.end()
    else if (!ok) this.close()
  }

  /** Ends the feed: the consumer (if attached) ends after what it was given. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    const onClose = this.#onClose
    this.#onClose = []
    for (const f of onClose) f()
    this.#consumer?.end()
  }
}

/** Node's longest timer; a longer one fires at once. */
const maxTimerMs = 2 ** 31 - 1

/**
 * Runs `f` after `ms` milliseconds of any length (a watch's timeoutSeconds
 * may pass node's longest timer: long waits re-arm it), without keeping the
 * process alive; returns the cancel function.
 */
export const after = (ms: number, f: () => void): (() => void) => {
  let timer: ReturnType<typeof setTimeout>
  const arm = (left: number) => {
    timer = setTimeout(
      () => (left > maxTimerMs ? arm(left - maxTimerMs) : f()),
      Math.min(left, maxTimerMs),
    )
    timer.unref()
  }
  arm(ms)
  return () => clearTimeout(timer)
}
