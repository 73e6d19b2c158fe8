/**
 * The README's TypeScript examples run as written: each ```ts block is
 * written to a module under node_modules/.cache (so `@flotilla/raft` resolves
 * as a user's import would) and imported, with console.log captured. Two
 * blocks name places a test must not use (a directory under /var/lib, fixed
 * ports): those names are replaced, and nothing else.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it, vi } from "vitest"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const blocks = [
  ...readFileSync(join(root, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g),
].map((m) => m[1] as string)
const cache = join(root, "node_modules", ".cache", "readme-examples")
// A module is evaluated once per URL: every run gets a file of its own.
let runs = 0

/** Imports one block (after `edit`); returns its exports and what it logs. */
const run = async (
  i: number,
  edit: (code: string) => string = (code) => code,
): Promise<{ exports: Record<string, unknown>; logged: Array<string> }> => {
  mkdirSync(cache, { recursive: true })
  const file = join(cache, `example-${i}-${process.pid}-${++runs}.ts`)
  writeFileSync(file, edit(blocks[i] as string))
  const logged: Array<string> = []
  vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
    logged.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "))
  })
  try {
    const exports = (await import(/* @vite-ignore */ file)) as Record<string, unknown>
    return { exports, logged }
  } finally {
    rmSync(file, { force: true })
  }
}

/** Replaces `from` in `code`, failing if the README no longer has it. */
const replace = (code: string, from: string, to: string): string => {
  expect(code).toContain(from)
  return code.replaceAll(from, to)
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("README examples", () => {
  it("has the four examples", () => {
    expect(blocks).toHaveLength(4)
  })

  it("the core example elects n1 and applies the proposal", async () => {
    const { logged } = await run(0)
    expect(logged).toEqual(['Leader ["hello"]'])
  })

  it("the runtime example proposes, reads and applies at index 2", async () => {
    const { logged } = await run(1)
    await vi.waitFor(() => expect(logged).toEqual(['2 2 Leader ["hello"]']), { timeout: 10_000 })
  })

  it("the FileWal example appends after what it recovers, in a fresh directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "raft-readme-wal-"))
    try {
      await run(2, (code) => replace(code, '"/var/lib/flotilla/raft"', JSON.stringify(dir)))
      // Run twice: the second run recovers the first one's entry and appends after it.
      await run(2, (code) => replace(code, '"/var/lib/flotilla/raft"', JSON.stringify(dir)))
      const { FileWal } = await import("@flotilla/raft")
      const { wal, recovery } = await FileWal.open({ dir })
      await wal.close()
      expect(recovery.entries.map((e) => [e.index, new TextDecoder().decode(e.data)])).toEqual([
        [1, "x"],
        [2, "x"],
      ])
      expect(readdirSync(dir).length).toBeGreaterThan(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("the transport example listens and reports its unreachable peer", async () => {
    const { exports, logged } = await run(
      3,
      (code) =>
        // Port 0 for itself; port 1 (nothing listens there) for n2. The handle is exported to close it.
        `${replace(replace(code, "port: 7001", "port: 0"), "port: 7002", "port: 1")}\nexport { t }\n`,
    )
    const t = exports.t as { close: () => Promise<void> }
    try {
      await vi.waitFor(() => expect(logged).toContain("n2 unreachable"), { timeout: 10_000 })
    } finally {
      await t.close()
    }
  })
})
