// Assembling members: the WAL directory is created safely, so a bad
// --data-dir fails with the reason instead of hanging the member.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Exit, Layer } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { bootstrapFor, mkdirAll, walStorage } from "../src/member.ts"

const root = mkdtempSync(path.join(tmpdir(), "flotilla-member-"))

afterAll(() => rmSync(root, { recursive: true, force: true }))

/** The error code `p` rejects with (fails if it resolves). */
const code = (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => {
      throw new Error("resolved")
    },
    (e: NodeJS.ErrnoException) => e.code,
  )

describe("mkdirAll", () => {
  it("creates every missing directory and accepts existing ones", async () => {
    const dir = path.join(root, "a", "b", "c")
    await mkdirAll(dir)
    expect(statSync(dir).isDirectory()).toBe(true)
    await mkdirAll(dir)
    mkdirSync(path.join(root, "x"))
    await mkdirAll(path.join(root, "x", "y"))
    expect(statSync(path.join(root, "x", "y")).isDirectory()).toBe(true)
  })

  it("fails where a parent cannot hold children: procfs (Node's recursive mkdir spins there forever), a file", async () => {
    expect(await code(mkdirAll("/proc/flotilla-no-such/member/wal"))).toBe("ENOENT")
    writeFileSync(path.join(root, "file"), "")
    expect(await code(mkdirAll(path.join(root, "file", "wal")))).toBe("ENOTDIR")
  })

  it("makes the WAL's bootstrap fail with a StorageFailure naming the path", async () => {
    const boot = bootstrapFor("new", [{ name: "m", peerURLs: ["http://127.0.0.1:2380"] }], "t")
    const exit = await Effect.runPromiseExit(
      Effect.scoped(Layer.build(walStorage("/proc/flotilla-no-such/member/wal", boot))),
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(
      /ENOENT.*\/proc\/flotilla-no-such/,
    )
  })
})
