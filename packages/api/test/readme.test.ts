/**
 * The README's TypeScript examples run as written: each ```ts block is
 * written to a module under node_modules/.cache (so its imports resolve as a
 * user's would) and imported, with console.log captured.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it, vi } from "vitest"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const blocks = [
  ...readFileSync(join(root, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g),
].map((m) => m[1] as string)
const cache = join(root, "node_modules", ".cache", "readme-examples")

/** Runs one block; returns what it logged, one string per console.log call. */
const run = async (i: number): Promise<Array<string>> => {
  mkdirSync(cache, { recursive: true })
  const file = join(cache, `example-${i}-${process.pid}.ts`)
  writeFileSync(file, blocks[i] as string)
  const logged: Array<string> = []
  vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
    logged.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "))
  })
  await import(/* @vite-ignore */ file)
  return logged
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("README examples", () => {
  it("has the three examples", () => {
    expect(blocks).toHaveLength(3)
  })

  it("the manifest pipeline prints the apps/v1 Deployment with a selector", async () => {
    const [yaml] = await run(0)
    expect(yaml).toContain("apiVersion: apps/v1")
    expect(yaml).toContain("selector:\n    matchLabels:\n      app: web")
  })

  it("the API server's steps admit a pod, answer 422 for a bad name and 400 for a duplicate key", async () => {
    const [created, invalid, duplicate] = await run(1)
    expect(JSON.parse(created as string)).toMatchObject({
      kind: "Pod",
      spec: { restartPolicy: "Always" },
    })
    expect([invalid, duplicate]).toEqual(["Status", "Status"])
  })

  it("the primitives print what the comments say", async () => {
    expect(await run(2)).toEqual(["500m", "1536Mi", "true"])
  })
})
