import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  checkLinearizability,
  describeCounterexample,
  type KvInput,
  type KvOutput,
  kvSpec,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  registerSpec,
  type SequentialSpec,
} from "../../src/core/linearizability.ts"
import { linearizableHistory } from "./histories.ts"

type RegOp = Operation<RegisterInput<number>, RegisterOutput<number>>

const op = (
  client: number,
  input: RegisterInput<number>,
  call: number,
  ret: number | undefined,
  output?: RegisterOutput<number>,
): RegOp => ({
  client,
  input,
  call,
  ...(ret === undefined ? {} : { return: ret }),
  ...(output === undefined ? {} : { output }),
})
const w = (client: number, value: number, call: number, ret?: number): RegOp =>
  op(client, { type: "write", value }, call, ret, ret === undefined ? undefined : null)
const r = (client: number, value: number, call: number, ret: number): RegOp =>
  op(client, { type: "read" }, call, ret, value)

const register = registerSpec(0)

/** Brute force: try every order consistent with real time, with pending operations optional. */
const bruteForce = <S, I, O>(
  spec: SequentialSpec<S, I, O>,
  ops: ReadonlyArray<Operation<I, O>>,
): boolean => {
  const n = ops.length
  const done = new Array<boolean>(n).fill(false)
  const search = (state: S, placed: number): boolean => {
    // Finished when every completed operation is placed (pending ones may be left out).
    if (ops.every((o, i) => done[i] || o.return === undefined)) return true
    void placed
    for (let i = 0; i < n; i++) {
      if (done[i]) continue
      const o = ops[i]!
      // o can go next only if no unplaced completed operation returned before o was called.
      const blocked = ops.some(
        (p, j) => j !== i && !done[j] && p.return !== undefined && p.return < o.call,
      )
      if (blocked) continue
      const after = spec.step(state, o.input, o.output)
      if (after === undefined) continue
      done[i] = true
      if (search(after, placed + 1)) return true
      done[i] = false
    }
    return false
  }
  return search(spec.init(), 0)
}

describe("linearizability of register histories", () => {
  it("accepts a sequential history and rejects a stale read", () => {
    expect(checkLinearizability(register, [w(1, 1, 0, 1), r(2, 1, 2, 3)]).linearizable).toBe(true)
    const stale = checkLinearizability(register, [w(1, 1, 0, 1), r(2, 0, 2, 3)])
    expect(stale.linearizable).toBe(false)
    expect(stale.counterexample!.stuck.map((o) => o.input.type)).toEqual(["read"])
  })

  it("lets concurrent operations take effect in either order", () => {
    // The read overlaps the write: it may see the old or the new value.
    expect(checkLinearizability(register, [w(1, 1, 0, 3), r(2, 0, 1, 2)]).linearizable).toBe(true)
    expect(checkLinearizability(register, [w(1, 1, 0, 3), r(2, 1, 1, 2)]).linearizable).toBe(true)
    // Operations whose interval ends exactly when another begins count as concurrent.
    expect(checkLinearizability(register, [w(1, 1, 0, 2), r(2, 0, 2, 3)]).linearizable).toBe(true)
  })

  it("rejects reads that go back in time", () => {
    const history = [w(1, 1, 0, 10), r(2, 1, 1, 2), r(3, 0, 3, 4)]
    expect(checkLinearizability(register, history).linearizable).toBe(false)
  })

  it("treats an operation without a return as possibly applied, or never", () => {
    expect(checkLinearizability(register, [w(1, 1, 0), r(2, 1, 5, 6)]).linearizable).toBe(true)
    expect(checkLinearizability(register, [w(1, 1, 0), r(2, 0, 5, 6)]).linearizable).toBe(true)
    // But not both: once seen, a value cannot disappear.
    expect(
      checkLinearizability(register, [w(1, 1, 0), r(2, 1, 5, 6), r(3, 0, 7, 8)]).linearizable,
    ).toBe(false)
  })

  it("checks compare-and-set results", () => {
    const cas = (
      client: number,
      expected: number,
      value: number,
      call: number,
      ret: number,
      ok: boolean,
    ): RegOp => op(client, { type: "cas", expected, value }, call, ret, ok)
    expect(
      checkLinearizability(register, [cas(1, 0, 5, 0, 1, true), r(2, 5, 2, 3)]).linearizable,
    ).toBe(true)
    expect(checkLinearizability(register, [cas(1, 0, 5, 0, 1, false)]).linearizable).toBe(false)
    expect(
      checkLinearizability(register, [cas(1, 0, 5, 0, 1, true), cas(2, 0, 6, 2, 3, true)])
        .linearizable,
    ).toBe(false)
  })

  it("agrees with a brute-force search on small random histories", () => {
    const history = fc
      .array(
        fc.record({
          client: fc.integer({ min: 0, max: 3 }),
          kind: fc.constantFrom("write", "read", "cas"),
          a: fc.integer({ min: 0, max: 2 }),
          b: fc.integer({ min: 0, max: 2 }),
          call: fc.integer({ min: 0, max: 12 }),
          length: fc.integer({ min: 0, max: 6 }),
          pending: fc.integer({ min: 0, max: 9 }),
          ok: fc.boolean(),
        }),
        { maxLength: 6 },
      )
      .map((rows) =>
        rows.map((x): RegOp => {
          const ret = x.pending === 0 ? undefined : x.call + x.length
          if (x.kind === "write")
            return op(
              x.client,
              { type: "write", value: x.a },
              x.call,
              ret,
              ret === undefined ? undefined : null,
            )
          if (x.kind === "read")
            return op(x.client, { type: "read" }, x.call, ret, ret === undefined ? undefined : x.a)
          return op(
            x.client,
            { type: "cas", expected: x.a, value: x.b },
            x.call,
            ret,
            ret === undefined ? undefined : x.ok,
          )
        }),
      )
    let both = { yes: 0, no: 0 }
    fc.assert(
      fc.property(history, (ops) => {
        const expected = bruteForce(register, ops)
        expect(checkLinearizability(register, ops).linearizable).toBe(expected)
        both = expected ? { ...both, yes: both.yes + 1 } : { ...both, no: both.no + 1 }
      }),
      { numRuns: 600 },
    )
    // The generator produces both kinds of history.
    expect(both.yes).toBeGreaterThan(50)
    expect(both.no).toBeGreaterThan(50)
  })

  it("rejects malformed histories, naming the operation and field", () => {
    expect(() => checkLinearizability(register, [op(1, { type: "read" }, 5, 2, 0)])).toThrow(
      "operations[0].return: 2 is before its call 5",
    )
    expect(() =>
      checkLinearizability(register, [op(1, { type: "read" }, Number.NaN, 2, 0)]),
    ).toThrow("operations[0].call: expected a number, got NaN")
  })

  it("gives up with unknown after the step budget", () => {
    const ops = Array.from({ length: 12 }, (_, i) => w(i, i, 0, 100)).concat([r(99, 77, 101, 102)])
    const result = checkLinearizability(register, ops, { maxSteps: 50 })
    expect(result.linearizable).toBe("unknown")
  })
})

describe("linearizability of key-value histories", () => {
  const kv = kvSpec<number, number>()

  it("accepts histories linearizable by construction, per key (P-compositionality)", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 300 }), (seed, count) => {
        const ops = linearizableHistory(seed, count, 4, 3)
        const result = checkLinearizability(kv, ops)
        expect(result.linearizable).toBe(true)
        expect(result.partitions).toBe(new Set(ops.map((o) => o.input.key)).size)
      }),
      { numRuns: 60 },
    )
  })

  it("rejects them once one read returns a value never written, and says where", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const ops = linearizableHistory(seed, 200, 4, 3)
        const reads = ops.flatMap((o, i) => (o.input.type === "get" ? [i] : []))
        fc.pre(reads.length > 0)
        const victim = reads[Math.abs(seed) % reads.length]!
        const broken = ops.map((o, i) => (i === victim ? { ...o, output: -42 } : o))
        const result = checkLinearizability(kv, broken)
        expect(result.linearizable).toBe(false)
        expect(result.counterexample!.operations).toContain(broken[victim])
      }),
      { numRuns: 40 },
    )
  })

  it("checks a history of 20,000 operations", () => {
    const ops = linearizableHistory(7, 20_000, 8, 50)
    const result = checkLinearizability(kv, ops)
    expect(result.linearizable).toBe(true)
    expect(result.partitions).toBe(50)
  })

  it("describes a counterexample readably", () => {
    const ops: Array<Operation<KvInput<string, string>, KvOutput<string>>> = [
      {
        client: "a",
        input: { type: "put", key: "k", value: "v" },
        output: null,
        call: 0,
        return: 1,
      },
      { client: "b", input: { type: "get", key: "k" }, output: null, call: 2, return: 3 },
    ]
    const spec = kvSpec<string, string>()
    const text = describeCounterexample(spec, checkLinearizability(spec, ops))
    expect(text).toContain('put("k", "v")')
    expect(text).toContain('get("k") -> null')
    expect(text).toContain("cannot be placed next")
  })
})
