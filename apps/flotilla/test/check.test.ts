import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const bin = fileURLToPath(new URL("../bin/flotilla.js", import.meta.url))

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const flotilla = (...args: ReadonlyArray<string>): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resolve({ code, stdout, stderr })
      },
    )
  })

describe("flotilla check", () => {
  it("lists the models and their options", async () => {
    const r = await flotilla("check", "--list")
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("naive-replication")
    expect(r.stdout).toContain("two-phase-commit")
    expect(r.stdout).toContain("--scenario")
  })

  it("finds the stale read after a partition, saves the trace, and replays it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flotilla-check-"))
    const file = join(dir, "stale.json")
    const r = await flotilla(
      "check",
      "naive-replication",
      "--scenario",
      "partition",
      "--trace-out",
      file,
    )
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('✗ always "linearizable"')
    expect(r.stdout).toContain("VIOLATED (7 steps)")
    expect(r.stdout).toContain("partition heals")
    expect(r.stdout).toContain("client2 gets X")
    const trace = JSON.parse(readFileSync(file, "utf8"))
    expect(trace.model).toBe("naive-replication")
    expect(trace.options).toEqual({ servers: "3", scenario: "partition" })
    expect(trace.steps).toHaveLength(7)

    const replayed = await flotilla("check", "replay", file)
    expect(replayed.code).toBe(0)
    expect(replayed.stdout).toContain("replayed 7 steps of model naive-replication")

    // A trace that does not match the model any more does not reproduce.
    trace.steps[6].fingerprint = "0000000000000000"
    writeFileSync(file, JSON.stringify(trace))
    const tampered = await flotilla("check", "replay", file)
    expect(tampered.code).toBe(1)
    expect(tampered.stderr).toContain("state 7: fingerprint")
  })

  it("exits 0 when every property holds, on worker threads too", async () => {
    const r = await flotilla("check", "two-phase-commit", "--rms", "4", "--threads", "2")
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("bfs on 2 threads")
    expect(r.stdout).toContain('✓ eventually "every RM decides"  holds')
    expect(r.stdout).toContain("(exhaustive)")
  })

  it("exits 2 on bad options, naming the option", async () => {
    const scenario = await flotilla("check", "naive-replication", "--scenario", "bogus")
    expect(scenario.code).toBe(2)
    expect(scenario.stderr).toContain(
      'flotilla check: --scenario: expected one of concurrent-writes, partition, got "bogus"',
    )
    const misplaced = await flotilla(
      "check",
      "two-phase-commit",
      "--servers",
      "3",
      "--max-depth",
      "-1",
    )
    expect(misplaced.code).toBe(2)
    expect(misplaced.stderr).toContain("--max-depth: must be at least 0, got -1")
    const unknown = await flotilla("check", "raft-ish")
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('unknown model "raft-ish"')
    // A --trace-out that cannot be written is refused before the run, not after it.
    const dir = mkdtempSync(join(tmpdir(), "flotilla-check-"))
    const target = join(dir, "no-such-dir", "t.json")
    const traceOut = await flotilla("check", "naive-replication", "--trace-out", target)
    expect(traceOut.code).toBe(2)
    expect(traceOut.stdout).toBe("")
    expect(traceOut.stderr.trim()).toBe(
      `flotilla check: --trace-out ${target}: directory ${join(dir, "no-such-dir")}: no such file or directory`,
    )
    rmSync(dir, { recursive: true, force: true })
  })
})
