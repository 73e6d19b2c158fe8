/**
 * A worker of the parallel breadth-first search.
 *
 * Fingerprints are partitioned: a worker owns those whose high half is
 * congruent to its index modulo the worker count, and its table holds them
 * with their parent and action (for rebuilding counterexamples). States never
 * leave the worker that generated them: a worker expands its own frontier,
 * asks the owner of each successor's fingerprint whether it is new (batched;
 * only fingerprints travel), and keeps, checks and later expands the states
 * the owners call new. Levels are synchronised by the main thread, so the
 * first worker to ask about a state at the least depth wins it: paths stay
 * shortest.
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
const yieldToEvents = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

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
  // Per owned entry: parent fingerprint and action (roots: -(initial index + 1)).
  const parentHi = new IntColumn()
  const parentLo = new IntColumn()
  const via = new IntColumn()
  const within = model.within

  let next: Array<unknown> = []
  let nextKeys: Array<number> = []
  let hits: Array<Hit> = []
  let generated = 0
  // Checks handles are positions in `checked` (this worker's new states).
  let checkedCount = 0

  /** Records an owned fingerprint; true when it is new. */
  const record = (hi: number, lo: number, pHi: number, pLo: number, action: number): boolean => {
    const id = table.add(hi, lo)
    if (id < 0) return false
    parentHi.set(id, pHi | 0)
    parentLo.set(id, pLo | 0)
    via.set(id, action)
    return true
  }

  /** A state this worker keeps: check it and queue it for the next level. */
  const keep = (state: unknown, hi: number, lo: number): void => {
    const handle = checkedCount++
    if (tracker.check(state, handle) !== 0) {
      tracker.alwaysHit.forEach((h, index) => {
        if (h === handle) hits.push({ kind: "always", index, hi, lo })
      })
      tracker.sometimesHit.forEach((h, index) => {
        if (h === handle) hits.push({ kind: "sometimes", index, hi, lo })
      })
    }
    next.push(state)
    nextKeys.push(hi, lo)
  }

  // Outgoing queries per peer, and candidates waiting for their answers.
  const BATCH = 512
  const outStates: Array<Array<unknown>> = ports.map(() => [])
  const outKeys: Array<Array<number>> = ports.map(() => [])
  const outActions: Array<Array<number>> = ports.map(() => [])
  const waiting = new Map<
    number,
    { readonly states: Array<unknown>; readonly keys: Array<number> }
  >()
  let batchSeq = 0
  let settle: (() => void) | undefined

  const flush = (peer: number): void => {
    if (outStates[peer]!.length === 0) return
    const batch = batchSeq++
    waiting.set(batch, { states: outStates[peer]!, keys: outKeys[peer]! })
    const keys = Uint32Array.from(outKeys[peer]!)
    const actions = Int32Array.from(outActions[peer]!)
    const m: PeerMessage = { t: "query", batch, keys, actions }
    ports[peer]!.postMessage(m, [keys.buffer as ArrayBuffer, actions.buffer as ArrayBuffer])
    outStates[peer] = []
    outKeys[peer] = []
    outActions[peer] = []
  }

  ports.forEach((port) => {
    if (port === null) return
    port.on("message", (m: PeerMessage) => {
      if (m.t === "query") {
        const n = m.actions.length
        const fresh = new Uint8Array(n)
        for (let i = 0; i < n; i++) {
          const k = 4 * i
          if (record(m.keys[k]!, m.keys[k + 1]!, m.keys[k + 2]!, m.keys[k + 3]!, m.actions[i]!)) {
            fresh[i] = 1
          }
        }
        port.postMessage({ t: "answer", batch: m.batch, fresh } satisfies PeerMessage, [
          fresh.buffer,
        ])
        return
      }
      const pending = waiting.get(m.batch)
      if (pending === undefined) return
      waiting.delete(m.batch)
      for (let i = 0; i < m.fresh.length; i++) {
        if (m.fresh[i] === 1)
          keep(pending.states[i], pending.keys[4 * i]!, pending.keys[4 * i + 1]!)
      }
      if (waiting.size === 0 && settle !== undefined) {
        const s = settle
        settle = undefined
        s()
      }
    })
  })
  const answered = (): Promise<void> =>
    waiting.size === 0 ? Promise.resolve() : new Promise((resolve) => (settle = resolve))

  const level = async (depth: number): Promise<void> => {
    const current = next
    const currentKeys = nextKeys
    next = []
    nextKeys = []
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
        if (owner === me) {
          if (record(hi, lo, sHi, sLo, a)) keep(t, hi, lo)
        } else {
          outStates[owner]!.push(t)
          outKeys[owner]!.push(hi, lo, sHi, sLo)
          outActions[owner]!.push(a)
          if (outStates[owner]!.length >= BATCH) flush(owner)
        }
      }
      // Let answers in and serve the other workers' queries now and then.
      if ((k & 255) === 255) await yieldToEvents()
      if (generated >= nextProgress) {
        nextProgress = generated + setup.progressEvery
        post({ t: "progress", generated, unique: table.size })
        if (Date.now() > setup.deadline) {
          timedOut = true
          break
        }
      }
    }
    for (let peer = 0; peer < count; peer++) if (peer !== me) flush(peer)
    await answered()
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

  // Listeners are in place: every worker computes the initial states; each
  // keeps those it owns.
  const inits = model.initialStates
  for (let i = 0; i < inits.length; i++) {
    const s = inits[i]
    if (me === 0) generated++
    if (within !== undefined && !within(s)) continue
    fingerprinter.of(s)
    if (fingerprinter.hi % count !== me) continue
    if (record(fingerprinter.hi, fingerprinter.lo, 0, 0, -(i + 1))) {
      keep(s, fingerprinter.hi, fingerprinter.lo)
    }
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
