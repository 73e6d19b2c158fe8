/**
 * A worker of the parallel breadth-first search. It owns the fingerprints
 * whose high half is congruent to its index modulo the worker count: it keeps
 * them in its own table, checks and expands the states behind them, and sends
 * every successor it does not own to its owner. Levels are synchronised by
 * the main thread; within a level, an "end" marker on every peer channel
 * (channels are ordered) tells a worker it has received all its next-level
 * states.
 */
import { registerHooks } from "node:module"
import { type MessagePort, parentPort, workerData } from "node:worker_threads"
import { SafetyTracker, StateFingerprinter } from "../core/explore.ts"
import { FingerprintTable, IntColumn } from "../core/fingerprint-table.ts"
import type { AnyModel } from "../core/model.ts"
import type { FromWorker, Hit, PeerMessage, ToWorker, WorkerSetup } from "./protocol.ts"

// Inside the workspace the worker runs from TypeScript sources: resolve
// workspace packages to their sources too, as the `flotilla` launcher does.
if (import.meta.url.endsWith(".ts")) {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      return nextResolve(specifier, {
        ...context,
        conditions: [...context.conditions, "@flotilla/source"],
      })
    },
  })
}

const main = parentPort!
const setup = workerData.setup as WorkerSetup
const ports = workerData.ports as ReadonlyArray<MessagePort | null>
const post = (m: FromWorker): void => main.postMessage(m)

const run = async (): Promise<void> => {
  const mod = (await import(setup.source.module)) as Record<string, unknown>
  const factory = mod[setup.source.export]
  if (typeof factory !== "function") {
    throw new Error(`${setup.source.module} has no function export "${setup.source.export}"`)
  }
  const model = (await factory(setup.source.args)) as AnyModel
  const me = setup.index
  const count = setup.count
  const fingerprinter = new StateFingerprinter(model, setup.symmetry)
  const tracker = new SafetyTracker(model.properties)
  const table = new FingerprintTable()
  // Per entry: parent fingerprint and action (roots: -(initial index + 1)).
  const parentHi = new IntColumn()
  const parentLo = new IntColumn()
  const via = new IntColumn()
  const within = model.within

  let current: Array<unknown> = []
  let currentKeys: Array<number> = []
  let next: Array<unknown> = []
  let nextKeys: Array<number> = []
  // States of the level after `next`: a peer that started level d before
  // this worker did sends states of depth d + 1 while `next` still holds d.
  let later: Array<unknown> = []
  let laterKeys: Array<number> = []
  let started = -1
  let hits: Array<Hit> = []
  let generated = 0

  const admit = (
    state: unknown,
    hi: number,
    lo: number,
    pHi: number,
    pLo: number,
    action: number,
    early = false,
  ): void => {
    const id = table.add(hi, lo)
    if (id < 0) return
    parentHi.set(id, pHi | 0)
    parentLo.set(id, pLo | 0)
    via.set(id, action)
    if (tracker.check(state, id) !== 0) {
      tracker.alwaysHit.forEach((h, index) => {
        if (h === id) hits.push({ kind: "always", index, hi, lo })
      })
      tracker.sometimesHit.forEach((h, index) => {
        if (h === id) hits.push({ kind: "sometimes", index, hi, lo })
      })
    }
    if (early) {
      later.push(state)
      laterKeys.push(hi, lo)
    } else {
      next.push(state)
      nextKeys.push(hi, lo)
    }
  }

  // Outgoing batches per peer.
  const BATCH = 256
  const outStates: Array<Array<unknown>> = ports.map(() => [])
  const outKeys: Array<Array<number>> = ports.map(() => [])
  const outActions: Array<Array<number>> = ports.map(() => [])
  const flush = (peer: number): void => {
    if (outStates[peer]!.length === 0) return
    const keys = Uint32Array.from(outKeys[peer]!)
    const actions = Int32Array.from(outActions[peer]!)
    const m: PeerMessage = {
      t: "batch",
      depth: started + 1,
      states: outStates[peer]!,
      keys,
      actions,
    }
    ports[peer]!.postMessage(m, [keys.buffer as ArrayBuffer, actions.buffer as ArrayBuffer])
    outStates[peer] = []
    outKeys[peer] = []
    outActions[peer] = []
  }

  // End markers received so far over all levels: level d is complete once
  // (d + 1) * (count - 1) have arrived (a fast peer's marker can arrive
  // before this worker has even started the level).
  let ends = 0
  let endsWanted = 0
  let wake: (() => void) | undefined
  ports.forEach((port) => {
    if (port === null) return
    port.on("message", (m: PeerMessage) => {
      if (m.t === "batch") {
        const early = m.depth > started + 1
        for (let i = 0; i < m.states.length; i++) {
          const k = 4 * i
          admit(
            m.states[i],
            m.keys[k]!,
            m.keys[k + 1]!,
            m.keys[k + 2]!,
            m.keys[k + 3]!,
            m.actions[i]!,
            early,
          )
        }
      } else {
        ends++
        if (ends >= endsWanted && wake !== undefined) {
          const w = wake
          wake = undefined
          w()
        }
      }
    })
  })
  const allEnds = (depth: number): Promise<void> => {
    endsWanted = (depth + 1) * (count - 1)
    return ends >= endsWanted ? Promise.resolve() : new Promise((resolve) => (wake = resolve))
  }

  const level = async (depth: number): Promise<void> => {
    started = depth
    current = next
    currentKeys = nextKeys
    next = later
    nextKeys = laterKeys
    later = []
    laterKeys = []
    const buffer: Array<unknown> = []
    let timedOut = false
    let nextProgress = generated + setup.progressEvery
    for (let k = 0; k < current.length; k++) {
      const s = current[k]
      const sHi = currentKeys[2 * k]!
      const sLo = currentKeys[2 * k + 1]!
      buffer.length = 0
      model.actions(s, buffer)
      for (let a = 0; a < buffer.length; a++) {
        const t = model.next(s, buffer[a])
        if (t === undefined) continue
        generated++
        if (within !== undefined && !within(t)) continue
        fingerprinter.of(t)
        const hi = fingerprinter.hi
        const lo = fingerprinter.lo
        const owner = hi % count
        if (owner === me) admit(t, hi, lo, sHi, sLo, a)
        else {
          outStates[owner]!.push(t)
          outKeys[owner]!.push(hi, lo, sHi, sLo)
          outActions[owner]!.push(a)
          if (outStates[owner]!.length >= BATCH) flush(owner)
        }
      }
      if (generated >= nextProgress) {
        nextProgress = generated + setup.progressEvery
        post({ t: "progress", generated, unique: table.size })
        if (Date.now() > setup.deadline) {
          timedOut = true
          break
        }
      }
    }
    current = []
    currentKeys = []
    for (let peer = 0; peer < count; peer++) {
      if (peer === me) continue
      flush(peer)
      const end: PeerMessage = { t: "end", depth }
      ports[peer]!.postMessage(end)
    }
    await allEnds(depth)
    post({
      t: "levelDone",
      depth,
      generated,
      unique: table.size,
      queued: next.length,
      hits,
      timedOut,
    })
    hits = []
  }

  main.on("message", (m: ToWorker) => {
    switch (m.t) {
      case "level":
        level(m.depth).catch(fail)
        return
      case "lookup": {
        const id = table.get(m.hi, m.lo)
        if (id < 0) {
          post({ t: "entry", found: false, root: false, parentHi: 0, parentLo: 0, action: 0 })
          return
        }
        const action = via.get(id)
        post({
          t: "entry",
          found: true,
          root: action < 0,
          parentHi: parentHi.get(id) >>> 0,
          parentLo: parentLo.get(id) >>> 0,
          action: action < 0 ? -action - 1 : action,
        })
        return
      }
      case "stop":
        for (const port of ports) port?.close()
        main.close()
        return
    }
  })

  // Listeners are in place: admit the owned initial states and report.
  const inits = model.initialStates
  for (let i = 0; i < inits.length; i++) {
    const s = inits[i]
    if (me === 0) generated++
    if (within !== undefined && !within(s)) continue
    fingerprinter.of(s)
    if (fingerprinter.hi % count !== me) continue
    admit(s, fingerprinter.hi, fingerprinter.lo, 0, 0, -(i + 1))
  }
  post({ t: "ready", generated, unique: table.size, queued: next.length, hits })
  hits = []
}

const fail = (error: unknown): void => {
  post({
    t: "error",
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  })
}

run().catch(fail)
