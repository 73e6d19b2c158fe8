#!/usr/bin/env node
// The `flotilla` command. Inside the workspace it runs the TypeScript sources
// directly (Node's built-in type stripping, with workspace packages resolved to
// their sources through the "@flotilla/source" export condition); a published
// install runs the compiled `dist`.
import { existsSync } from "node:fs"
// A namespace import: a named import of registerHooks would fail to link on an
// older Node before the check below could say why.
import * as nodeModule from "node:module"

const { registerHooks } = nodeModule
const [major] = process.versions.node.split(".").map(Number)
if (major < 22 || typeof registerHooks !== "function") {
  process.stderr.write(
    `flotilla needs Node.js 22.15 or newer (this is ${process.version}); run it through npm or npx in the repository, which use the pinned Node 24.\n`,
  )
  process.exit(2)
}

const source = new URL("../src/main.ts", import.meta.url)
if (existsSync(source)) {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      return nextResolve(specifier, {
        ...context,
        conditions: [...context.conditions, "@flotilla/source"],
      })
    },
  })
  await import(source.href)
} else {
  await import(new URL("../dist/main.js", import.meta.url).href)
}
