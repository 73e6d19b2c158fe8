// The benchmark's small version: `bench/apiserver.ts` end to end (server
// process, clients and watchers on their own connections) with a handful of
// clients and a few requests per phase, so that a broken load generator or
// report fails here rather than in a long run. No figure is checked, only
// that every phase ran, every watcher saw every write in order, and the
// report holds together.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const script = fileURLToPath(new URL("../../bench/apiserver.ts", import.meta.url))

const runBench = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--conditions=@flotilla/source", script, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        BENCH_SCALE: "0.1",
        BENCH_WARMUP: "2",
        BENCH_CLIENTS: "4",
        BENCH_WATCHERS: "3",
        BENCH_WATCHER_THREADS: "2",
      },
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString()
    })
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString()
    })
    // A run that hangs (a watcher missing writes waits for them) fails here, not by
    // the test's timeout, and leaves no process behind (its server exits with it).
    const kill = setTimeout(() => child.kill("SIGKILL"), 40_000)
    child.on("close", (code) => {
      clearTimeout(kill)
      resolve({ code, stdout, stderr })
    })
  })

interface Report {
  readonly store: string
  readonly clients: number
  readonly watchers: number
  readonly problems: number
  readonly create: {
    readonly p99: number
    readonly perSecond: number
    readonly watch: { readonly events: number }
  }
  readonly update: { readonly watch: { readonly events: number } }
  readonly mix: Record<string, unknown>
  readonly paced: { readonly offeredPerSecond: number }
  readonly watchDelivery: { readonly events: number; readonly p99: number }
  readonly goals: { readonly watchDeliveryP99Under50Ms: boolean }
}

describe("the API server benchmark, small", () => {
  it("runs every phase on the memory store and reports every write delivered to every watcher, in order", async () => {
    const { code, stdout, stderr } = await runBench([])
    expect(code, stderr).toBe(0)
    const lines = stdout.trim().split("\n")
    const report = JSON.parse(lines[lines.length - 1] as string) as Report
    expect(report.store).toBe("memory")
    expect(report.clients).toBe(4)
    expect(report.watchers).toBe(3)
    expect(report.problems).toBe(0)
    expect(stdout).not.toMatch(/^problem:/m)
    // 4 clients x 2 creates (20 x 0.1) each, every one seen by each of the 3 watchers.
    expect(report.create.watch.events).toBe(4 * 2 * 3)
    expect(report.update.watch.events).toBe(4 * 2 * 3)
    expect(report.create.perSecond).toBeGreaterThan(0)
    expect(Object.keys(report.mix).length).toBeGreaterThan(0)
    expect(report.paced.offeredPerSecond).toBe(4 * 5)
    expect(report.watchDelivery.events).toBeGreaterThan(report.create.watch.events)
    expect(typeof report.goals.watchDeliveryP99Under50Ms).toBe("boolean")
    for (const phase of ["create", "get", "list", "update", "mix", "paced"])
      expect(stdout).toMatch(new RegExp(`^${phase} `, "m"))
  }, 60_000)
})
