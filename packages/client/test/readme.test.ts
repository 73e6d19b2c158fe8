/**
 * The README's example runs as written against a server of our own (its
 * fixed address replaced by the test server's): the informer's handler
 * enqueues the pod the test creates, and the worker logs its key and phase.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Logger } from "effect"
import { pod, withServer } from "./support.ts"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const blocks = [
  ...readFileSync(join(root, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g),
].map((m) => m[1] as string)
const cache = join(root, "node_modules", ".cache", "readme-examples")

describe("README example", () => {
  it("has one example", () => {
    assert.strictEqual(blocks.length, 1)
  })

  it.live("logs each pod's key and phase as the informer sees it", () =>
    Effect.gen(function* () {
      const { client, url } = yield* withServer
      const code = blocks[0] as string
      assert.include(code, '"http://127.0.0.1:6443"')
      mkdirSync(cache, { recursive: true })
      const file = join(cache, `example-${process.pid}.ts`)
      writeFileSync(
        file,
        `${code.replace('"http://127.0.0.1:6443"', JSON.stringify(url))}\nexport { program }\n`,
      )
      const { program } = yield* Effect.promise(
        () =>
          import(/* @vite-ignore */ file) as Promise<{
            program: Effect.Effect<void, unknown>
          }>,
      ).pipe(Effect.ensuring(Effect.sync(() => rmSync(file, { force: true }))))
      const logged: Array<string> = []
      const capture = Logger.make(({ message }) => {
        logged.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      })
      const worker = yield* Effect.forkChild(program.pipe(Effect.provide(Logger.layer([capture]))))
      yield* client.pods.create("default", pod("readme-1"))
      // The informer lists, then watches: wait for the worker's line, with a deadline.
      yield* Effect.gen(function* () {
        while (!logged.includes("default/readme-1: Pending")) yield* Effect.sleep("10 millis")
      }).pipe(Effect.timeout("10 seconds"))
      yield* client.pods.delete("default", "readme-1")
      yield* Effect.gen(function* () {
        while (!logged.includes("default/readme-1: deleted")) yield* Effect.sleep("10 millis")
      }).pipe(Effect.timeout("10 seconds"))
      yield* Fiber.interrupt(worker)
      assert.deepStrictEqual(logged.slice(0, 2), [
        "default/readme-1: Pending",
        "default/readme-1: deleted",
      ])
    }).pipe(Effect.scoped),
  )
})
