// The term of every log entry, run-length encoded: terms change rarely (once per
// leader), so a log of millions of entries needs a handful of runs. Lets the WAL
// answer "does the log hold (index, term)?" when a snapshot is installed.

export class TermRuns {
  /** First index of each run, ascending; run k covers [starts[k], starts[k+1]). */
  private starts: number[] = []
  private terms: number[] = []
  /** Index of the last entry (entries exist in [firstIndex, last]). */
  private last: number
  private firstIndex: number

  /** An empty log whose next entry is `next`. */
  constructor(next = 1) {
    this.firstIndex = next
    this.last = next - 1
  }

  get lastIndex(): number {
    return this.last
  }

  /** Appends `term` at `index`; `index` must be in [firstIndex, last + 1]. */
  append(index: number, term: number): void {
    if (index <= this.last) this.truncateFrom(index)
    const n = this.terms.length
    if (n === 0 || this.terms[n - 1] !== term) {
      this.starts.push(index)
      this.terms.push(term)
    }
    this.last = index
  }

  /** Drops entries >= `index`; past `last + 1` (or before the first) the log restarts at `index`. */
  truncateFrom(index: number): void {
    if (index > this.last + 1 || index <= this.firstIndex) {
      this.reset(index)
      return
    }
    let n = this.starts.length
    while (n > 0 && this.starts[n - 1]! >= index) n--
    this.starts.length = n
    this.terms.length = n
    this.last = index - 1
  }

  reset(next: number): void {
    this.starts = []
    this.terms = []
    this.firstIndex = next
    this.last = next - 1
  }

  /** The term of the entry at `index`, if the log holds it. */
  termAt(index: number): number | undefined {
    if (index < this.firstIndex || index > this.last) return undefined
    let lo = 0
    let hi = this.starts.length - 1
    // Largest k with starts[k] <= index.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.starts[mid]! <= index) lo = mid
      else hi = mid - 1
    }
    return this.terms[lo]
  }

  /** Forgets entries below `index` (compaction); keeps the run containing it. */
  dropBelow(index: number): void {
    if (index <= this.firstIndex) return
    if (index > this.last) {
      this.reset(this.last + 1)
      return
    }
    let k = 0
    while (k + 1 < this.starts.length && this.starts[k + 1]! <= index) k++
    this.starts = this.starts.slice(k)
    this.terms = this.terms.slice(k)
    this.starts[0] = index
    this.firstIndex = index
  }
}
