// Linearizability under faults: concurrent clients doing puts, linearizable
// gets and compare-and-swaps on a few keys of a 3-member `flotilla store`
// cluster while members (the leader among them) are killed with SIGKILL and
// restarted. The history goes to @flotilla/checker's linearizability checker.
//
// Each client sends each operation to the next member in turn. An operation that
// failed before any connection existed was never sent and is dropped; any
// other failed write is pending (it may or may not have taken effect); a
// failed read is dropped (it changed nothing).

import { readdirSync } from "node:fs"
import * as path from "node:path"
import {
  checkLinearizability,
  describeCounterexample,
  type KvInput,
  type KvOutput,
  kvSpec,
  type Operation,
} from "@flotilla/checker"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fromUtf8, utf8 } from "../../src/core/bytes.ts"
import { KV } from "../../src/kv.ts"
import { ensureEtcdctl, etcdctl } from "../support/etcdctl.ts"
import { FAST, ProcessCluster, type StoreProcess, waitFor } from "../support/processes.ts"

type Op = Operation<KvInput<string, string>, KvOutput<string>>

const KEYS = ["x", "y", "z"]
const CLIENTS = 6
const CYCLES = 3
/** Successful operations between two faults. */
const OPS_PER_PHASE = 60

let cluster: ProcessCluster
let scope: Scope.Closeable

beforeAll(async () => {
  // Small snapshots: restarts replay a snapshot and the log after it, and a
  // member that was down may be sent one.
  cluster = await ProcessCluster.start({ members: 3, flags: [...FAST, "--snapshot-count=64"] })
  scope = await Effect.runPromise(Scope.make())
}, 60_000)

afterAll(async () => {
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  await cluster?.close()
})

const connect = (m: StoreProcess): Promise<KV["Service"]> =>
  Effect.runPromise(
    Layer.build(KV.layerRemote({ endpoints: [m.endpoint], timeoutMillis: 3_000 })).pipe(
      Effect.map((ctx) => Context.get(ctx, KV)),
      Scope.provide(scope),
    ),
  )

/** A member's ID and the leader it knows ("0": none), from etcdctl's endpoint status. */
const memberStatus = async (m: StoreProcess) => {
  const r = await etcdctl(m.endpoint, ["endpoint", "status", "-w", "json"])
  if (r.code !== 0) return undefined
  const s = JSON.parse(r.stdout.replace(/("(?:cluster_id|member_id|leader)":)(\d+)/g, '$1"$2"'))[0]
  return { id: s.Status.header.member_id as string, leader: s.Status.leader as string }
}

/** The index of the member the running members say leads. */
const leaderOf = (ids: ReadonlyArray<string>): Promise<number> =>
  waitFor("a leader", async () => {
    for (const m of cluster.members) {
      if (!m.running) continue
      const status = await memberStatus(m)
      if (status === undefined || status.leader === "0") continue
      const i = ids.indexOf(status.leader)
      if (i >= 0 && cluster.members[i]!.running) return i
    }
    return undefined
  })

describe("linearizability under faults", () => {
  it("keeps a history of puts, gets and CAS linearizable while members are killed and restarted", async () => {
    ensureEtcdctl()
    const kvs = await Promise.all(cluster.members.map(connect))
    const ids: string[] = []
    for (const m of cluster.members) ids.push((await memberStatus(m))!.id)

    const history: Op[] = []
    let succeeded = 0
    let casSwapped = 0
    let stopping = false
    const now = () => performance.now()

    const client = async (c: number) => {
      let at = c % kvs.length
      let n = 0
      const last = new Map<string, string | null>()
      while (!stopping) {
        const key = KEYS[(c + Math.floor(n / 3)) % KEYS.length]!
        const kind = n % 3
        const value = `c${c}-${n++}`
        // Each operation on the next member: a read lands elsewhere than the write before it.
        at = (at + 1) % kvs.length
        const kv = kvs[at]!
        let input: KvInput<string, string>
        let run: Effect.Effect<KvOutput<string>, { readonly message: string }>
        if (kind === 0) {
          input = { type: "put", key, value }
          run = Effect.as(kv.put({ key: utf8(key), value: utf8(value) }), null)
        } else if (kind === 1) {
          input = { type: "get", key }
          run = Effect.map(kv.range({ key: utf8(key) }), (r) =>
            r.kvs.length === 0 ? null : fromUtf8(r.kvs[0]!.value),
          )
        } else {
          const expected = last.get(key) ?? null
          input = { type: "cas", key, expected, value }
          run = Effect.map(
            kv.txn({
              compare: [
                expected === null
                  ? { key: utf8(key), target: "CREATE", result: "EQUAL", create_revision: 0 }
                  : { key: utf8(key), target: "VALUE", result: "EQUAL", value: utf8(expected) },
              ],
              success: [{ request_put: { key: utf8(key), value: utf8(value) } }],
            }),
            (r) => r.succeeded,
          )
        }
        const call = now()
        const r = await Effect.runPromise(Effect.result(run))
        const ret = now()
        if (r._tag === "Success") {
          history.push({ client: c, input, output: r.success, call, return: ret })
          succeeded++
          if (input.type === "get") last.set(key, r.success as string | null)
          if (input.type === "put") last.set(key, value)
          if (input.type === "cas") {
            if (r.success === true) {
              casSwapped++
              last.set(key, value)
            } else last.delete(key)
          }
        } else {
          const message = r.failure.message
          const neverSent = /No connection established|ECONNREFUSED/.test(message)
          if (input.type !== "get" && !neverSent) history.push({ client: c, input, call })
          // Forget what we believed about the key.
          last.delete(key)
        }
      }
    }

    const faults = async () => {
      let mark = 0
      const reach = (target: number) =>
        waitFor(
          `${target} successful operations`,
          () => (succeeded >= target ? true : undefined),
          60_000,
        )
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        mark += OPS_PER_PHASE
        await reach(mark)
        // Even cycles kill the leader, odd ones a follower.
        const leader = await leaderOf(ids)
        const victim =
          cycle % 2 === 0 ? leader : (leader + 1 + (cycle % 2)) % cluster.members.length
        await cluster.members[victim]!.kill()
        mark += OPS_PER_PHASE
        await reach(mark)
        await cluster.members[victim]!.start()
      }
      mark += OPS_PER_PHASE
      await reach(mark)
      stopping = true
    }

    await Promise.all([faults(), ...Array.from({ length: CLIENTS }, (_, c) => client(c))])

    const kills = cluster.members.reduce((n, m) => n + m.exits, 0)
    expect(kills).toBe(CYCLES)
    expect(succeeded).toBeGreaterThanOrEqual(OPS_PER_PHASE * (2 * CYCLES + 1))
    expect(casSwapped).toBeGreaterThan(0)
    const result = checkLinearizability(kvSpec<string, string>(), history, { maxSteps: 5_000_000 })
    if (result.linearizable !== true) {
      throw new Error(
        `not linearizable (${result.linearizable}):\n${describeCounterexample(kvSpec<string, string>(), result)}`,
      )
    }
    expect(result.partitions).toBe(KEYS.length)
    // The members did compact their logs into snapshots (beyond the base one at index 0).
    for (const m of cluster.members) {
      const snaps = readdirSync(path.join(m.dataDir, "member", "wal")).filter(
        (f) => f.endsWith(".snap") && !f.startsWith("snap-0000000000000000-"),
      )
      expect(snaps.length, `snapshots of ${m.name}`).toBeGreaterThan(0)
    }
  }, 180_000)
})
