// `flotilla snapshot restore`: a data directory from a snapshot file (etcd's
// backend database with its SHA-256), exit 2 on bad flags and 1 on a file
// that cannot be restored, nothing written then.
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { MvccStore, writeBackendDb } from "@flotilla/store"
import { afterAll, describe, expect, it } from "vitest"

const bin = fileURLToPath(new URL("../bin/flotilla.js", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "flotilla-snapshot-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const flotilla = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { encoding: "utf8", timeout: 20_000, killSignal: "SIGKILL" },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    )
  })

/** A snapshot file as `etcdctl snapshot save` writes it: the database, then its SHA-256. */
const snapshotFile = (name: string, damage = false): string => {
  const store = new MvccStore()
  const enc = (s: string) => new TextEncoder().encode(s)
  store.put({ key: enc("a"), value: enc("1") })
  store.put({ key: enc("b"), value: enc("2") })
  store.deleteRange({ key: enc("a") })
  const db = writeBackendDb({
    state: store.exportState(),
    members: [],
    removed: [],
    clusterVersion: "3.4.0",
  })
  const sha = createHash("sha256").update(db).digest()
  if (damage) db[100] = (db[100] as number) ^ 1
  const file = join(dir, name)
  writeFileSync(file, Buffer.concat([db, sha]))
  return file
}

const flags = (dataDir: string) => [
  "--name=r",
  `--data-dir=${dataDir}`,
  "--initial-cluster=r=http://127.0.0.1:2380",
  "--initial-advertise-peer-urls=http://127.0.0.1:2380",
]

describe("flotilla snapshot restore", () => {
  it("makes the data directory and says what it holds", async () => {
    const dataDir = join(dir, "ok")
    const r = await flotilla(["snapshot", "restore", snapshotFile("ok.db"), ...flags(dataDir)])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      /^restored .*ok\.db into .*ok: member [0-9a-f]+ \(r\) of 1, revision 4, 1 keys\n$/,
    )
    expect(existsSync(join(dataDir, "member", "wal"))).toBe(true)
  })

  it("refuses a damaged file (exit 1) and bad flags (exit 2), writing nothing", async () => {
    const damaged = join(dir, "damaged")
    const r = await flotilla([
      "snapshot",
      "restore",
      snapshotFile("bad.db", true),
      ...flags(damaged),
    ])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^flotilla snapshot restore: .*bad\.db: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}\n$/,
    )
    expect(existsSync(damaged)).toBe(false)
    const unnamed = join(dir, "unnamed")
    const u = await flotilla([
      "snapshot",
      "restore",
      snapshotFile("ok2.db"),
      "--name=x",
      `--data-dir=${unnamed}`,
      "--initial-cluster=r=http://127.0.0.1:2380",
    ])
    expect(u.code).toBe(2)
    expect(u.stderr).toContain("--initial-cluster")
    expect(existsSync(unnamed)).toBe(false)
  })
})
