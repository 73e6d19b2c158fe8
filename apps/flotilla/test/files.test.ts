import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { readInput, writableTarget, writeAtomic } from "../src/files.ts"

const dir = mkdtempSync(join(tmpdir(), "flotilla-files-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const read = (path: string, limit?: number) =>
  Effect.runPromiseExit(readInput(path, limit)).then((exit) =>
    Exit.isSuccess(exit)
      ? { text: exit.value }
      : { error: (exit.cause.reasons[0] as { error: string }).error },
  )

describe("files", () => {
  it("reads a file, and refuses what cannot be a manifest with a short reason", async () => {
    writeFileSync(join(dir, "a.yaml"), "kind: Pod\n")
    expect(await read(join(dir, "a.yaml"))).toEqual({ text: "kind: Pod\n" })
    expect(await read(join(dir, "missing.yaml"))).toEqual({ error: "no such file or directory" })
    expect(await read(dir)).toEqual({ error: "is a directory" })
    // Reading /dev/zero never ended (memory grew until the process died).
    expect(await read("/dev/zero")).toEqual({ error: "is not a regular file" })
    writeFileSync(join(dir, "big.yaml"), "x".repeat(2048))
    expect(await read(join(dir, "big.yaml"), 1024)).toEqual({
      error: `larger than ${1024 / (1024 * 1024)} MiB`,
    })
  })

  it("names a target that cannot be written before a long run", () => {
    expect(writableTarget(join(dir, "t.json"))).toBeUndefined()
    expect(writableTarget(dir)).toBe("is a directory")
    expect(writableTarget(join(dir, "no", "such", "t.json"))).toBe(
      `directory ${join(dir, "no", "such")}: no such file or directory`,
    )
  })

  it("writes whole files and leaves no temporary file behind when it cannot", () => {
    writeAtomic(join(dir, "w.txt"), "one")
    expect(readFileSync(join(dir, "w.txt"), "utf8")).toBe("one")
    mkdirSync(join(dir, "target-is-dir"))
    expect(() => writeAtomic(join(dir, "target-is-dir"), "two")).toThrow()
    expect(readdirSync(dir).filter((n) => n.includes(".tmp-"))).toEqual([])
  })
})
