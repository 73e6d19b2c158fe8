// The checks of the MIT 6.5840 Raft tester, on the simulation: client
// coroutines (`yield*` them inside `Simulation.run`) that fail by throwing.
import { type Client, type Simulation, sleep } from "./simulation.ts"

/** MIT's tester allows an election to take this long. */
export const ELECTION_TIMEOUT_MS = 1000

export class TesterError extends Error {
  constructor(message: string) {
    super(message)
    this.name = "TesterError"
  }
}

export class Tester {
  readonly sim: Simulation
  readonly n: number
  constructor(sim: Simulation) {
    this.sim = sim
    this.n = sim.servers.length
  }

  fail(msg: string): never {
    const trace = this.sim.traceTail()
    throw new TesterError(
      `${msg} (seed ${this.sim.seed}, t=${this.sim.now.toFixed(0)}ms)${trace ? `\n${trace}` : ""}`,
    )
  }

  private live(i: number): boolean {
    return this.sim.isAlive(i) && this.sim.isConnected(i)
  }

  /** Waits for exactly one leader among connected servers and returns it. */
  *checkOneLeader(): Client<number> {
    for (let iters = 0; iters < 10; iters++) {
      yield sleep(450 + this.sim.randInt(100))
      const byTerm = new Map<number, number[]>()
      for (let i = 0; i < this.n; i++) {
        const s = this.sim.state(i)
        if (!this.live(i) || s === null || s.role !== "Leader") continue
        byTerm.set(s.term, [...(byTerm.get(s.term) ?? []), i])
      }
      let lastTerm = -1
      for (const [term, leaders] of byTerm) {
        if (leaders.length > 1) this.fail(`term ${term} has ${leaders.length} (>1) leaders`)
        if (term > lastTerm) lastTerm = term
      }
      if (byTerm.size > 0) return byTerm.get(lastTerm)![0]!
    }
    return this.fail("expected one leader, got none")
  }

  /** All connected servers agree on the term; returns it. */
  checkTerms(): number {
    let term = -1
    for (let i = 0; i < this.n; i++) {
      const s = this.sim.state(i)
      if (!this.live(i) || s === null) continue
      if (term === -1) term = s.term
      else if (term !== s.term) this.fail("servers disagree on term")
    }
    return term
  }

  checkNoLeader(): void {
    for (let i = 0; i < this.n; i++) {
      const s = this.sim.state(i)
      if (this.live(i) && s !== null && s.role === "Leader")
        this.fail(`expected no leader among connected servers, but ${i} claims to be leader`)
    }
  }

  /** How many servers have applied `index`, and the value there. */
  nCommitted(index: number): [number, string | undefined] {
    let count = 0
    for (const srv of this.sim.servers) if (srv.lastApplied >= index) count++
    return [count, this.sim.committed.get(index)]
  }

  checkNoAgreement(index: number): void {
    const [n] = this.nCommitted(index)
    if (n > 0) this.fail(`${n} committed index ${index} but no majority`)
  }

  /**
   * MIT's one(): submits `cmd` to whichever server leads, waits until
   * `expected` servers applied it at that index, retrying with another leader
   * when `retry`. Returns the index.
   */
  *one(cmd: string, expected: number, retry: boolean): Client<number> {
    const t0 = this.sim.now
    let starts = 0
    while (this.sim.now - t0 < 10_000) {
      let index = -1
      for (let si = 0; si < this.n; si++) {
        starts = (starts + 1) % this.n
        if (!this.live(starts)) continue
        const r = this.sim.start(starts, cmd)
        if (r.isLeader) {
          index = r.index
          break
        }
      }
      if (index !== -1) {
        const t1 = this.sim.now
        while (this.sim.now - t1 < 2000) {
          const [nd, v] = this.nCommitted(index)
          if (nd > 0 && nd >= expected && v === cmd) return index
          yield sleep(20)
        }
        if (!retry) this.fail(`one(${cmd}) failed to reach agreement`)
      } else {
        yield sleep(50)
      }
    }
    return this.fail(`one(${cmd}) failed to reach agreement`)
  }

  /** Waits until `n` servers applied `index`; -1 if some server moved past `startTerm`. */
  *wait(index: number, n: number, startTerm: number): Client<string | -1> {
    let to = 10
    for (let iters = 0; iters < 30; iters++) {
      const [nd] = this.nCommitted(index)
      if (nd >= n) break
      yield sleep(to)
      if (to < 1000) to *= 2
      if (startTerm > -1) {
        for (let i = 0; i < this.n; i++) {
          const s = this.sim.state(i)
          if (s !== null && s.term > startTerm) return -1
        }
      }
    }
    const [nd, v] = this.nCommitted(index)
    if (nd < n) this.fail(`only ${nd} decided for index ${index}; wanted ${n}`)
    return v!
  }
}
