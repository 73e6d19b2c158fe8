// Soak: the 28 MIT scenarios over many seeds, and chaos schedules over many
// more. Any failure prints its seed (every run replays exactly from it) and
// the script exits with status 1.
//
//   npm run soak -w @flotilla/raft
//   SOAK_SEEDS=5000 SOAK_FROM=20000 SOAK_CHAOS=20000 SOAK_ONLY=Figure8 npm run soak -w @flotilla/raft
import { nextRng, seedRng } from "../src/core/rng.ts"
import { Chaos } from "../src/testing/chaos.ts"
import { scenarios } from "../src/testing/scenarios.ts"

const seeds = Number(process.env.SOAK_SEEDS ?? 1000)
const from = Number(process.env.SOAK_FROM ?? 1000)
const chaosRuns = Number(process.env.SOAK_CHAOS ?? 2000)
const only = process.env.SOAK_ONLY

const failures: string[] = []
let runs = 0
const t0 = performance.now()
console.log(`MIT scenarios, seeds ${from}..${from + seeds - 1}`)
for (const sc of scenarios) {
  if (only !== undefined && !sc.name.startsWith(only)) continue
  const start = performance.now()
  let simulated = 0
  let failed = 0
  for (let seed = from; seed < from + seeds; seed++) {
    runs++
    try {
      simulated += sc.run(seed).simulatedMs
    } catch (e) {
      failed++
      failures.push(`${sc.name} seed ${seed}: ${(e as Error).message.split("\n")[0]}`)
    }
  }
  const wall = (performance.now() - start) / 1000
  console.log(
    `${sc.name.padEnd(28)} ${failed === 0 ? "ok  " : `FAIL ${failed}`} ${(simulated / 1000 / 3600).toFixed(1).padStart(6)} h simulated in ${wall.toFixed(1)} s`,
  )
}

const schedule = (seed: number, n: number): [number, number][] => {
  let r = seedRng(seed, "soak")
  const out: [number, number][] = []
  for (let i = 0; i < n; i++) {
    r = nextRng(r)
    const a = r
    r = nextRng(r)
    out.push([a % 1000, r % (1 << 20)])
  }
  return out
}

if (only === undefined && chaosRuns > 0) {
  const start = performance.now()
  let failed = 0
  for (let i = 0; i < chaosRuns; i++) {
    const seed = from + i
    runs++
    const voters = seed % 3 === 0 ? 5 : 3
    const spares = seed % 2 === 0 ? 2 : 0
    const c = new Chaos({
      voters,
      spares,
      raft: { electionTick: 2 + (seed % 3), preVote: seed % 4 < 2, checkQuorum: seed % 5 < 3 },
    })
    try {
      const r = c.run(schedule(seed, 2000))
      if (r.violation !== null) {
        failed++
        failures.push(`chaos seed ${seed}: ${r.violation}`)
      }
    } catch (e) {
      failed++
      failures.push(`chaos seed ${seed}: exception ${(e as Error).message}`)
    }
  }
  console.log(
    `${"chaos (2000 actions each)".padEnd(28)} ${failed === 0 ? "ok  " : `FAIL ${failed}`} ${chaosRuns} runs in ${((performance.now() - start) / 1000).toFixed(1)} s`,
  )
}

for (const f of failures.slice(0, 20)) console.log(`  ${f}`)
console.log(
  JSON.stringify({
    soak: "raft",
    runs,
    failures: failures.length,
    seconds: Math.round((performance.now() - t0) / 1000),
  }),
)
if (failures.length > 0) process.exit(1)
