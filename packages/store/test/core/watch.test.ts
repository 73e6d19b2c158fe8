// Watch scenarios: the control responses (created, cancelled, refused,
// progress), fragmenting, batching and cancellation by compaction.
import { describe, expect, it } from "vitest"
import {
  decodeSnapshot,
  ErrCompacted,
  ErrEmptyWatcherRange,
  ErrWatcherDuplicateID,
  encodeSnapshot,
  fromUtf8,
  MvccStore,
  utf8,
  WatchHub,
  type WatchHubOptions,
} from "../../src/core/index.ts"
import type { WatchResponse } from "../../src/core/types.ts"

const setup = (options?: WatchHubOptions) => {
  const store = new MvccStore()
  const out: WatchResponse[] = []
  const hub = new WatchHub(store, (_, r) => out.push(r), options)
  const stream = hub.openStream()
  const put = (k: string, v = "v"): void => {
    store.put({ key: utf8(k), value: utf8(v) })
    hub.sync()
  }
  return { store, hub, stream, out, put }
}

const summary = (r: WatchResponse) => ({
  id: r.watch_id,
  rev: r.header.revision,
  created: r.created,
  canceled: r.canceled,
  events: r.events.map((e) => `${e.type} ${fromUtf8(e.kv.key)}@${e.kv.mod_revision}`),
})

describe("WatchHub", () => {
  it("announces creation, then delivers matching events", () => {
    const { hub, stream, out, put } = setup()
    hub.request(stream, { create_request: { key: utf8("a"), range_end: utf8("b") } })
    put("a1")
    put("b1")
    put("a2")
    expect(out.map(summary)).toEqual([
      { id: 0, rev: 1, created: true, canceled: false, events: [] },
      { id: 0, rev: 2, created: false, canceled: false, events: ["PUT a1@2"] },
      { id: 0, rev: 4, created: false, canceled: false, events: ["PUT a2@4"] },
    ])
  })

  it("numbers watches per stream, takes client-chosen IDs and refuses duplicates", () => {
    const { hub, stream, out } = setup()
    hub.request(stream, { create_request: { key: utf8("a"), watch_id: 1 } })
    hub.request(stream, { create_request: { key: utf8("a") } })
    hub.request(stream, { create_request: { key: utf8("a") } })
    hub.request(stream, { create_request: { key: utf8("a"), watch_id: 2 } })
    expect(out.map((r) => [r.watch_id, r.created, r.canceled, r.cancel_reason])).toEqual([
      [1, true, false, ""],
      [0, true, false, ""],
      [2, true, false, ""],
      [-1, true, true, ErrWatcherDuplicateID],
    ])
  })

  it("refuses a negative start revision and an empty range", () => {
    const { hub, stream, out } = setup()
    hub.request(stream, { create_request: { key: utf8("a"), start_revision: -1 } })
    hub.request(stream, { create_request: { key: utf8("b"), range_end: utf8("a") } })
    expect(out.map((r) => [r.watch_id, r.created, r.canceled, r.cancel_reason])).toEqual([
      [-1, true, true, ErrCompacted.message],
      [-1, true, true, ErrEmptyWatcherRange],
    ])
    expect(hub.size).toBe(0)
  })

  it("cancels on request and ignores unknown IDs", () => {
    const { hub, stream, out, put } = setup()
    hub.request(stream, { create_request: { key: utf8("a") } })
    hub.request(stream, { cancel_request: { watch_id: 0 } })
    hub.request(stream, { cancel_request: { watch_id: 7 } })
    put("a")
    expect(out.map((r) => [r.watch_id, r.created, r.canceled])).toEqual([
      [0, true, false],
      [0, false, true],
    ])
  })

  it("answers a progress request with the synced revision for the whole stream", () => {
    const { hub, stream, out, put } = setup()
    hub.request(stream, { create_request: { key: utf8("z") } })
    put("a")
    put("b")
    hub.request(stream, { progress_request: {} })
    expect(out.at(-1)).toMatchObject({ watch_id: -1, header: { revision: 3 }, events: [] })
  })

  it("sends periodic progress only to idle progress_notify watchers", () => {
    const { hub, stream, out, put } = setup()
    hub.request(stream, { create_request: { key: utf8("a"), progress_notify: true } })
    hub.request(stream, { create_request: { key: utf8("b"), progress_notify: true } })
    hub.request(stream, { create_request: { key: utf8("c") } })
    put("a")
    out.length = 0
    hub.progressNotify()
    expect(out.map((r) => [r.watch_id, r.header.revision, r.events.length])).toEqual([[1, 2, 0]])
    out.length = 0
    hub.progressNotify()
    expect(out.map((r) => r.watch_id)).toEqual([0, 1])
  })

  it("splits a large response of a fragment watch, never an ordinary one", () => {
    const { hub, stream, out, store } = setup({ maxResponseBytes: 300 })
    hub.request(stream, {
      create_request: { key: utf8("a"), range_end: utf8("b"), fragment: true },
    })
    hub.request(stream, { create_request: { key: utf8("a"), range_end: utf8("b") } })
    out.length = 0
    const big = "x".repeat(100)
    store.txn({
      success: ["a1", "a2", "a3", "a4", "a5"].map((k) => ({
        request_put: { key: utf8(k), value: utf8(big) },
      })),
    })
    hub.sync()
    const fragmented = out.filter((r) => r.watch_id === 0)
    expect(fragmented.length).toBeGreaterThan(1)
    expect(fragmented.map((r) => r.fragment)).toEqual([
      ...fragmented.slice(1).map(() => true),
      false,
    ])
    expect(fragmented.flatMap((r) => r.events.map((e) => fromUtf8(e.kv.key)))).toEqual([
      "a1",
      "a2",
      "a3",
      "a4",
      "a5",
    ])
    expect(out.filter((r) => r.watch_id === 1).map((r) => r.events.length)).toEqual([5])
  })

  it("catches up from an old revision in batches cut at revision boundaries", () => {
    const { hub, stream, out, store } = setup({ batchEvents: 3 })
    for (let i = 0; i < 4; i++) {
      store.txn({ success: ["a", "b"].map((k) => ({ request_put: { key: utf8(`${k}${i}`) } })) })
    }
    hub.sync()
    hub.request(stream, {
      create_request: { key: utf8("\0"), range_end: utf8("\0"), start_revision: 2 },
    })
    const batches = out.slice(1).map((r) => r.events.map((e) => e.kv.mod_revision))
    expect(batches).toEqual([
      [2, 2, 3, 3],
      [4, 4, 5, 5],
    ])
  })

  it("stops delivering to a closed stream", () => {
    const { hub, stream, out, put } = setup()
    hub.request(stream, { create_request: { key: utf8("a") } })
    hub.closeStream(stream)
    put("a")
    expect(out).toHaveLength(1)
    expect(hub.size).toBe(0)
  })

  it("cancels watchers whose events were compacted before they were dispatched", () => {
    const { hub, stream, out, store } = setup()
    hub.request(stream, { create_request: { key: utf8("a") } })
    store.put({ key: utf8("a") })
    store.put({ key: utf8("a") })
    store.compact({ revision: 3 })
    hub.sync()
    expect(out.at(-1)).toMatchObject({ watch_id: 0, canceled: true, compact_revision: 3 })
    expect(hub.size).toBe(0)
  })

  it("waits for a future start revision", () => {
    const { hub, stream, out, put } = setup()
    hub.request(stream, { create_request: { key: utf8("a"), start_revision: 3 } })
    put("a", "skipped")
    put("a", "seen")
    expect(out.slice(1).flatMap((r) => r.events.map((e) => fromUtf8(e.kv.value)))).toEqual(["seen"])
  })

  it("follows a store restored from a snapshot: the missing events, or a cancel", () => {
    const leader = new MvccStore()
    const follower = new MvccStore()
    const out: WatchResponse[] = []
    const hub = new WatchHub(follower, (_, r) => out.push(r))
    const stream = hub.openStream()
    const both = (k: string, v: string): void => {
      for (const s of [leader, follower]) s.put({ key: utf8(k), value: utf8(v) })
    }
    both("a", "1")
    hub.request(stream, { create_request: { key: utf8("a") } })
    hub.request(stream, { create_request: { key: utf8("b"), start_revision: 50 } })
    // The leader moves on; the follower installs its snapshot.
    leader.put({ key: utf8("a"), value: utf8("2") })
    leader.put({ key: utf8("b"), value: utf8("x") })
    leader.put({ key: utf8("a"), value: utf8("3") })
    out.length = 0
    hub.restore(decodeSnapshot(encodeSnapshot(leader)))
    expect(out.map((r) => [r.watch_id, r.events.map((e) => fromUtf8(e.kv.value))])).toEqual([
      [0, ["2", "3"]],
    ])

    // A snapshot that compacted away what watchers need cancels them; future watchers stay.
    for (let i = 0; i < 5; i++) leader.put({ key: utf8("a"), value: utf8(`${i}`) })
    leader.compact({ revision: 8 })
    out.length = 0
    hub.restore(decodeSnapshot(encodeSnapshot(leader)))
    expect(out.map((r) => [r.watch_id, r.canceled, r.compact_revision])).toEqual([[0, true, 8]])
    expect(hub.size).toBe(1)
  })
})
