import { spawn } from "node:child_process"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { FileWal } from "../../src/wal/file-wal.ts"
import { withTempDir } from "./helpers.ts"

const FIXTURE = path.join(import.meta.dirname, "fixtures", "appender.ts")
const dataFor = (index: number) => Uint8Array.from({ length: 40 }, (_, k) => (index * 7 + k) & 0xff)

/** Runs the appender until it has acknowledged `acks` entries, then kill -9s it. */
const runAndKill = (dir: string, acks: number) =>
  new Promise<{ maxAcked: number; maxTerm: number }>((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=@flotilla/source", FIXTURE, dir], {
      stdio: ["ignore", "pipe", "pipe"],
    })
    let maxAcked = 0
    let maxTerm = 0
    let seen = 0
    let killed = false
    let stderr = ""
    let rest = ""
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString()
    })
    child.stdout.on("data", (c: Buffer) => {
      const lines = (rest + c.toString()).split("\n")
      rest = lines.pop()!
      for (const line of lines) {
        const [kind, n] = line.split(" ")
        if (kind === "ack") {
          maxAcked = Math.max(maxAcked, Number(n))
          seen++
        } else if (kind === "hs") maxTerm = Math.max(maxTerm, Number(n))
      }
      if (!killed && seen >= acks) {
        killed = true
        child.kill("SIGKILL")
      }
    })
    child.on("exit", (_code, signal) => {
      if (signal === "SIGKILL") resolve({ maxAcked, maxTerm })
      else reject(new Error(`appender exited without being killed: ${stderr}`))
    })
  })

describe("FileWal under kill -9", () => {
  it("keeps every acknowledged entry and hard state of a killed process, and continues", async () => {
    await withTempDir(async (dir) => {
      let expectedLast = 0
      for (const acks of [150, 700, 1500]) {
        const { maxAcked, maxTerm } = await runAndKill(dir, acks)
        expect(maxAcked).toBeGreaterThan(expectedLast)
        // The dead process's lock is taken over.
        const { wal, recovery } = await FileWal.open({ dir, segmentBytes: 64 * 1024 })
        expect(recovery.lastIndex).toBeGreaterThanOrEqual(maxAcked)
        expect(recovery.entries.length).toBe(recovery.lastIndex)
        for (const e of recovery.entries) expect(e.data).toEqual(dataFor(e.index))
        expect(recovery.hardState?.term ?? 0).toBeGreaterThanOrEqual(maxTerm)
        expectedLast = recovery.lastIndex
        await wal.close()
      }
    })
  })
})
