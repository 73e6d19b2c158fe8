import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { PeriodicCompactor, RevisionCompactor, stepIntervalMs } from "../../src/core/compactor.ts"
import { decodeAutoCompaction, FlagError, parseGoDuration } from "../../src/core/config.ts"

describe("--auto-compaction-mode / --auto-compaction-retention (as etcd 3.4 reads them)", () => {
  it("takes hours or a Go duration (periodic), revisions (revision); 0 is off", () => {
    expect(decodeAutoCompaction(undefined, undefined)).toBeUndefined()
    expect(decodeAutoCompaction("periodic", "0")).toBeUndefined()
    expect(decodeAutoCompaction(undefined, "1")).toEqual({
      mode: "periodic",
      retentionMs: 3_600_000,
    })
    expect(decodeAutoCompaction(undefined, "30m")).toEqual({
      mode: "periodic",
      retentionMs: 1_800_000,
    })
    expect(decodeAutoCompaction("periodic", "1h30m")).toEqual({
      mode: "periodic",
      retentionMs: 5_400_000,
    })
    expect(decodeAutoCompaction("revision", "1000")).toEqual({ mode: "revision", retention: 1000 })
    expect([parseGoDuration("1.5h"), parseGoDuration("500ms"), parseGoDuration("2m3s")]).toEqual([
      5_400_000, 500, 123_000,
    ])
    for (const bad of ["", "h", "1x", "-1h", "1h ", " 1h", "1.h2"])
      expect(parseGoDuration(bad), JSON.stringify(bad)).toBeUndefined()
  })

  it("refuses what etcd refuses, and what it would misread, naming the flag", () => {
    const refusal = (mode: string | undefined, retention: string) => {
      try {
        decodeAutoCompaction(mode, retention)
      } catch (e) {
        expect(e).toBeInstanceOf(FlagError)
        return (e as FlagError).message
      }
      throw new Error(`${mode} ${retention} was taken`)
    }
    expect(refusal("hourly", "1")).toBe(
      '--auto-compaction-mode: unknown auto-compaction-mode "hourly" (periodic or revision)',
    )
    expect(refusal(undefined, "soon")).toBe(
      '--auto-compaction-retention: "soon" is neither a whole number nor a duration such as 30m or 1h',
    )
    // etcd reads "1h" in revision mode as 3.6e12 revisions (a duration's nanoseconds).
    expect(refusal("revision", "1h")).toBe(
      '--auto-compaction-retention: "1h": revision mode takes a number of revisions',
    )
    expect(refusal(undefined, "-1")).toContain("--auto-compaction-retention")
  })
})

describe("the periodic compactor (etcd's v3compactor.Periodic)", () => {
  it("compacts to the revision of one retention ago: first after a whole retention, then every interval, only when leading", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 7_200_000 }),
        fc.array(fc.tuple(fc.nat(20), fc.boolean()), { minLength: 1, maxLength: 300 }),
        (retentionMs, steps) => {
          const interval = stepIntervalMs({ mode: "periodic", retentionMs })
          expect(interval).toBe(Math.min(retentionMs, 3_600_000) / 10)
          const c = new PeriodicCompactor(retentionMs, 0)
          const samples: Array<[number, number]> = []
          let revision = 1
          let lastSuccess = 0
          let compacted = 0
          steps.forEach(([writes, leading], i) => {
            const now = (i + 1) * interval
            revision += writes
            samples.push([now, revision])
            const asked = c.step(now, revision, leading)
            if (asked.compactTo === undefined) {
              // Not leading, or too soon since the last success.
              const wait = compacted === 0 ? retentionMs : Math.min(retentionMs, 3_600_000)
              expect(!leading || now - lastSuccess < wait).toBe(true)
              return
            }
            expect(leading).toBe(true)
            // The oldest sample kept: within one retention (and a step) of now.
            const [at, rev] = samples.find(([, r]) => r === asked.compactTo) ?? [-1, -1]
            expect(rev).toBe(asked.compactTo)
            expect(now - at).toBeLessThanOrEqual(retentionMs + interval)
            expect(asked.compactTo).toBeLessThanOrEqual(revision)
            c.succeeded(now)
            lastSuccess = now
            compacted++
          })
        },
      ),
    )
  })
})

describe("the revision compactor (etcd's v3compactor.Revision)", () => {
  it("keeps the last `retention` revisions, compacting only when leading and when there is news", () => {
    const c = new RevisionCompactor(100)
    expect(stepIntervalMs({ mode: "revision", retention: 100 })).toBe(300_000)
    expect(c.step(50, true)).toEqual({})
    expect(c.step(250, false)).toEqual({})
    expect(c.step(250, true)).toEqual({ compactTo: 150 })
    c.succeeded(150)
    expect(c.step(250, true)).toEqual({})
    expect(c.step(251, true)).toEqual({ compactTo: 151 })
  })
})
