// `flotilla up` as a real process: it serves kubectl, stops on SIGINT, and a
// second `up` on the same data directory finds the objects of the first.
import { execFile, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"

const bin = fileURLToPath(new URL("../bin/flotilla.js", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "flotilla-up-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Starts `flotilla up` and resolves once it prints the kubectl line. */
const start = () =>
  new Promise<{
    readonly stop: () => Promise<{ code: number | null; output: string }>
    readonly output: () => string
  }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "up", "--port", "0", "--data-dir", dir], {
      env: { ...process.env, NO_COLOR: "1" },
    })
    let output = ""
    const timer = setTimeout(
      () => reject(new Error(`flotilla up did not start:\n${output}`)),
      30_000,
    )
    const onData = (d: Buffer) => {
      output += d.toString("utf8")
      if (output.includes("kubectl --kubeconfig")) {
        clearTimeout(timer)
        resolve({
          output: () => output,
          stop: () =>
            new Promise((done) => {
              child.once("exit", (code) => done({ code, output }))
              child.kill("SIGINT")
            }),
        })
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("exit", (code) => reject(new Error(`flotilla up exited (${code}):\n${output}`)))
  })

const kubectl = (...args: Array<string>) =>
  promisify(execFile)(
    "/usr/bin/kubectl",
    ["--kubeconfig", join(dir, "kubeconfig"), "--cache-dir", join(dir, "cache"), ...args],
    {
      encoding: "utf8",
    },
  )

describe("flotilla up", () => {
  it("serves kubectl, stops on SIGINT and keeps its objects for the next up", async () => {
    const first = await start()
    expect(first.output()).toMatch(/API server on http:\/\/127\.0\.0\.1:\d+/)
    expect(readFileSync(join(dir, "kubeconfig"), "utf8")).toMatch(
      /server: http:\/\/127\.0\.0\.1:\d+/,
    )
    expect((await kubectl("create", "namespace", "kept")).stdout.trim()).toBe(
      "namespace/kept created",
    )
    const before = (
      await kubectl("get", "namespace", "kept", "-o", "jsonpath={.metadata.resourceVersion}")
    ).stdout
    const stopped = await first.stop()
    expect(stopped.output).toContain("flotilla: stopping")
    const second = await start()
    try {
      expect(second.output()).toMatch(/store: 3 members replicated by Raft/)
      const { stdout } = await kubectl(
        "get",
        "namespace",
        "kept",
        "-o",
        "jsonpath={.status.phase} {.metadata.resourceVersion}",
      )
      expect(stdout).toBe(`Active ${before}`)
    } finally {
      await second.stop()
    }
  })
})
