/**
 * The README's example runs as written (its fixed port replaced by a free
 * one): it starts a server and prints a kubectl line, and that line, run
 * with the real kubectl, lists the namespaces.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Fiber } from "effect"
import { afterEach, describe, expect, it, vi } from "vitest"
import { kubectlFor } from "./support.ts"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const blocks = [
  ...readFileSync(join(root, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g),
].map((m) => m[1] as string)
const cache = join(root, "node_modules", ".cache", "readme-examples")

afterEach(() => {
  vi.restoreAllMocks()
})

describe("README example", () => {
  it("has one example", () => {
    expect(blocks).toHaveLength(1)
  })

  it("starts a server whose printed kubectl line lists the namespaces", async () => {
    const code = blocks[0] as string
    expect(code).toContain("port: 6443")
    expect(code).toContain("Effect.runPromise(")
    mkdirSync(cache, { recursive: true })
    const file = join(cache, `example-${process.pid}.ts`)
    // A free port, and the running fiber exported so that the test can stop it.
    writeFileSync(
      file,
      code
        .replace("port: 6443", "port: 0")
        .replace("Effect.runPromise(", "export const fiber = Effect.runFork("),
    )
    const logged: Array<string> = []
    vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
      logged.push(args.map(String).join(" "))
    })
    let fiber: Fiber.Fiber<unknown, unknown> | undefined
    try {
      fiber = ((await import(/* @vite-ignore */ file)) as { fiber: Fiber.Fiber<unknown, unknown> })
        .fiber
      await vi.waitFor(() => expect(logged).toHaveLength(1), { timeout: 10_000 })
      const line = logged[0] as string
      const printed = /^kubectl -s (http:\/\/127\.0\.0\.1:\d+) get ns$/.exec(line)
      expect(printed, line).not.toBeNull()
      const kubectl = kubectlFor(printed![1] as string)
      try {
        const { stdout, code: exit } = await kubectl.run(["-s", printed![1] as string, "get", "ns"])
        expect(exit).toBe(0)
        expect(stdout).toMatch(/^NAME\s+STATUS\s+AGE$/m)
        expect(stdout).toMatch(/^default\s+Active\s/m)
      } finally {
        kubectl.cleanup()
      }
    } finally {
      if (fiber !== undefined) await Effect.runPromise(Fiber.interrupt(fiber))
      rmSync(file, { force: true })
    }
  })
})
