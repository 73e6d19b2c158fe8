// A 3-member cluster of real `flotilla store` processes on 127.0.0.1, started
// with etcd's flags and driven by etcdctl 3.4 and the npm etcd3 client:
// headers, membership, kill -9 of a follower and of the leader without losing
// an acknowledged write, a member added (it joins from a snapshot of the
// registry) and removed (it exits); the admin calls: move-leader, a learner
// added, started and promoted (through a follower, which asks the leader), and
// member update (the others dial the member at its new peer URL).
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server, type Socket } from "node:net"
import * as grpc from "@grpc/grpc-js"
import { Etcd3 } from "etcd3"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { decodeIdentity } from "../../src/core/identity.ts"
import { loadEtcdServices } from "../../src/grpc/services.ts"
import { identityPath } from "../../src/identity.ts"
import { ensureEtcdctl, etcdctl, etcdctlMemberChange } from "../support/etcdctl.ts"
import { freePorts, ProcessCluster, type StoreProcess, waitFor } from "../support/processes.ts"

let cluster: ProcessCluster

/** etcdctl's JSON with uint64 IDs kept exact (as strings). */
const parse = <T>(text: string): T =>
  JSON.parse(text.replace(/("(?:cluster_id|member_id|ID|leader)":)(\d+)/g, '$1"$2"')) as T

interface Header {
  readonly cluster_id: string
  readonly member_id: string
  readonly revision: number
  readonly raft_term: number
}
interface MemberJson {
  readonly ID: string
  readonly name?: string
  readonly isLearner?: boolean
  readonly peerURLs: ReadonlyArray<string>
  readonly clientURLs?: ReadonlyArray<string>
}
interface MemberList {
  readonly header: Header
  readonly members: ReadonlyArray<MemberJson>
}
interface StatusJson {
  readonly Endpoint: string
  readonly Status: { readonly header: Header; readonly leader: string; readonly raftTerm: number }
}
interface GetJson {
  readonly header: Header
  readonly kvs: ReadonlyArray<{ readonly value: string }>
}

const ctl = async (endpoints: string, ...args: string[]): Promise<string> => {
  const r = await etcdctl(endpoints, args)
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(" ")}: ${r.stderr}`)
  return r.stdout
}

interface EndpointStatus {
  readonly endpoint: string
  readonly clusterId: string
  readonly memberId: string
  readonly leader: string
  readonly raftTerm: number
  readonly revision: number
}

const statuses = async (endpoints: string): Promise<EndpointStatus[]> =>
  parse<StatusJson[]>(await ctl(endpoints, "endpoint", "status", "-w", "json")).map((s) => ({
    endpoint: s.Endpoint,
    clusterId: s.Status.header.cluster_id,
    memberId: s.Status.header.member_id,
    leader: s.Status.leader,
    raftTerm: s.Status.raftTerm,
    revision: s.Status.header.revision,
  }))

/** The member every running member agrees leads (waits for one). */
const leader = (): Promise<StoreProcess> =>
  waitFor("an agreed leader", async () => {
    const ss = await statuses(cluster.endpoints)
    const leaders = new Set(ss.map((s) => s.leader))
    if (leaders.size !== 1) return undefined
    const l = ss.find((s) => s.memberId === ss[0]!.leader)
    return l === undefined ? undefined : cluster.members.find((m) => m.endpoint === l.endpoint)
  })

const memberIdOf = async (m: StoreProcess): Promise<string> =>
  (await statuses(m.endpoint))[0]!.memberId

/** A decimal uint64 ID as etcdctl takes it on its command line (hex). */
const hex = (decimal: string): string => BigInt(decimal).toString(16)

/**
 * etcdctl's failure: its exit code and its "Error: ..." line (etcd's message;
 * the client may log its retries before it).
 */
const ctlFails = async (endpoints: string, ...args: string[]) => {
  const r = await etcdctl(endpoints, args)
  return { code: r.code, stderr: r.stderr.split("\n").find((l) => l.startsWith("Error:")) }
}

beforeAll(async () => {
  ensureEtcdctl()
  cluster = await ProcessCluster.start({ members: 3 })
}, 60_000)

afterAll(async () => {
  await cluster?.close()
})

describe("a 3-member cluster of flotilla store processes", () => {
  it("serves etcdctl on every member with etcd's headers and membership", async () => {
    const [n1, n2, n3] = cluster.members as [StoreProcess, StoreProcess, StoreProcess]
    // "ready to serve client requests" (what start waited for) means ready, as
    // etcd's: each member published and caught up with a leader, so /health
    // (a linearizable read) answers 200 at once (it was 503 for ~1 s).
    for (const m of cluster.members) {
      const r = await fetch(`http://${m.endpoint}/health`)
      expect([m.name, r.status, await r.text()]).toEqual([m.name, 200, '{"health":"true"}'])
    }
    expect(await ctl(n1.endpoint, "put", "greeting", "hello")).toBe("OK\n")
    const got = parse<GetJson>(await ctl(n2.endpoint, "get", "greeting", "-w", "json"))
    expect(Buffer.from(got.kvs[0]!.value, "base64").toString()).toBe("hello")
    const ss = await statuses(cluster.endpoints)
    expect(ss).toHaveLength(3)
    expect(new Set(ss.map((s) => s.clusterId)).size).toBe(1)
    expect(new Set(ss.map((s) => s.memberId)).size).toBe(3)
    expect(new Set(ss.map((s) => s.leader)).size).toBe(1)
    expect(ss.map((s) => s.memberId)).toContain(ss[0]!.leader)
    expect(got.header.cluster_id).toBe(ss[0]!.clusterId)
    expect(got.header.member_id).toBe(await memberIdOf(n2))
    expect(got.header.raft_term).toBeGreaterThanOrEqual(1)
    expect(got.header.revision).toBeGreaterThanOrEqual(2)

    const list = parse<MemberList>(await ctl(n3.endpoint, "member", "list", "-w", "json"))
    expect(list.members.map((m) => m.name).sort()).toEqual(["n1", "n2", "n3"])
    for (const m of cluster.members) {
      const entry = list.members.find((x) => x.name === m.name)
      expect(entry?.peerURLs).toEqual([m.peerURL])
      expect(entry?.clientURLs).toEqual([`http://${m.endpoint}`])
      expect(entry?.ID).toBe(await memberIdOf(m))
    }
    const txn = 'value("greeting") = "hello"\n\nput greeting bye\n\nget greeting\n\n'
    const r = await etcdctl(n3.endpoint, ["txn"], txn)
    expect(r.stdout).toBe("SUCCESS\n\nOK\n")
    expect(await ctl(n1.endpoint, "get", "greeting", "--print-value-only")).toBe("bye\n")
  })

  it("serves the etcd3 client: writes on one member, a watch on another, leases", async () => {
    const [n1, n2, n3] = cluster.members as [StoreProcess, StoreProcess, StoreProcess]
    const writer = new Etcd3({ hosts: n1.endpoint })
    const watcher = new Etcd3({ hosts: n3.endpoint })
    const other = new Etcd3({ hosts: n2.endpoint })
    try {
      const seen: string[] = []
      const w = await watcher.watch().prefix("e3/").create()
      w.on("put", (kv) => seen.push(kv.value.toString()))
      for (const v of ["a", "b", "c"]) await writer.put("e3/k").value(v)
      expect(await other.get("e3/k").string()).toBe("c")
      const cas = await other
        .if("e3/k", "Value", "==", "c")
        .then(other.put("e3/k").value("d"))
        .commit()
      expect(cas.succeeded).toBe(true)
      await waitFor("the watch events", () => (seen.length >= 4 ? true : undefined))
      expect(seen).toEqual(["a", "b", "c", "d"])
      await w.cancel()

      const lease = other.lease(30, { autoKeepAlive: false })
      await lease.grant()
      await lease.put("e3/leased").value("x")
      const ka = await lease.keepaliveOnce()
      expect(String(ka.TTL)).toBe("30")
      expect(await writer.get("e3/leased").string()).toBe("x")
      await lease.revoke()
      expect(await writer.get("e3/leased").string()).toBeNull()
    } finally {
      writer.close()
      watcher.close()
      other.close()
    }
  })

  it("loses no acknowledged write to kill -9 of a follower and then of the leader", async () => {
    const acked = new Map<string, string>()
    let seq = 0
    /** Writes through every running member; failures (unacknowledged) are allowed. */
    const writeSome = async (n: number) => {
      const clients = cluster.members.filter((m) => m.running)
      await Promise.all(
        clients.map(async (m) => {
          const client = new Etcd3({ hosts: m.endpoint })
          try {
            for (let i = 0; i < n; i++) {
              const n = ++seq
              const key = `durable/${n}`
              try {
                await client.put(key).value(`v${n}`)
                acked.set(key, `v${n}`)
              } catch {
                // Unacknowledged: may or may not be there.
              }
            }
          } finally {
            client.close()
          }
        }),
      )
    }
    await writeSome(10)
    const first = await leader()
    const follower = cluster.members.find((m) => m !== first)!
    await follower.kill()
    await writeSome(10)
    await follower.start()
    await writeSome(5)
    const current = await leader()
    await current.kill()
    await writeSome(10)
    await current.start()
    await writeSome(5)
    expect(acked.size).toBeGreaterThanOrEqual(60)

    // Every member converges to the same revision and holds every acknowledged write.
    const revision = await waitFor("the members to converge", async () => {
      const ss = await statuses(cluster.endpoints)
      const revs = new Set(ss.map((s) => s.revision))
      return ss.length === 3 && revs.size === 1 ? ss[0]!.revision : undefined
    })
    expect(revision).toBeGreaterThan(acked.size)
    for (const m of cluster.members) {
      const client = new Etcd3({ hosts: m.endpoint })
      try {
        const all = await client.getAll().prefix("durable/").strings()
        for (const [k, v] of acked) expect(all[k], `${k} on ${m.name}`).toBe(v)
      } finally {
        client.close()
      }
    }
    const hashes = parse<{ readonly HashKV: { readonly hash?: number } }[]>(
      await ctl(cluster.endpoints, "endpoint", "hashkv", "-w", "json"),
    )
    expect(hashes).toHaveLength(3)
    expect(new Set(hashes.map((h) => h.HashKV.hash)).size).toBe(1)
  })

  it("adds a member that joins from the others, then removes it (and it exits)", async () => {
    const n4 = await cluster.prepare("n4")
    // Right after the kill -9 test the restarted member may be connected for less than 5 s.
    const out = await etcdctlMemberChange(cluster.endpoints, [
      "member",
      "add",
      "n4",
      `--peer-urls=${n4.peerURL}`,
    ])
    // etcdctl prints IDs with %16x: short ones are padded with spaces.
    expect(out).toMatch(/^Member +[0-9a-f]+ added to cluster +[0-9a-f]+/)
    expect(out).toContain('ETCD_INITIAL_CLUSTER_STATE="existing"')
    expect(out).toContain(`n4=${n4.peerURL}`)
    const id = /^Member +([0-9a-f]+)/.exec(out)![1]!
    await n4.start("existing")
    // It catches up with everything written before it joined.
    await waitFor("n4 to catch up", async () => {
      const v = await ctl(n4.endpoint, "get", "greeting", "--print-value-only", "--consistency=s")
      return v === "bye\n" ? true : undefined
    })
    const list = parse<MemberList>(await ctl(n4.endpoint, "member", "list", "-w", "json"))
    expect(list.members).toHaveLength(4)
    await waitFor("n4 to publish its name", async () => {
      const l = parse<MemberList>(await ctl(cluster.endpoints, "member", "list", "-w", "json"))
      return l.members.some((m) => m.name === "n4") ? true : undefined
    })
    expect(BigInt(`0x${id}`).toString()).toBe(await memberIdOf(n4))
    // A joining member records its ID, and its cluster's once the leader told it.
    await waitFor("n4 to record its cluster", async () => {
      const r = decodeIdentity(readFileSync(identityPath(n4.dataDir)))
      return r._tag === "Identity" && r.clusterId !== 0n ? r : undefined
    }).then((r) =>
      expect(r).toEqual({
        _tag: "Identity",
        memberId: BigInt(`0x${id}`),
        clusterId: BigInt(list.header.cluster_id),
      }),
    )

    expect(
      await etcdctlMemberChange(cluster.byName("n1").endpoint, ["member", "remove", id]),
    ).toMatch(new RegExp(`^Member +${id} removed from cluster`))
    await waitFor("n4 to exit", () => (n4.running ? undefined : true))
    expect(n4.log).toContain("permanently removed")
    const after = parse<MemberList>(await ctl(cluster.endpoints, "member", "list", "-w", "json"))
    expect(after.members.map((m) => m.name).sort()).toEqual(["n1", "n2", "n3"])
    expect(await ctl(cluster.endpoints, "put", "after-removal", "ok")).toBe("OK\n")
  })

  it("moves leadership with etcdctl move-leader; refuses with etcd's errors", async () => {
    const from = await leader()
    const to = cluster.members.find((m) => m.running && m !== from)!
    const [fromId, toId] = [await memberIdOf(from), await memberIdOf(to)]
    const out = await ctl(cluster.endpoints, "move-leader", hex(toId))
    expect(out).toBe(`Leadership transferred from ${hex(fromId)} to ${hex(toId)}\n`)
    // Done when it answers: every member already names the target as leader.
    const ss = await statuses(cluster.endpoints)
    expect(new Set(ss.map((s) => s.leader))).toEqual(new Set([toId]))
    expect(await ctl(cluster.endpoints, "put", "after-move", "ok")).toBe("OK\n")

    expect(await ctlFails(cluster.endpoints, "move-leader", "abc")).toEqual({
      code: 1,
      stderr: "Error: etcdserver: bad leader transferee",
    })
    // etcdctl only ever asks the leader; a follower asked directly says it is not.
    const follower = cluster.members.find((m) => m.running && m !== to)!
    const client = new (loadEtcdServices().Maintenance)(
      follower.endpoint,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & {
      MoveLeader: (
        req: unknown,
        cb: (e: grpc.ServiceError | null, r: unknown) => void,
      ) => grpc.ClientUnaryCall
    }
    try {
      const e = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.MoveLeader({ targetID: fromId }, (err) => resolve(err)),
      )
      expect([e?.code, e?.details]).toEqual([
        grpc.status.FAILED_PRECONDITION,
        "etcdserver: not leader",
      ])
    } finally {
      client.close()
    }
  })

  it("adds a learner, refuses to promote it until it is in sync, then promotes it through a follower", async () => {
    const n5 = await cluster.prepare("n5")
    const out = await ctl(
      cluster.endpoints,
      "member",
      "add",
      "n5",
      `--peer-urls=${n5.peerURL}`,
      "--learner",
    )
    expect(out).toMatch(/^Member +[0-9a-f]+ added to cluster +[0-9a-f]+/)
    const id = /^Member +([0-9a-f]+)/.exec(out)![1]!
    const listed = parse<MemberList>(await ctl(cluster.endpoints, "member", "list", "-w", "json"))
    expect(listed.members.find((m) => hex(m.ID) === id)?.isLearner).toBe(true)
    // One learner at a time, as etcd.
    expect(
      await ctlFails(
        cluster.endpoints,
        "member",
        "add",
        "n6",
        "--peer-urls=http://127.0.0.1:1",
        "--learner",
      ),
    ).toEqual({ code: 1, stderr: "Error: etcdserver: too many learner members in cluster" })
    // Not started: it has none of the leader's log.
    expect(await ctlFails(cluster.endpoints, "member", "promote", id)).toEqual({
      code: 1,
      stderr: "Error: etcdserver: can only promote a learner member which is in sync with leader",
    })
    await n5.start("existing")
    await waitFor("n5 to catch up", async () => {
      const v = await ctl(n5.endpoint, "get", "after-move", "--print-value-only", "--consistency=s")
      return v === "ok\n" ? true : undefined
    })
    // A learner answers only Status and serializable reads (etcd's
    // isRPCSupportedForLearner); the rest is refused so clients go elsewhere.
    const refused = { code: 1, stderr: "Error: etcdserver: rpc not supported for learner" }
    expect(await ctlFails(n5.endpoint, "put", "to-learner", "no")).toEqual(refused)
    expect(await ctlFails(n5.endpoint, "member", "list")).toEqual(refused)
    expect(await ctlFails(n5.endpoint, "member", "promote", id)).toEqual(refused)
    expect(await ctlFails(n5.endpoint, "lease", "grant", "10")).toEqual({
      code: 1,
      stderr: "Error: failed to grant lease (etcdserver: rpc not supported for learner)",
    })
    expect(await ctlFails(n5.endpoint, "get", "after-move")).toEqual(refused)
    expect(hex(await memberIdOf(n5))).toBe(id)
    expect(await ctl(cluster.endpoints, "get", "to-learner", "--print-value-only")).toBe("")
    // Through a follower only: it asks the leader, which alone knows how far n5 got.
    const l = await leader()
    const follower = cluster.members.find((m) => m.running && m !== l && m !== n5)!
    const promoted = await waitFor("the promotion", async () => {
      const r = await etcdctl(follower.endpoint, ["member", "promote", id])
      if (r.stderr.includes("in sync with leader")) return undefined
      return r
    })
    expect(promoted.stderr).toBe("")
    expect(promoted.stdout).toMatch(new RegExp(`^Member +${id} promoted in cluster +[0-9a-f]+`))
    const after = parse<MemberList>(await ctl(cluster.endpoints, "member", "list", "-w", "json"))
    expect(after.members.find((m) => hex(m.ID) === id)?.isLearner ?? false).toBe(false)
    expect(await ctlFails(cluster.endpoints, "member", "promote", id)).toEqual({
      code: 1,
      stderr: "Error: etcdserver: can only promote a learner member",
    })
    expect(await ctlFails(cluster.endpoints, "member", "promote", "abc")).toEqual({
      code: 1,
      stderr: "Error: etcdserver: member not found",
    })
    // A voter now: it can lead.
    expect(await ctl(cluster.endpoints, "move-leader", id)).toMatch(/^Leadership transferred/)
    expect((await leader()) === n5).toBe(true)
  })

  it("updates a member's peer URLs with etcdctl member update; the others reach it there", async () => {
    const n3 = cluster.byName("n3")
    const id = hex(await memberIdOf(n3))
    const [port] = await freePorts(1)
    const moved = `http://127.0.0.1:${port}`
    await n3.kill()
    const out = await ctl(cluster.endpoints, "member", "update", id, `--peer-urls=${moved}`)
    expect(out).toMatch(new RegExp(`^Member +${id} updated in cluster +[0-9a-f]+`))
    const list = parse<MemberList>(await ctl(cluster.endpoints, "member", "list", "-w", "json"))
    expect(list.members.find((m) => hex(m.ID) === id)?.peerURLs).toEqual([moved])
    expect(await ctl(cluster.endpoints, "put", "while-moved", "written")).toBe("OK\n")
    // Restarted as etcd's procedure says: the new URL in every flag (listen,
    // advertise, its --initial-cluster entry). Its ID comes from its data
    // directory, not from the new advertise URL; it can only catch up if the
    // leader dials it at the new address.
    const old = n3.peerURL
    const args = n3.args.bind(n3)
    n3.args = (state) => args(state).map((a) => a.replaceAll(old, moved))
    expect(n3.args("new").filter((a) => a.includes(old))).toEqual([])
    await n3.start()
    expect(n3.log).toContain(`member ${id} (n3)`)
    await waitFor("n3 to catch up at its new address", async () => {
      const v = await ctl(
        n3.endpoint,
        "get",
        "while-moved",
        "--print-value-only",
        "--consistency=s",
      )
      return v === "written\n" ? true : undefined
    })
    expect(hex(await memberIdOf(n3))).toBe(id)
    expect(await ctl(n3.endpoint, "put", "through-moved", "yes")).toBe("OK\n")
    expect(await ctl(cluster.endpoints, "get", "through-moved", "--print-value-only")).toBe("yes\n")
    const after = parse<MemberList>(await ctl(n3.endpoint, "member", "list", "-w", "json"))
    // No second n3 (a stranger under a new ID): the same members as before.
    expect(after.members.map((m) => m.ID).sort()).toEqual(list.members.map((m) => m.ID).sort())
    expect(after.members.find((m) => hex(m.ID) === id)).toMatchObject({
      name: "n3",
      peerURLs: [moved],
      clientURLs: [`http://${n3.endpoint}`],
    })
    const record = decodeIdentity(readFileSync(identityPath(n3.dataDir)))
    expect(record).toEqual({
      _tag: "Identity",
      memberId: BigInt(`0x${id}`),
      clusterId: BigInt(after.header.cluster_id),
    })

    const refused: Array<[string, string]> = [
      // etcdctl lets unix:// through; peers talk TCP here, as MemberAdd refuses it too.
      ["unix://127.0.0.1:1", "etcdserver: given member URLs are invalid"],
      [cluster.byName("n1").peerURL, "etcdserver: Peer URLs already exists"],
    ]
    for (const [url, text] of refused)
      expect(
        await ctlFails(cluster.endpoints, "member", "update", id, `--peer-urls=${url}`),
      ).toEqual({
        code: 1,
        stderr: `Error: ${text}`,
      })
    expect(
      await ctlFails(
        cluster.endpoints,
        "member",
        "update",
        "abc",
        "--peer-urls=http://127.0.0.1:1",
      ),
    ).toEqual({ code: 1, stderr: "Error: etcdserver: member not found" })
  })

  it("runs an older data directory (no identity record) as before, and refuses a damaged record", async () => {
    const n2 = cluster.byName("n2")
    const id = await memberIdOf(n2)
    const file = identityPath(n2.dataDir)
    const before = readFileSync(file)
    await n2.kill()
    // As a data directory written before the record existed: the ID derives from the flags.
    rmSync(file)
    await n2.start()
    expect(await memberIdOf(n2)).toBe(id)
    await waitFor("n2 to record its identity again", () =>
      existsSync(file) && readFileSync(file).equals(before) ? true : undefined,
    )

    await n2.kill()
    const damaged = Buffer.from(before)
    damaged[7]! ^= 0xff
    writeFileSync(file, damaged)
    const exits = n2.exits
    await expect(n2.start()).rejects.toThrow(/exited/)
    expect(n2.exits).toBe(exits + 1)
    expect(n2.exitCode).toBe(1)
    expect(n2.log).toContain(
      `flotilla store: cannot read this member's identity from ${file} (checksum: `,
    )
    expect(readFileSync(file).equals(damaged)).toBe(true)
    // The others keep serving; the intact record lets it back.
    expect(await ctl(cluster.byName("n1").endpoint, "put", "while-n2-refused", "ok")).toBe("OK\n")
    writeFileSync(file, before)
    await n2.start()
    expect(await memberIdOf(n2)).toBe(id)
    expect(await ctl(n2.endpoint, "get", "while-n2-refused", "--print-value-only")).toBe("ok\n")
  })

  it("refuses member changes as etcd's strict reconfig check does: unhealthy cluster, too few started voters", async () => {
    const notEnough = {
      code: 1,
      stderr: "Error: etcdserver: re-configuration failed due to not enough started members",
    }
    const unhealthy = { code: 1, stderr: "Error: etcdserver: unhealthy cluster" }
    const before = parse<MemberList>(await ctl(cluster.endpoints, "member", "list", "-w", "json"))
    const voters = before.members.filter((m) => m.isLearner !== true)
    // Every voter has started (published its name) and runs.
    for (const m of voters) expect(cluster.byName(m.name ?? "").running).toBe(true)
    const started = voters.length
    // etcd's rule, counted here: the voters after an add (the new one not
    // started) need a quorum of started ones.
    const quorum = (n: number) => Math.floor(n / 2) + 1
    // Idle members: something accepts connections at their peer URLs, but no
    // member runs there, so they never start (publish a name).
    const ports = await freePorts(8)
    const sockets = new Set<Socket>()
    const listeners = await Promise.all(
      ports.map(
        (port) =>
          new Promise<Server>((resolve) => {
            const s = createServer((socket) => {
              sockets.add(socket)
              socket.on("data", () => undefined)
              socket.on("error", () => undefined)
            })
            s.listen(port, "127.0.0.1", () => resolve(s))
          }),
      ),
    )
    try {
      const add = (name: string, port: number, ...more: string[]) => [
        "member",
        "add",
        name,
        `--peer-urls=http://127.0.0.1:${port}`,
        ...more,
      ]
      const idOf = (out: string) => /^Member +([0-9a-f]+)/.exec(out)![1]!
      // Allowed once every voter has been connected for 5 s.
      expect(started).toBeGreaterThanOrEqual(quorum(voters.length + 1))
      const added = [idOf(await etcdctlMemberChange(cluster.endpoints, add("idle0", ports[0]!)))]
      // At once, the new voter has been connected for less than 5 s: unhealthy,
      // for a learner too (when the started check lets the request through).
      expect(started).toBeGreaterThanOrEqual(quorum(voters.length + 2))
      expect(await ctlFails(cluster.endpoints, ...add("idle1", ports[1]!))).toEqual(unhealthy)
      expect(await ctlFails(cluster.endpoints, ...add("l", ports[7]!, "--learner"))).toEqual(
        unhealthy,
      )
      // More voters that never start, while the started ones stay a quorum.
      while (started >= quorum(voters.length + added.length + 1)) {
        const port = ports[added.length]!
        added.push(
          idOf(await etcdctlMemberChange(cluster.endpoints, add(`idle${added.length}`, port))),
        )
      }
      // One more would leave too few started voters: refused whatever the connections.
      expect(
        await ctlFails(cluster.endpoints, ...add("one-too-many", ports[added.length]!)),
      ).toEqual(notEnough)
      // Removing a started voter would leave started - 1 of voters - 1 + added.
      expect(started - 1 < quorum(voters.length - 1 + added.length)).toBe(true)
      const n1 = hex(await memberIdOf(cluster.byName("n1")))
      expect(await ctlFails(cluster.endpoints, "member", "remove", n1)).toEqual(notEnough)
      // Removing an idle one is allowed: it never counted as started, and every
      // voter is connected.
      expect(await etcdctlMemberChange(cluster.endpoints, ["member", "remove", added[0]!])).toMatch(
        /removed from cluster/,
      )
      // A learner does not vote: it passes the started check (and is removed again).
      const learnerId = idOf(
        await etcdctlMemberChange(cluster.endpoints, add("l", ports[7]!, "--learner")),
      )
      expect(await ctl(cluster.endpoints, "member", "remove", learnerId)).toMatch(
        /removed from cluster/,
      )
      const after = parse<MemberList>(await ctl(cluster.endpoints, "member", "list", "-w", "json"))
      expect(after.members).toHaveLength(before.members.length + added.length - 1)
      expect(await ctl(cluster.endpoints, "put", "after-strict", "ok")).toBe("OK\n")
    } finally {
      // The members keep their connections open: end them, or close never completes.
      for (const socket of sockets) socket.destroy()
      await Promise.all(listeners.map((s) => new Promise((r) => s.close(r))))
    }
  }, 90_000)
})
