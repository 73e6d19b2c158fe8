// Test support: an API server on an in-memory store, started in the test
// process on a free port of 127.0.0.1, and a kubectl runner with its own
// kubeconfig and discovery cache.
import { execFile, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { KV } from "@flotilla/store"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { type ApiServerShape, type ServerOptions, serve } from "../src/server.ts"

export interface TestServer extends ApiServerShape {
  readonly close: () => Promise<void>
}

export const startServer = async (options: ServerOptions = {}): Promise<TestServer> => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(KV.layerMemory(), scope))
  const kv = Context.get(context, KV)
  const server = await Effect.runPromise(Scope.provide(serve(kv, options), scope))
  return { ...server, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

export interface Kubectl {
  readonly dir: string
  readonly kubeconfig: string
  /** Runs kubectl; resolves with its output and exit code (never rejects on a non-zero exit). */
  readonly run: (
    args: ReadonlyArray<string>,
    stdin?: string,
  ) => Promise<{ stdout: string; stderr: string; code: number }>
  /** Starts a long-running kubectl (`get -w`) and collects its stdout. */
  readonly start: (args: ReadonlyArray<string>) => {
    readonly output: () => string
    readonly waitFor: (predicate: (out: string) => boolean, deadlineMs?: number) => Promise<string>
    readonly stop: () => void
  }
  readonly cleanup: () => void
}

export const kubectlFor = (url: string): Kubectl => {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-kubectl-"))
  const kubeconfig = join(dir, "kubeconfig")
  writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{name: flotilla, cluster: {server: "${url}"}}]`,
      "users: [{name: flotilla, user: {}}]",
      "contexts: [{name: flotilla, context: {cluster: flotilla, user: flotilla, namespace: default}}]",
      "current-context: flotilla",
      "",
    ].join("\n"),
  )
  const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: dir, NO_COLOR: "1" }
  const base = ["--cache-dir", join(dir, "cache")]
  const run: Kubectl["run"] = (args, stdin) =>
    new Promise((resolve) => {
      const child = execFile(
        "/usr/bin/kubectl",
        [...base, ...args],
        { env, encoding: "utf8", timeout: 60_000 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
          resolve({ stdout, stderr, code })
        },
      )
      if (stdin !== undefined) child.stdin?.end(stdin)
    })
  const start: Kubectl["start"] = (args) => {
    const child = spawn("/usr/bin/kubectl", [...base, ...args], { env })
    let out = ""
    const waiters: Array<() => void> = []
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString("utf8")
      for (const w of waiters.splice(0)) w()
    })
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString("utf8")
      for (const w of waiters.splice(0)) w()
    })
    return {
      output: () => out,
      waitFor: (predicate, deadlineMs = 20_000) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`timed out waiting; output so far:\n${out}`)),
            deadlineMs,
          )
          const check = () => {
            if (predicate(out)) {
              clearTimeout(timer)
              resolve(out)
            } else waiters.push(check)
          }
          check()
        }),
      stop: () => {
        child.kill()
      },
    }
  }
  return {
    dir,
    kubeconfig,
    run,
    start,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** The rows of a `kubectl get` table: header cells, then each row's cells. */
export const tableRows = (out: string): Array<Array<string>> =>
  out
    .trim()
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.trim().split(/\s{2,}/))
