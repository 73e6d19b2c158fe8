// etcd's space quota on `flotilla store` processes, with the real etcdctl: a
// write that would take the store past --quota-backend-bytes raises NOSPACE
// through the log, so every member then refuses what would grow the store
// (puts, lease grants, txns with puts) with etcd's message, and lists the
// alarm; reads, deletes and compaction go on; after a compaction frees the
// space, `etcdctl alarm disarm` lets writes in again. Messages as Debian's
// etcd 3.4.23 printed them in the same sequence with the same quota.
import { describe, expect, it } from "vitest"
import { etcdctl } from "../support/etcdctl.ts"
import { clusterForFile, FAST } from "../support/processes.ts"

const cluster = clusterForFile({ members: 3, flags: [...FAST, "--quota-backend-bytes=40000"] })

const NOSPACE = "etcdserver: mvcc: database space exceeded"

describe("the space quota (etcd's --quota-backend-bytes and NOSPACE alarm)", () => {
  it("raises NOSPACE on every member, refuses growth, and is disarmed once space is freed", async () => {
    const [a, b, c] = cluster().members.map((m) => m.endpoint) as [string, string, string]
    const value = "x".repeat(2000)
    let refusedAt = -1
    for (let i = 0; i < 40 && refusedAt < 0; i++) {
      const r = await etcdctl(a, ["put", `k${i}`, value])
      if (r.code !== 0) {
        expect(r.stderr).toContain(NOSPACE)
        refusedAt = i
      }
    }
    expect(refusedAt).toBeGreaterThan(0)
    // The alarm went through the log: another member refuses too, and lists it.
    expect((await etcdctl(b, ["put", "other", "1"])).stderr).toContain(NOSPACE)
    expect((await etcdctl(b, ["lease", "grant", "100"])).stderr).toContain(
      `failed to grant lease (${NOSPACE})`,
    )
    expect((await etcdctl(c, ["txn"], "\nput z 1\n\n\n")).stderr).toContain(NOSPACE)
    const listed = (await etcdctl(c, ["alarm", "list"])).stdout
    expect(listed).toMatch(/^memberID:\d+ alarm:NOSPACE \n$/)
    const status = JSON.parse((await etcdctl(c, ["endpoint", "status", "-w", "json"])).stdout)
    expect(status[0].Status.errors).toEqual([listed.trimEnd().concat(" ")])
    // Reads and deletes go on; after a compaction frees the space, disarm lets writes in.
    expect((await etcdctl(a, ["get", "k0", "--print-value-only"])).stdout).toBe(`${value}\n`)
    expect((await etcdctl(a, ["del", "k", "--prefix"])).stdout).toBe(`${refusedAt}\n`)
    const revision = JSON.parse((await etcdctl(a, ["get", "x", "-w", "json"])).stdout).header
      .revision as number
    expect((await etcdctl(a, ["compact", String(revision)])).code).toBe(0)
    expect((await etcdctl(b, ["alarm", "disarm"])).stdout).toBe(listed)
    expect((await etcdctl(a, ["put", "after", "1"])).stdout).toBe("OK\n")
    expect((await etcdctl(c, ["alarm", "list"])).stdout).toBe("")
  }, 60_000)
})
