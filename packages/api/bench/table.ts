// The table and the closing JSON line every api benchmark prints.
export interface Table {
  /** Runs `f` once to warm up (and check that it works), then times a second run of `ops` operations. */
  readonly measure: (name: string, ops: number, f: () => void) => void
  /** Prints the rows, then one JSON line `{ bench, N, opsPerSecond }`. */
  readonly print: (bench: string, n: number) => void
}

export const makeTable = (): Table => {
  const rows: Array<{ name: string; ops: number; ms: number }> = []
  return {
    measure: (name, ops, f) => {
      f()
      const t0 = performance.now()
      f()
      rows.push({ name, ops, ms: performance.now() - t0 })
    },
    print: (bench, n) => {
      const pad = (s: string, width: number) => s.padEnd(width)
      console.log(
        `${pad("operation", 42)} ${"ops".padStart(10)} ${"ms".padStart(9)} ${"ops/s".padStart(13)}`,
      )
      const figures: Record<string, number> = {}
      for (const r of rows) {
        const perSecond = Math.round((r.ops / r.ms) * 1000)
        figures[r.name] = perSecond
        console.log(
          `${pad(r.name, 42)} ${String(r.ops).padStart(10)} ${r.ms.toFixed(1).padStart(9)} ${perSecond.toLocaleString("en").padStart(13)}`,
        )
      }
      console.log(JSON.stringify({ bench, N: n, opsPerSecond: figures }))
    },
  }
}
