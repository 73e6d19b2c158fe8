import { describe, expect, it } from "vitest"
import { cloneState, encodeState, fingerprintState, step } from "../../src/index.ts"
import { SyncNetwork } from "../../src/testing/sync-network.ts"

describe("core smoke", () => {
  it("elects a leader and replicates proposals to every node", () => {
    const net = new SyncNetwork(["a", "b", "c"])
    net.campaign("a")
    expect(net.leaders()).toEqual(["a"])
    net.propose("a", "x")
    net.propose("a", "y")
    net.deliver()
    // Followers learn the final commitIndex from the leader's next message.
    net.tickAll(1)
    net.deliver()
    for (const id of ["a", "b", "c"]) expect(net.appliedData(id)).toEqual(["x", "y"])
  })

  it("clones are independent and fingerprint like the original", () => {
    const net = new SyncNetwork(["a", "b", "c"])
    net.campaign("a")
    const s = net.state("a")
    const c = cloneState(s)
    expect(encodeState(c)).toBe(encodeState(s))
    expect(fingerprintState(c)).toBe(fingerprintState(s))
    step(c, { type: "Propose", proposals: [{ id: 1, type: "Normal", data: new Uint8Array([1]) }] })
    expect(encodeState(c)).not.toBe(encodeState(s))
    expect(fingerprintState(c)).not.toBe(fingerprintState(s))
  })
})
