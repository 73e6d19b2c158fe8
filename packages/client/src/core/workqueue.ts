/**
 * The work queue of Kubernetes controllers (client-go's `workqueue`), as a
 * pure state machine with time as an input:
 *
 * - de-duplicating: an item added while it waits is queued once; an item
 *   added while it is being processed is queued again only when its worker
 *   calls `done`, so no item is ever processed by two workers at once;
 * - delaying: `addAfter` holds an item until its time (the earliest time
 *   wins when it is added again);
 * - rate-limited: `addRateLimited` delays by the limiter's answer, per item
 *   exponential backoff (5 ms doubling to 1000 s) combined with an overall
 *   token bucket (10 per second, burst 100), the larger delay winning, as in
 *   `DefaultControllerRateLimiter`; `forget` resets an item's backoff.
 *
 * Items are compared by a string key.
 */

/** Per-item exponential backoff: `base * 2^failures`, capped (`ItemExponentialFailureRateLimiter`). */
export class ItemExponentialBackoff {
  readonly baseMs: number
  readonly maxMs: number
  readonly #failures = new Map<string, number>()

  constructor(baseMs = 5, maxMs = 1_000_000) {
    this.baseMs = baseMs
    this.maxMs = maxMs
  }

  /** The delay for the item's next retry (and counts one more failure). */
  when(key: string): number {
    const n = this.#failures.get(key) ?? 0
    this.#failures.set(key, n + 1)
    // 2^n overflows doubles long after it passes any sensible cap.
    const delay = this.baseMs * 2 ** Math.min(n, 1000)
    return Math.min(delay, this.maxMs)
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0
  }

  forget(key: string): void {
    this.#failures.delete(key)
  }
}

/**
 * A token bucket (`BucketRateLimiter`): `qps` tokens a second up to `burst`;
 * each reservation takes a token, waiting for it when none is left.
 */
export class TokenBucket {
  readonly qps: number
  readonly burst: number
  #tokens: number
  #lastMs: number | undefined

  constructor(qps = 10, burst = 100) {
    this.qps = qps
    this.burst = burst
    this.#tokens = burst
    this.#lastMs = undefined
  }

  #refill(nowMs: number): void {
    if (this.#lastMs !== undefined && nowMs > this.#lastMs) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((nowMs - this.#lastMs) * this.qps) / 1000)
    }
    this.#lastMs = Math.max(this.#lastMs ?? nowMs, nowMs)
  }

  /** Reserves a token at `nowMs`; returns how long to wait before using it. */
  reserve(nowMs: number): number {
    this.#refill(nowMs)
    this.#tokens -= 1
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.qps)
  }

  /** Takes a token at `nowMs` if one is there (`TryAccept`); never goes into debt. */
  tryAccept(nowMs: number): boolean {
    this.#refill(nowMs)
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}

/** The default controller rate limiter: the larger of per-item backoff and the overall bucket. */
export class ControllerRateLimiter {
  readonly backoff: ItemExponentialBackoff
  readonly bucket: TokenBucket

  constructor(backoff = new ItemExponentialBackoff(), bucket = new TokenBucket()) {
    this.backoff = backoff
    this.bucket = bucket
  }

  when(key: string, nowMs: number): number {
    return Math.max(this.backoff.when(key), this.bucket.reserve(nowMs))
  }

  numRequeues(key: string): number {
    return this.backoff.numRequeues(key)
  }

  forget(key: string): void {
    this.backoff.forget(key)
  }
}

interface Waiting<T> {
  readonly key: string
  readonly item: T
  readyAtMs: number
}

/**
 * The queue's state. `add`/`get`/`done` follow client-go's `Type`; delayed
 * items sit in a min-heap by ready time until `advance(nowMs)` releases them.
 */
export class WorkQueueState<T> {
  readonly #keyOf: (item: T) => string
  readonly #queue: Array<string> = []
  #head = 0
  readonly #items = new Map<string, T>()
  /** Keys that need processing (queued, or re-added while processing). */
  readonly #dirty = new Set<string>()
  readonly #processing = new Set<string>()
  readonly #heap: Array<Waiting<T>> = []
  readonly #waiting = new Map<string, Waiting<T>>()
  #shuttingDown = false

  constructor(keyOf: (item: T) => string) {
    this.#keyOf = keyOf
  }

  /** Queues an item now (once, however often it is added before a worker takes it). */
  add(item: T): void {
    if (this.#shuttingDown) return
    const key = this.#keyOf(item)
    if (this.#dirty.has(key)) return
    this.#dirty.add(key)
    this.#items.set(key, item)
    if (this.#processing.has(key)) return
    this.#queue.push(key)
  }

  /** Queues an item at `readyAtMs` (now if it is not in the future). */
  addAt(item: T, readyAtMs: number, nowMs: number): void {
    if (this.#shuttingDown) return
    if (readyAtMs <= nowMs) {
      this.add(item)
      return
    }
    const key = this.#keyOf(item)
    const existing = this.#waiting.get(key)
    if (existing !== undefined) {
      if (readyAtMs < existing.readyAtMs) {
        existing.readyAtMs = readyAtMs
        this.#heapify()
      }
      return
    }
    const w: Waiting<T> = { key, item, readyAtMs }
    this.#waiting.set(key, w)
    this.#heap.push(w)
    this.#siftUp(this.#heap.length - 1)
  }

  /** Moves every delayed item whose time has come into the queue. */
  advance(nowMs: number): void {
    while (this.#heap.length > 0 && (this.#heap[0] as Waiting<T>).readyAtMs <= nowMs) {
      const w = this.#popHeap()
      this.#waiting.delete(w.key)
      this.add(w.item)
    }
  }

  /** When the next delayed item becomes ready, if any. */
  nextReadyAt(): number | undefined {
    return this.#heap[0]?.readyAtMs
  }

  /** Takes the next item for processing, or undefined when none is ready. */
  get(): T | undefined {
    if (this.#head >= this.#queue.length) return undefined
    const key = this.#queue[this.#head] as string
    this.#head++
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head)
      this.#head = 0
    }
    this.#dirty.delete(key)
    this.#processing.add(key)
    const item = this.#items.get(key) as T
    return item
  }

  /**
   * Marks an item processed; if it was added meanwhile it is queued again.
   * A `done` for an item no worker holds (a second `done`) does nothing:
   * queuing it again would put it in the queue twice, and two workers would
   * get it at once. (A second `done` after another worker took the item
   * cannot be told from that worker's own: call `done` once per `get`.)
   */
  done(item: T): void {
    const key = this.#keyOf(item)
    if (!this.#processing.delete(key)) return
    if (this.#dirty.has(key)) this.#queue.push(key)
    else this.#items.delete(key)
  }

  /** Items queued and ready (not counting delayed or in-process ones). */
  get length(): number {
    return this.#queue.length - this.#head
  }

  get waitingCount(): number {
    return this.#heap.length
  }

  isProcessing(item: T): boolean {
    return this.#processing.has(this.#keyOf(item))
  }

  shutDown(): void {
    this.#shuttingDown = true
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown
  }

  // --- heap by readyAtMs

  #less(i: number, j: number): boolean {
    return (this.#heap[i] as Waiting<T>).readyAtMs < (this.#heap[j] as Waiting<T>).readyAtMs
  }

  #swap(i: number, j: number): void {
    const t = this.#heap[i] as Waiting<T>
    this.#heap[i] = this.#heap[j] as Waiting<T>
    this.#heap[j] = t
  }

  #siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#less(i, parent)) return
      this.#swap(i, parent)
      i = parent
    }
  }

  #siftDown(i: number): void {
    const n = this.#heap.length
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let smallest = i
      if (l < n && this.#less(l, smallest)) smallest = l
      if (r < n && this.#less(r, smallest)) smallest = r
      if (smallest === i) return
      this.#swap(i, smallest)
      i = smallest
    }
  }

  #popHeap(): Waiting<T> {
    const top = this.#heap[0] as Waiting<T>
    const last = this.#heap.pop() as Waiting<T>
    if (this.#heap.length > 0) {
      this.#heap[0] = last
      this.#siftDown(0)
    }
    return top
  }

  #heapify(): void {
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#siftDown(i)
  }
}
