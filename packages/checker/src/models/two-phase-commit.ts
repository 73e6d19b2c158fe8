import { always, eventually, type Model, sometimes } from "../core/model.ts"

/**
 * Two-phase commit, the textbook specification (Gray & Lamport, "Consensus
 * on Transaction Commit"; Lamport's TLA+ module TwoPhase): a transaction
 * manager (TM) and resource managers (RMs). An RM prepares (sending Prepared)
 * or aborts on its own while working; the TM collects Prepared messages and
 * commits once every RM prepared, or aborts at any time before that; RMs
 * follow the TM's decision. Messages are never lost or removed, so the
 * message set only grows.
 *
 * A plain state-machine model (no actor system), the reference example of
 * the engine's model interface and of symmetry reduction: RMs are
 * interchangeable, so a state's representative sorts them.
 *
 * The `eager-commit` variant is a deliberate bug: the TM commits as soon as
 * one RM prepared, which breaks consistency.
 */

export type RmState = "working" | "prepared" | "committed" | "aborted"
export type TmState = "init" | "committed" | "aborted"

export interface TwoPhaseState {
  readonly rm: ReadonlyArray<RmState>
  readonly tm: TmState
  /** RMs the TM has received Prepared from. */
  readonly tmPrepared: ReadonlyArray<boolean>
  /** Messages sent: Prepared per RM, Commit, Abort. */
  readonly prepared: ReadonlyArray<boolean>
  readonly commit: boolean
  readonly abort: boolean
}

export type TwoPhaseAction =
  | { readonly type: "TMRcvPrepared"; readonly rm: number }
  | { readonly type: "TMCommit" }
  | { readonly type: "TMAbort" }
  | { readonly type: "RMPrepare"; readonly rm: number }
  | { readonly type: "RMChooseToAbort"; readonly rm: number }
  | { readonly type: "RMRcvCommitMsg"; readonly rm: number }
  | { readonly type: "RMRcvAbortMsg"; readonly rm: number }

export type Variant = "textbook" | "eager-commit"

export interface TwoPhaseOptions {
  readonly rms: number
  readonly variant?: Variant
}

const replace = <X>(list: ReadonlyArray<X>, i: number, x: X): ReadonlyArray<X> =>
  list.map((y, j) => (j === i ? x : y))

const rmOrder: Record<RmState, number> = { working: 0, prepared: 1, committed: 2, aborted: 3 }

export const twoPhaseCommit = (options: TwoPhaseOptions): Model<TwoPhaseState, TwoPhaseAction> => {
  const n = options.rms
  const eager = options.variant === "eager-commit"
  const all = <X>(x: X): ReadonlyArray<X> => Array.from({ length: n }, () => x)
  const init: TwoPhaseState = {
    rm: all<RmState>("working"),
    tm: "init",
    tmPrepared: all(false),
    prepared: all(false),
    commit: false,
    abort: false,
  }
  return {
    name: "two-phase-commit",
    initialStates: [init],
    actions: (s, out) => {
      if (s.tm === "init") {
        for (let rm = 0; rm < n; rm++) {
          if (s.prepared[rm] && !s.tmPrepared[rm]) out.push({ type: "TMRcvPrepared", rm })
        }
        const ready = eager ? s.tmPrepared.some((p) => p) : s.tmPrepared.every((p) => p)
        if (ready) out.push({ type: "TMCommit" })
        out.push({ type: "TMAbort" })
      }
      for (let rm = 0; rm < n; rm++) {
        if (s.rm[rm] === "working") {
          out.push({ type: "RMPrepare", rm })
          out.push({ type: "RMChooseToAbort", rm })
        }
        if (s.commit && s.rm[rm] !== "committed") out.push({ type: "RMRcvCommitMsg", rm })
        if (s.abort && s.rm[rm] !== "aborted") out.push({ type: "RMRcvAbortMsg", rm })
      }
    },
    next: (s, a) => {
      switch (a.type) {
        case "TMRcvPrepared":
          return { ...s, tmPrepared: replace(s.tmPrepared, a.rm, true) }
        case "TMCommit":
          return { ...s, tm: "committed", commit: true }
        case "TMAbort":
          return { ...s, tm: "aborted", abort: true }
        case "RMPrepare":
          return {
            ...s,
            rm: replace(s.rm, a.rm, "prepared"),
            prepared: replace(s.prepared, a.rm, true),
          }
        case "RMChooseToAbort":
          return { ...s, rm: replace(s.rm, a.rm, "aborted") }
        case "RMRcvCommitMsg":
          return { ...s, rm: replace(s.rm, a.rm, "committed") }
        case "RMRcvAbortMsg":
          return { ...s, rm: replace(s.rm, a.rm, "aborted") }
      }
    },
    properties: [
      always("consistent", (s) => !(s.rm.includes("committed") && s.rm.includes("aborted"))),
      sometimes("all committed", (s) => s.rm.every((r) => r === "committed")),
      sometimes("all aborted", (s) => s.rm.every((r) => r === "aborted")),
      eventually("every RM decides", (s) =>
        s.rm.every((r) => r === "committed" || r === "aborted"),
      ),
    ],
    // RMs are interchangeable: sort them by their part of the state.
    representative: (s) => {
      const order = Array.from({ length: n }, (_, i) => i).sort(
        (i, j) =>
          rmOrder[s.rm[i]!] - rmOrder[s.rm[j]!] ||
          Number(s.tmPrepared[i]) - Number(s.tmPrepared[j]) ||
          Number(s.prepared[i]) - Number(s.prepared[j]),
      )
      return {
        ...s,
        rm: order.map((i) => s.rm[i]!),
        tmPrepared: order.map((i) => s.tmPrepared[i]!),
        prepared: order.map((i) => s.prepared[i]!),
      }
    },
    describeAction: (_, a) => ("rm" in a ? `${a.type}(rm${a.rm + 1})` : a.type),
    describeStep: (prev, _, next) => {
      const lines: Array<string> = []
      for (let i = 0; i < n; i++) {
        if (prev.rm[i] !== next.rm[i]) lines.push(`rm${i + 1}: ${prev.rm[i]} → ${next.rm[i]}`)
        if (!prev.prepared[i] && next.prepared[i]) lines.push(`rm${i + 1} sends Prepared`)
        if (!prev.tmPrepared[i] && next.tmPrepared[i]) lines.push(`TM records rm${i + 1} prepared`)
      }
      if (prev.tm !== next.tm) lines.push(`TM: ${prev.tm} → ${next.tm}`)
      if (!prev.commit && next.commit) lines.push("TM sends Commit")
      if (!prev.abort && next.abort) lines.push("TM sends Abort")
      return lines
    },
    describeState: (s) => `TM ${s.tm}, ${s.rm.map((r, i) => `rm${i + 1} ${r}`).join(", ")}`,
  }
}
