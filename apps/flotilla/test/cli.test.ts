import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import pkg from "../package.json" with { type: "json" }

const bin = fileURLToPath(new URL("../bin/flotilla.js", import.meta.url))
const run = (...args: Array<string>) =>
  promisify(execFile)(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  })

describe("flotilla command", () => {
  it("prints its version", async () => {
    const { stdout } = await run("--version")
    expect(stdout.trim()).toBe(`flotilla v${pkg.version}`)
  })

  it("prints help naming the command", async () => {
    const { stdout } = await run("--help")
    expect(stdout).toContain("USAGE")
    expect(stdout).toContain("flotilla")
  })

  it("takes `help [subcommand]` as kubectl and etcdctl do (it was an unknown subcommand, exit 2)", async () => {
    const [help, rootHelp, helpUp, upHelp] = await Promise.all([
      run("help"),
      run("--help"),
      run("help", "up"),
      run("up", "--help"),
    ])
    expect(help.stdout).toBe(rootHelp.stdout)
    expect(helpUp.stdout).toBe(upHelp.stdout)
    expect(helpUp.stdout).toContain("flotilla up [flags]")
    const failure = await run("help", "nope").then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    )
    expect(failure?.code).toBe(2)
  })

  it("exits 2 with the problem on a command line that does not parse", async () => {
    const failure = await run("validate", "--no-such-flag").then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    )
    expect(failure?.code).toBe(2)
    expect(failure?.stderr).toContain("Unrecognized flag: --no-such-flag")
  })
})
