import type { KvInput, KvOutput, Operation } from "../../src/core/linearizability.ts"
import { Random } from "../../src/core/random.ts"

/** A history that is linearizable by construction: operations take effect at distinct points inside their intervals. */
export const linearizableHistory = (
  seed: number,
  count: number,
  clients: number,
  keys: number,
): Array<Operation<KvInput<number, number>, KvOutput<number>>> => {
  const random = new Random(seed)
  const ops: Array<Operation<KvInput<number, number>, KvOutput<number>>> = []
  const values = new Map<number, number | null>()
  const busyUntil = new Array<number>(clients).fill(0)
  let t = 0
  for (let i = 0; i < count; i++) {
    const client = random.below(clients)
    const key = random.below(keys)
    const call = Math.max(t, busyUntil[client]!) + random.below(3)
    const point = call + 1 + random.below(5)
    const ret = point + 1 + random.below(5)
    busyUntil[client] = ret + 1
    t = point + 1
    const current = values.get(key) ?? null
    const kind = random.below(3)
    if (kind === 0) {
      values.set(key, i)
      ops.push({ client, input: { type: "put", key, value: i }, output: null, call, return: ret })
    } else if (kind === 1) {
      ops.push({ client, input: { type: "get", key }, output: current, call, return: ret })
    } else {
      const expected = random.below(2) === 0 ? current : -1
      const swap = expected === current
      if (swap) values.set(key, i)
      ops.push({
        client,
        input: { type: "cas", key, expected, value: i },
        output: swap,
        call,
        return: ret,
      })
    }
  }
  return ops
}
