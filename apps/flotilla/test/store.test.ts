// `flotilla store` refusing to start: the flag or address at fault in one
// line, and nothing written to the data directory.
import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"

const bin = fileURLToPath(new URL("../bin/flotilla.js", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "flotilla-store-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const store = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, "store", ...args],
      { encoding: "utf8", timeout: 20_000, killSignal: "SIGKILL" },
      (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    )
  })

describe("flotilla store", () => {
  it("fails on a client port in use before making its data directory (it made the WAL first)", async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve))
    const busy = (holder.address() as { port: number }).port
    const free = createServer()
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve))
    const peer = (free.address() as { port: number }).port
    await new Promise((resolve) => free.close(resolve))
    const dataDir = join(dir, "busy")
    try {
      const r = await store([
        "--name=n1",
        `--data-dir=${dataDir}`,
        `--listen-client-urls=http://127.0.0.1:${busy}`,
        `--advertise-client-urls=http://127.0.0.1:${busy}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=n1=http://127.0.0.1:${peer}`,
      ])
      expect(r.code).toBe(1)
      expect(r.stderr.trim()).toBe(
        `flotilla store: cannot listen on 127.0.0.1:${busy}: listen EADDRINUSE: address already in use 127.0.0.1:${busy}`,
      )
      expect(existsSync(dataDir)).toBe(false)
    } finally {
      holder.close()
    }
  })
})
