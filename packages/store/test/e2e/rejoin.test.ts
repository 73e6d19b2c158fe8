// A member that lost its data directory must not rejoin as if new (Raft
// safety): started again with an empty data directory and
// `--initial-cluster-state new` inside a running cluster, it bootstrapped a
// fresh log (term 0, no vote) under its old ID, could vote twice in a term and
// had forgotten entries it acknowledged. Like etcd, it now asks its peers
// first and stops with "has already been bootstrapped" (also as existing,
// which etcd does not check). New clusters still boot with their members
// started at once or one after another, a member restarted with its data
// still runs, and the way back (remove, add, start as existing) works.
// Real `flotilla store` processes on 127.0.0.1.
import { existsSync, rmSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { etcdctl, etcdctlMemberChange } from "../support/etcdctl.ts"
import { clusterForFile, ProcessCluster, waitFor } from "../support/processes.ts"

const ctl = async (endpoints: string, ...args: string[]): Promise<string> => {
  const r = await etcdctl(endpoints, args)
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(" ")}: ${r.stderr}`)
  return r.stdout
}

interface MemberJson {
  readonly ID: string
  readonly name?: string
  readonly clientURLs?: ReadonlyArray<string>
}

/** etcdctl's member list: IDs in hex, and the cluster ID (uint64 decimals in its JSON). */
const memberList = async (
  endpoints: string,
): Promise<{ readonly clusterId: string; readonly members: MemberJson[] }> => {
  const out = await ctl(endpoints, "member", "list", "-w", "json")
  const json = JSON.parse(out.replace(/("(?:ID|cluster_id|member_id)":)(\d+)/g, '$1"$2"')) as {
    readonly header: { readonly cluster_id: string }
    readonly members: ReadonlyArray<MemberJson>
  }
  return {
    clusterId: BigInt(json.header.cluster_id).toString(16),
    members: json.members.map((m) => ({ ...m, ID: BigInt(m.ID).toString(16) })),
  }
}

/** Waits until the members that published their client URLs are exactly `names`. */
const published = (c: ProcessCluster, names: ReadonlyArray<string>) =>
  waitFor(`${names.join(",")} published`, async () => {
    const list = await memberList(c.endpoints)
    const started = list.members.filter((m) => (m.clientURLs ?? []).length > 0)
    const got = started.map((m) => m.name ?? "").sort()
    return got.join() === [...names].sort().join() ? list : undefined
  })

/** What a member logged its initial peers knew of it when it started from an empty data directory. */
const boot = (c: ProcessCluster, name: string): string | undefined =>
  /empty data directory; the initial peers knew this member as: (.*)/.exec(c.byName(name).log)?.[1]

// All three start at once, empty: none can hear from another before it
// bootstraps, or each hears that the others never ran.
const shared = clusterForFile({ members: 3 })

describe("a member that lost its data directory", () => {
  it("refuses to start afresh under its old ID (it did; as new, and as existing once re-added), writes nothing, and the way back works", async () => {
    const cluster = shared()
    const n3 = cluster.byName("n3")
    expect(await ctl(cluster.endpoints, "put", "before", "1")).toBe("OK\n")
    const { clusterId, members } = await published(cluster, ["n1", "n2", "n3"])
    // Started at once, each heard nothing, or "unstarted", from the others
    // ("unknown" from a peer asked before its Raft node restored its membership).
    const quiet = "(no answer|unstarted|unknown)"
    for (const name of ["n1", "n2", "n3"]) {
      const others = ["n1", "n2", "n3"].filter((n) => n !== name)
      expect(boot(cluster, name)).toMatch(
        new RegExp(`^${others[0]} ${quiet}, ${others[1]} ${quiet}$`),
      )
    }
    const id = members.find((m) => m.name === "n3")!.ID
    await n3.kill()
    rmSync(n3.dataDir, { recursive: true, force: true })
    for (let attempt = 0; attempt < 2; attempt++) {
      const from = n3.log.length
      await expect(n3.start("new")).rejects.toThrow(/exited/)
      expect(n3.exitCode).toBe(1)
      const lines = n3.log.slice(from).trim().split("\n")
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(
        new RegExp(
          `^flotilla store: member ${id} \\(n3\\) has already been bootstrapped: n[12] knows it as a started member of cluster ${clusterId}, and its data directory is empty \\(it would rejoin having forgotten its log\\); remove it \\(etcdctl member remove ${id}\\), add it back under a new peer URL \\(etcdctl member add\\) and start that with an empty data directory and --initial-cluster-state existing$`,
        ),
      )
      // Nothing written: the next attempt is refused again, not started from a log made by this one.
      expect(existsSync(path.join(n3.dataDir, "member", "wal"))).toBe(false)
    }
    // The others carry on without it.
    expect(await ctl(cluster.endpoints, "put", "after", "2")).toBe("OK\n")

    // The way back: remove it, add it under a new peer URL, start that as existing.
    expect(await ctl(cluster.endpoints, "member", "remove", id)).toMatch(
      new RegExp(`^Member +${id} removed from cluster`),
    )
    const n3b = await cluster.prepare("n3b")
    expect(
      await etcdctlMemberChange(cluster.endpoints, [
        "member",
        "add",
        "n3b",
        `--peer-urls=${n3b.peerURL}`,
      ]),
    ).toMatch(/^Member +[0-9a-f]+ added to cluster/)
    await n3b.start("existing")
    await waitFor("n3b to catch up", async () => {
      const v = await ctl(n3b.endpoint, "get", "after", "--print-value-only", "--consistency=s")
      return v === "2\n" ? true : undefined
    })
    await published(cluster, ["n1", "n2", "n3b"])
    // Joining, it heard that the others knew it only as added.
    expect(boot(cluster, "n3b")).toMatch(/^n1 unstarted, n2 unstarted, n3 (no answer|unknown)$/)

    // Wiped after it ran, it is refused as existing too (the same lost votes and entries).
    const id3b = (await memberList(cluster.endpoints)).members.find((m) => m.name === "n3b")!.ID
    await n3b.kill()
    rmSync(n3b.dataDir, { recursive: true, force: true })
    const before = n3b.log.length
    await expect(n3b.start("existing")).rejects.toThrow(/exited/)
    expect(n3b.exitCode).toBe(1)
    expect(n3b.log.slice(before).trim()).toMatch(
      new RegExp(
        `^flotilla store: member ${id3b} \\(n3b\\) has already been bootstrapped: n[12] knows it as a started member of cluster ${clusterId}, `,
      ),
    )

    // The old member, started with its old flags, is now told it was removed.
    const from = n3.log.length
    await expect(n3.start("new")).rejects.toThrow(/exited/)
    expect(n3.exitCode).toBe(1)
    expect(n3.log.slice(from).trim()).toMatch(
      new RegExp(
        `^flotilla store: member ${id} \\(n3\\) was removed from cluster ${clusterId} \\(n[12] says so\\) and cannot bootstrap again under its ID; add it back under a new peer URL \\(etcdctl member add\\) and start that with --initial-cluster-state existing$`,
      ),
    )
  })

  it("a member restarted with its data directory intact still runs (it asks nobody)", async () => {
    const cluster = shared()
    const n1 = cluster.byName("n1")
    await n1.kill()
    const from = n1.log.length
    await n1.start("new")
    expect(n1.log.slice(from)).not.toContain("empty data directory")
    expect(await ctl(n1.endpoint, "put", "restarted", "yes")).toBe("OK\n")
    expect(await ctl(cluster.endpoints, "get", "before", "--print-value-only")).toBe("1\n")
  })
})

describe("a new cluster whose members start one after another", () => {
  it("boots: the last one hears that the others know it only as unstarted", async () => {
    const c = await ProcessCluster.start({ members: 3, deferStart: true })
    try {
      // n3 alone (nobody answers), then n1 (n3 answers: unstarted); they
      // elect a leader and publish before n2 starts and asks both.
      // Alone, n3 cannot be ready (no quorum): only its client ports listen.
      await c.byName("n3").start("new", "listening")
      const lone = await fetch(`http://${c.byName("n3").endpoint}/health`)
      expect(lone.status).toBe(503)
      expect(c.byName("n3").log).not.toContain("ready to serve client requests")
      await c.byName("n1").start("new")
      await waitFor("n3 to be ready", () =>
        c.byName("n3").log.includes("ready to serve client requests") ? true : undefined,
      )
      await published(c, ["n1", "n3"])
      await c.byName("n2").start("new")
      await published(c, ["n1", "n2", "n3"])
      expect(boot(c, "n3")).toBe("n1 no answer, n2 no answer")
      expect(boot(c, "n1")).toBe("n2 no answer, n3 unstarted")
      expect(boot(c, "n2")).toBe("n1 unstarted, n3 unstarted")
      expect(await ctl(c.endpoints, "put", "k", "v")).toBe("OK\n")
      expect(await ctl(c.byName("n2").endpoint, "get", "k", "--print-value-only")).toBe("v\n")
    } finally {
      await c.close()
    }
  }, 60_000)
})
