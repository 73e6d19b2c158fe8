// The watch cache's rules, without a store: replay then live, each change
// once and in order, a bounded history, and watchers ended when it stops;
// and how changes from a store are batched on their way to it.
import { KV } from "@flotilla/store"
import { Effect } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makeWatchCaches, ResourceCache } from "../src/cacher.ts"
import { type Change, makeObjectStore } from "../src/storage.ts"

const change = (revision: number): Change => ({
  type: "PUT",
  key: `/registry/pods/default/p${revision}`,
  revision,
  object: { metadata: { name: `p${revision}`, resourceVersion: String(revision) } },
  previous: undefined,
  created: true,
})

describe("ResourceCache", () => {
  it("gives each watcher every change after its revision once, in order, wherever it joins, and refuses only revisions older than its last `capacity` changes (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.record({ at: fc.nat(), from: fc.nat() }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 5 }),
        fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constant(1000)),
        (total, joins, batch, capacity) => {
          const cache = new ResourceCache("/registry/pods/", capacity)
          cache.start(0)
          const seen = new Map<number, Array<number>>()
          const plans = joins.map((j, i) => ({ id: i, at: j.at % (total + 1), from: 0 }))
          for (const p of plans) p.from = Math.min(p.at, joins[p.id]?.from ?? 0)
          let rev = 0
          const join = (now: number) => {
            for (const p of plans) {
              if (p.at !== now) continue
              const got: Array<number> = []
              const servable = p.from >= Math.max(0, rev - capacity)
              expect(cache.canServe(p.from)).toBe(servable)
              const subscription = cache.subscribe(p.from, {
                changes: (cs) => got.push(...cs.map((c) => c.revision)),
                end: () => {},
              })
              expect(subscription !== undefined).toBe(servable)
              if (servable) seen.set(p.id, got)
            }
          }
          join(0)
          while (rev < total) {
            const size = Math.min(batch, total - rev)
            const cs = Array.from({ length: size }, (_, k) => change(rev + k + 1))
            rev += size
            cache.receive(cs, rev)
            for (let r = rev - size + 1; r <= rev; r++) join(r)
          }
          for (const p of plans) {
            if (!seen.has(p.id)) continue
            const want = Array.from({ length: total - p.from }, (_, k) => p.from + k + 1)
            expect(seen.get(p.id)).toEqual(want)
          }
        },
      ),
    )
  })

  it("refuses revisions older than its history, and ends its watchers when it stops", () => {
    const cache = new ResourceCache("/registry/pods/", 2)
    cache.start(10)
    cache.receive([change(11), change(12), change(13)], 13)
    expect(cache.canServe(10)).toBe(false)
    expect(cache.canServe(11)).toBe(true)
    expect(cache.subscribe(10, { changes: () => {}, end: () => {} })).toBeUndefined()
    const ended: Array<string> = []
    const got: Array<number> = []
    cache.subscribe(11, {
      changes: (cs) => got.push(...cs.map((c) => c.revision)),
      end: (r) => ended.push(r),
    })
    expect(got).toEqual([12, 13])
    cache.stop("bye")
    expect(ended).toEqual(["bye"])
    expect(cache.canServe(11)).toBe(false)
    expect(cache.watcherCount).toBe(0)
  })

  it("passes a batch on at once when it holds batchChanges changes, without waiting for batchMs", async () => {
    const batches = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = makeObjectStore(yield* KV)
          // The timer and the progress notices (10 minutes) never come here: only
          // the size lets a batch go.
          const caches = yield* makeWatchCaches(store, ["pods"], {
            batchMs: 600_000,
            progressEveryMs: 600_000,
            batchChanges: 4,
          })
          const cache = caches.get("pods")!
          const seen: Array<Array<number>> = []
          cache.subscribe(cache.revision, {
            changes: (cs) => seen.push(cs.map((c) => c.revision)),
            end: () => {},
          })
          for (let i = 0; i < 4; i++) {
            const name = `p${i}`
            yield* store.create(`/registry/pods/default/${name}`, {
              apiVersion: "v1",
              kind: "Pod",
              metadata: { name, namespace: "default" },
            })
          }
          // The store's events reach the cache a few microtasks after each write.
          const deadline = Date.now() + 5_000
          while (seen.length === 0 && Date.now() < deadline) yield* Effect.sleep("1 millis")
          // A copy: closing the scope flushes whatever still waits into `seen`.
          return seen.map((b) => [...b])
        }),
      ).pipe(Effect.provide(KV.layerMemory())),
    )
    // One batch of the four changes: not four of one, not nothing until the timer.
    expect(batches).toHaveLength(1)
    expect(batches[0]).toHaveLength(4)
  })
})
