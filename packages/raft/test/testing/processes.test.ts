// Three member processes on 127.0.0.1 over TCP with file WALs. The leader is
// killed with SIGKILL while proposals run; a new leader is elected, no
// acknowledged entry is lost, and the killed member restarts from its WAL and
// catches up. Real time: every wait polls a condition up to a deadline.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type MemberProcess, spawnMember } from "../../src/testing/processes.ts"

const ids = ["n1", "n2", "n3"]
const live: MemberProcess[] = []
let root = ""

afterEach(async () => {
  await Promise.all(live.splice(0).map((m) => m.kill()))
  if (root !== "") rmSync(root, { recursive: true, force: true })
})

const until = async (what: string, cond: () => Promise<boolean> | boolean, ms = 20_000) => {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const start = async (id: string, seed: number) => {
  const m = await spawnMember({
    id,
    ids,
    dir: join(root, id),
    tickMs: 20,
    seed,
    snapshotEvery: 100,
    keepValues: true,
  })
  live.push(m)
  return m
}

const leaderAmong = async (members: ReadonlyArray<MemberProcess>) => {
  const statuses = await Promise.all(members.map((m) => m.status()))
  const leaders = statuses.filter((s) => s.role === "Leader")
  return leaders.length === 1 ? members.find((m) => m.id === leaders[0]!.id) : undefined
}

const connect = (members: ReadonlyArray<MemberProcess>) => {
  const peers = Object.fromEntries(members.map((m) => [m.id, m.address]))
  for (const m of members) m.peers(peers)
}

describe("member processes", () => {
  it("kill -9 of the leader loses no acknowledged entry; the killed member restarts and catches up", async () => {
    root = mkdtempSync(join(tmpdir(), "raft-kill9-"))
    let members = await Promise.all(ids.map((id, i) => start(id, i + 1)))
    connect(members)
    let leader: MemberProcess | undefined
    await until("a leader", async () => (leader = await leaderAmong(members)) !== undefined)
    const acked = new Set<string>()
    for (const m of members) m.onAck = (v) => acked.add(v)
    const values = Array.from({ length: 300 }, (_, i) => `v${i}`)
    leader!.propose(values, 16)
    await until("some acknowledgements", () => acked.size >= 60)
    const killed = leader!
    await killed.kill()
    const survivors = members.filter((m) => m !== killed)
    await until("a new leader", async () => (leader = await leaderAmong(survivors)) !== undefined)
    // Values the dead leader never acknowledged are proposed again.
    leader!.propose(
      values.filter((v) => !acked.has(v)),
      16,
    )
    await until("every value acknowledged", () => acked.size === values.length)
    const restarted = await start(killed.id, 42)
    restarted.onAck = (v) => acked.add(v)
    members = [...survivors, restarted]
    connect(members)
    await until("every member to apply every acknowledged value", async () => {
      const all = await Promise.all(members.map((m) => m.values()))
      return all.every((vs) => [...acked].every((v) => vs.includes(v)))
    })
    const all = await Promise.all(members.map((m) => m.values()))
    // Everyone applied the same sequence (a value the dead leader placed but
    // never acknowledged may appear twice, once per proposal).
    expect(new Set(all.map((vs) => vs.join(","))).size).toBe(1)
    expect(acked.size).toBe(300)
  }, 90_000)
})
