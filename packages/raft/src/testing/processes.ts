// Raft members as child processes (see member-main.ts), for end-to-end tests
// (kill -9) and the cluster benchmark. Each runs a RaftNode over TCP on
// 127.0.0.1 with a file WAL in `dir`; the parent talks to it over IPC.
import { type ChildProcess, fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { Status } from "../core/raft.ts"
import type { NodeId } from "../core/types.ts"

export interface MemberArgs {
  readonly id: NodeId
  readonly ids: ReadonlyArray<NodeId>
  readonly dir: string
  readonly tickMs: number
  readonly seed: number
  readonly snapshotEvery: number
  /** Keep applied values (for checking); otherwise only count them. */
  readonly keepValues: boolean
  /** The WAL's `inlineSyncBytes` (its default when absent). */
  readonly inlineSyncBytes?: number
  /** The WAL's `preallocateBytes` (its default when absent). */
  readonly preallocateBytes?: number
}

export interface Address {
  readonly host: string
  readonly port: number
}

/** Parent to member. */
export type ToMember =
  | { readonly type: "peers"; readonly peers: Record<NodeId, Address> }
  | { readonly type: "status"; readonly seq: number }
  | { readonly type: "values"; readonly seq: number }
  | { readonly type: "exit" }
  | {
      readonly type: "propose"
      readonly values: ReadonlyArray<string>
      readonly concurrency: number
    }
  | {
      readonly type: "load"
      readonly seq: number
      readonly concurrency: number
      readonly durationMs: number
      readonly entryBytes: number
      /** How proposers call the node: `propose` (Effect, the default) or `proposeUnsafe` (callback). */
      readonly api?: "effect" | "callback"
    }

export interface LoadResult {
  readonly committed: number
  readonly failures: number
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
}

/** Member to parent. */
export type FromMember =
  | { readonly type: "ready"; readonly address: Address }
  | { readonly type: "status"; readonly seq: number; readonly status: Status }
  | { readonly type: "values"; readonly seq: number; readonly values: string[] }
  | { readonly type: "acked"; readonly value: string; readonly index: number }
  | { readonly type: "nacked"; readonly value: string; readonly error: string }
  | ({ readonly type: "loaded"; readonly seq: number } & LoadResult)

export interface MemberProcess {
  readonly id: NodeId
  readonly child: ChildProcess
  /** Where it listens (known once it is ready). */
  address: Address
  status(): Promise<Status>
  values(): Promise<string[]>
  load(
    concurrency: number,
    durationMs: number,
    entryBytes: number,
    api?: "effect" | "callback",
  ): Promise<LoadResult>
  /** Proposes each value (concurrently); `onAck`/`onNack` hear the outcomes. */
  propose(values: ReadonlyArray<string>, concurrency: number): void
  onAck: (value: string, index: number) => void
  onNack: (value: string, error: string) => void
  peers(peers: Record<NodeId, Address>): void
  /** SIGKILL: no chance to flush anything. */
  kill(): Promise<void>
  /** Asks the process to exit (flushing, e.g., a CPU profile). */
  exit(): Promise<void>
}

const MAIN = fileURLToPath(new URL("./member-main.ts", import.meta.url))

export const spawnMember = (args: MemberArgs): Promise<MemberProcess> =>
  new Promise((resolve, reject) => {
    const child = fork(MAIN, [JSON.stringify(args)], {
      // RAFT_MEMBER_PROFILE=<dir> writes a CPU profile of each member there.
      execArgv: [
        "--conditions=@flotilla/source",
        ...(process.env.RAFT_MEMBER_PROFILE
          ? ["--cpu-prof", `--cpu-prof-dir=${process.env.RAFT_MEMBER_PROFILE}`]
          : []),
      ],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    })
    let seq = 0
    const waiting = new Map<number, (m: FromMember) => void>()
    const ask = <T>(make: (seq: number) => ToMember, pick: (m: FromMember) => T): Promise<T> =>
      new Promise((res) => {
        const s = ++seq
        waiting.set(s, (m) => res(pick(m)))
        child.send(make(s))
      })
    const exited = new Promise<void>((res) => child.once("exit", () => res()))
    const member: MemberProcess = {
      id: args.id,
      child,
      address: { host: "127.0.0.1", port: 0 },
      status: () =>
        ask(
          (s) => ({ type: "status", seq: s }),
          (m) => (m as { status: Status }).status,
        ),
      values: () =>
        ask(
          (s) => ({ type: "values", seq: s }),
          (m) => (m as { values: string[] }).values,
        ),
      load: (concurrency, durationMs, entryBytes, api) =>
        ask(
          (s) => ({
            type: "load",
            seq: s,
            concurrency,
            durationMs,
            entryBytes,
            ...(api === undefined ? {} : { api }),
          }),
          (m) => m as unknown as LoadResult,
        ),
      propose: (values, concurrency) => {
        child.send({ type: "propose", values, concurrency } satisfies ToMember)
      },
      onAck: () => {},
      onNack: () => {},
      peers: (peers) => {
        child.send({ type: "peers", peers } satisfies ToMember)
      },
      kill: () => {
        child.kill("SIGKILL")
        return exited
      },
      exit: () => {
        child.send({ type: "exit" } satisfies ToMember)
        return exited
      },
    }
    child.on("message", (m: FromMember) => {
      switch (m.type) {
        case "ready":
          member.address = m.address
          resolve(member)
          return
        case "acked":
          member.onAck(m.value, m.index)
          return
        case "nacked":
          member.onNack(m.value, m.error)
          return
        default: {
          const w = waiting.get(m.seq)
          if (w !== undefined) {
            waiting.delete(m.seq)
            w(m)
          }
        }
      }
    })
    child.once("error", reject)
    child.once("exit", (code) => {
      if (code !== null && code !== 0) reject(new Error(`member ${args.id} exited with ${code}`))
    })
  })
