import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"

const root = JSON.parse(
  readFileSync(new URL("../../../package.json", import.meta.url), "utf8"),
) as {
  readonly engines: { readonly node: string }
  readonly devDependencies: { readonly node: string }
}

describe("runtime", () => {
  it("runs on a Node that engines allows (>=22)", () => {
    expect(root.engines.node).toBe(">=22")
    const major = Number(process.versions.node.split(".")[0])
    expect(major).toBeGreaterThanOrEqual(22)
  })

  it("runs on the pinned Node (the node devDependency) when started through npm or npx", () => {
    // npm and npx put node_modules/.bin, and so the pinned node, first on PATH.
    expect(process.env.npm_lifecycle_event).toBeDefined()
    expect(process.versions.node).toBe(root.devDependencies.node)
  })
})
