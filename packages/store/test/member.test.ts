// Assembling members: the WAL directory is created safely, so a bad
// --data-dir fails with the reason instead of hanging the member.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Exit, Layer } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { bootstrapFor, walHoldsState, walStorage } from "../src/member.ts"

const root = mkdtempSync(path.join(tmpdir(), "flotilla-member-"))

afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Builds (and releases) a member's WAL storage on `dir`; its exit. */
const bootstrapOn = (dir: string) => {
  const boot = bootstrapFor("new", [{ name: "m", peerURLs: ["http://127.0.0.1:2380"] }], "t")
  return Effect.runPromiseExit(Effect.scoped(Layer.build(walStorage(dir, boot))))
}

describe("walStorage's directory", () => {
  it("is made with every missing parent, or taken as it is", async () => {
    const dir = path.join(root, "a", "b", "c")
    expect(Exit.isSuccess(await bootstrapOn(dir))).toBe(true)
    expect(statSync(dir).isDirectory()).toBe(true)
    expect(Exit.isSuccess(await bootstrapOn(dir))).toBe(true)
    mkdirSync(path.join(root, "x"))
    expect(Exit.isSuccess(await bootstrapOn(path.join(root, "x", "y")))).toBe(true)
  })

  it("fails with the reason where a parent is a file", async () => {
    writeFileSync(path.join(root, "file"), "")
    const exit = await bootstrapOn(path.join(root, "file", "wal"))
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(/ENOTDIR/)
  })

  it("fails at once under /proc (Node's recursive mkdir spins there forever), naming the path", async () => {
    const exit = await bootstrapOn("/proc/flotilla-no-such/member/wal")
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(
      /ENOENT.*\/proc\/flotilla-no-such/,
    )
  })
})

describe("walHoldsState", () => {
  it("is false for a missing directory (left missing) and an empty one, true once bootstrapped", async () => {
    const holds = (dir: string) => Effect.runPromise(walHoldsState(dir))
    const dir = path.join(root, "holds", "wal")
    expect(await holds(dir)).toBe(false)
    expect(existsSync(path.join(root, "holds"))).toBe(false)
    mkdirSync(dir, { recursive: true })
    expect(await holds(dir)).toBe(false)
    expect(Exit.isSuccess(await bootstrapOn(dir))).toBe(true)
    expect(await holds(dir)).toBe(true)
  })
})
