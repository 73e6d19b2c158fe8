import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { readTextFile } from "../src/read-file.ts"

const dir = mkdtempSync(join(tmpdir(), "read-file-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const failure = (path: string, limit?: number): string => {
  try {
    readTextFile(path, limit)
  } catch (e) {
    return (e as Error).message
  }
  throw new Error(`read ${path}`)
}

describe("readTextFile", () => {
  it("reads a file's text", () => {
    const file = join(dir, "config")
    writeFileSync(file, "kind: Config\né\n")
    expect(readTextFile(file)).toBe("kind: Config\né\n")
  })

  it("says why it cannot, in one clause", () => {
    expect(failure(join(dir, "missing"))).toBe("no such file or directory")
    expect(failure(dir)).toBe("is a directory")
    expect(failure(join(dir, "missing", "below"))).toBe("no such file or directory")
  })

  it("stops at the limit instead of reading without end (/dev/zero)", () => {
    // Before: readFileSync read /dev/zero until memory ran out.
    expect(failure("/dev/zero")).toBe("larger than 16 MiB")
    const file = join(dir, "big")
    writeFileSync(file, "x".repeat(2 * 1024 * 1024 + 1))
    expect(failure(file, 2 * 1024 * 1024)).toBe("larger than 2 MiB")
  })
})
