// `flotilla store --auto-compaction-retention` as a real process: the leader
// compacts its history to the revision of one retention ago, as etcd 3.4 does
// with the same flags (checked by hand against Debian's etcd: both compacted to
// revision 3 after puts at revisions 2 and 3 and 2.5 s of waiting).
import { describe, expect, it } from "vitest"
import { etcdctl } from "../support/etcdctl.ts"
import { clusterForFile, FAST, waitFor } from "../support/processes.ts"

const cluster = clusterForFile({
  members: 3,
  flags: [...FAST, "--auto-compaction-mode=periodic", "--auto-compaction-retention=1s"],
})

describe("automatic compaction", () => {
  it("compacts the leader's history to one retention ago, on every member", async () => {
    const c = cluster()
    const endpoint = c.members[0]?.endpoint as string
    expect(c.members[0]?.log).toContain("auto compaction: periodic, keeping 1 s of history")
    const put = async (value: string) =>
      JSON.parse((await etcdctl(endpoint, ["put", "k", value, "-w", "json"])).stdout).header
        .revision as number
    const first = await put("v1")
    await put("v2")
    // Within a few retentions the revision of the first put is compacted away.
    await waitFor(
      "the first put's revision to be compacted",
      async () => {
        const r = await etcdctl(endpoint, ["get", "k", `--rev=${first}`])
        return r.stderr.includes("required revision has been compacted") ? true : undefined
      },
      15_000,
    )
    // Reads at the current revision are untouched.
    expect((await etcdctl(endpoint, ["get", "k", "--print-value-only"])).stdout).toBe("v2\n")
    // Compaction is a log entry: every member applies it.
    await waitFor("every member to apply the compaction", async () => {
      const again = await Promise.all(
        c.members.map(async (m) => {
          const text = await (await fetch(`http://${m.endpoint}/metrics`)).text()
          return Number(/^etcd_debugging_mvcc_compact_revision (\d+)$/m.exec(text)?.[1])
        }),
      )
      return again.every((x) => x >= first) ? true : undefined
    })
  }, 60_000)
})
