// The scheduler as the real `flotilla` binary runs it: `flotilla up` schedules
// pods created with kubectl (with a profile from --scheduler-config), and
// `flotilla scheduler --kubeconfig` runs beside it with its own profile; bad
// configuration files stop both with the file, line and field at fault.
import { execFile, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer as createHttpServer } from "node:http"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"

/** No colours, and no FORCE_COLOR (nx sets it): with NO_COLOR it makes Node warn on stderr. */
const { FORCE_COLOR: _forceColor, ...inherited } = process.env
const plainEnv = { ...inherited, NO_COLOR: "1" }

const bin = fileURLToPath(new URL("../bin/flotilla.js", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "flotilla-scheduler-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Running {
  readonly output: () => string
  readonly stop: () => Promise<{ code: number | null; output: string }>
}

/** Runs `flotilla ARGS` until it prints `ready` (or fails if it exits first). */
const start = (args: ReadonlyArray<string>, ready: string) =>
  new Promise<Running>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: plainEnv,
    })
    let output = ""
    const timer = setTimeout(
      () => reject(new Error(`flotilla ${args[0]} did not start:\n${output}`)),
      30_000,
    )
    const onData = (d: Buffer) => {
      output += d.toString("utf8")
      if (output.includes(ready)) {
        clearTimeout(timer)
        resolve({
          output: () => output,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done({ code: child.exitCode, output })
              child.once("exit", (code) => done({ code, output }))
              child.kill("SIGINT")
            }),
        })
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`flotilla ${args[0]} exited (${code}):\n${output}`))
    })
  })

const flotilla = (...args: Array<string>) =>
  promisify(execFile)(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: plainEnv,
  }).then(
    (r) => ({ code: 0, output: r.stdout + r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? -1,
      output: (e.stdout ?? "") + (e.stderr ?? ""),
    }),
  )

const kubeconfig = join(dir, "data", "kubeconfig")
const kubectl = (args: ReadonlyArray<string>, stdin?: string) =>
  new Promise<string>((resolve, reject) => {
    const child = execFile(
      "/usr/bin/kubectl",
      ["--kubeconfig", kubeconfig, "--cache-dir", join(dir, "cache"), ...args],
      { encoding: "utf8", timeout: 60_000 },
      (error, stdout, stderr) =>
        error === null ? resolve(stdout) : reject(new Error(stderr || error.message)),
    )
    if (stdin !== undefined) child.stdin?.end(stdin)
  })

/** Asks kubectl until `probe` accepts its output, failing after the deadline. */
const waitForOutput = async (
  args: ReadonlyArray<string>,
  probe: (out: string) => boolean,
  deadlineMs = 20_000,
): Promise<string> => {
  const start = Date.now()
  for (;;) {
    const out = await kubectl(args)
    if (probe(out)) return out
    if (Date.now() - start > deadlineMs) {
      throw new Error(`kubectl ${args.join(" ")} never matched; last output:\n${out}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

const manifests = [
  "apiVersion: v1",
  "kind: Node",
  "metadata: { name: node-1, labels: { kubernetes.io/hostname: node-1 } }",
  "status:",
  '  capacity: { cpu: "4", memory: 8Gi, pods: "110" }',
  '  allocatable: { cpu: "4", memory: 8Gi, pods: "110" }',
  "---",
  "apiVersion: v1",
  "kind: Pod",
  "metadata: { name: hello }",
  "spec:",
  "  schedulerName: packer",
  "  containers: [{ name: main, image: nginx:1.27 }]",
  "---",
  "apiVersion: v1",
  "kind: Pod",
  "metadata: { name: spread }",
  "spec:",
  "  schedulerName: spreader",
  "  containers: [{ name: main, image: nginx:1.27 }]",
  "",
].join("\n")

const profileFile = (name: string, weight: string) => {
  const file = join(dir, `${name}.yaml`)
  writeFileSync(
    file,
    [
      "apiVersion: kubescheduler.config.k8s.io/v1",
      "kind: KubeSchedulerConfiguration",
      "profiles:",
      `  - schedulerName: ${name}`,
      "    plugins:",
      "      score:",
      "        enabled:",
      "          - name: NodeResourcesMostAllocated",
      `            weight: ${weight}`,
      "",
    ].join("\n"),
  )
  return file
}

describe("flotilla scheduler", () => {
  it("up schedules with its --scheduler-config profile; a standalone scheduler adds another", async () => {
    const bad = await flotilla(
      "up",
      "--port",
      "0",
      "--members",
      "1",
      "--data-dir",
      join(dir, "bad"),
      "--scheduler-config",
      profileFile("broken", "1.5"),
    )
    expect(bad.code).toBe(1)
    expect(bad.output).toContain(
      `${join(dir, "broken.yaml")}:9: profiles[0].plugins.score.enabled[0].weight: must be an integer`,
    )

    const up = await start(
      [
        "up",
        "--port",
        "0",
        "--members",
        "1",
        "--data-dir",
        join(dir, "data"),
        "--scheduler-config",
        profileFile("packer", "2"),
      ],
      "kubectl --kubeconfig",
    )
    let standalone: Running | undefined
    try {
      expect(up.output()).toContain("flotilla: scheduler running (profiles: packer)")
      standalone = await start(
        ["scheduler", "--kubeconfig", kubeconfig, "--config", profileFile("spreader", "1")],
        "Ctrl-C stops",
      )
      expect(standalone.output()).toMatch(
        /^flotilla scheduler: scheduling pods of http:\/\/127\.0\.0\.1:\d+ \(profiles: spreader\); Ctrl-C stops$/m,
      )
      await kubectl(["apply", "-f", "-"], manifests)
      const events = await waitForOutput(
        ["get", "events", "-o", "custom-columns=SOURCE:.source.component,MESSAGE:.message"],
        (out) => out.includes("default/hello") && out.includes("default/spread"),
      )
      expect(events).toMatch(/^packer\s+Successfully assigned default\/hello to node-1$/m)
      expect(events).toMatch(/^spreader\s+Successfully assigned default\/spread to node-1$/m)
      const pods = await kubectl([
        "get",
        "pods",
        "-o",
        "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName",
      ])
      expect(
        pods
          .split("\n")
          .slice(1, 3)
          .map((l) => l.split(/\s+/)),
      ).toEqual([
        ["hello", "node-1"],
        ["spread", "node-1"],
      ])
    } finally {
      const stopped = await standalone?.stop()
      // Ctrl-C interrupts it cleanly: 130, as shells report SIGINT.
      if (stopped !== undefined) expect(stopped.code).toBe(130)
      expect((await up.stop()).output).toContain("flotilla: stopping")
    }
  })

  it("refuses a kubeconfig it cannot use, naming the file and field", async () => {
    const file = join(dir, "cert-kubeconfig")
    writeFileSync(
      file,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:6443' } }]",
        "users: [{ name: u, user: { client-certificate-data: AAAA } }]",
        "contexts: [{ name: x, context: { cluster: c, user: u } }]",
        "current-context: x",
        "",
      ].join("\n"),
    )
    const r = await flotilla("scheduler", "--kubeconfig", file)
    expect(r.code).toBe(1)
    expect(r.output).toContain(
      `flotilla scheduler: ${file}: users[0].user.client-certificate-data: not supported (this client authenticates with a bearer token only)`,
    )
  })

  it("fails at once, naming the server, when the API server is down or is not Kubernetes (it waited silently)", async () => {
    const listening = (server: Server) =>
      new Promise<number>((resolve) =>
        server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
      )
    const closed = createServer()
    const downPort = await listening(closed)
    await new Promise((resolve) => closed.close(resolve))
    const web = createHttpServer((_, res) => {
      res.writeHead(200, { "content-type": "text/html" })
      res.end("<html>hello</html>")
    })
    const webPort = await listening(web)
    try {
      for (const [port, reason] of [
        [
          downPort,
          `cannot reach the API server http://127.0.0.1:${downPort}: connect ECONNREFUSED`,
        ],
        [
          webPort,
          `http://127.0.0.1:${webPort} is not a Kubernetes API server (GET /version answered 200 text/html)`,
        ],
      ] as const) {
        const file = join(dir, `kubeconfig-${port}`)
        writeFileSync(
          file,
          [
            `clusters: [{ name: c, cluster: { server: 'http://127.0.0.1:${port}' } }]`,
            "contexts: [{ name: x, context: { cluster: c } }]",
            "current-context: x",
            "",
          ].join("\n"),
        )
        const r = await flotilla("scheduler", "--kubeconfig", file)
        expect(r.code).toBe(1)
        expect(r.output.trim()).toContain(`flotilla scheduler: --kubeconfig ${file}: ${reason}`)
      }
    } finally {
      web.close()
    }
  })
})
