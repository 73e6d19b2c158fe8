// API server benchmark: create, get and list latency (p50, p99) and
// throughput with 100 concurrent clients, and watch-delivery latency to 100
// watchers, against a server in its own process on the embedded store. The
// load and the watchers share this process; times are wall-clock.
//
//   npm run bench -w @flotilla/apiserver [-- raft]
import { spawn } from "node:child_process"
import { Agent, request as httpRequest } from "node:http"
import { cpus } from "node:os"
import { fileURLToPath } from "node:url"

const mode = process.argv[2] === "raft" ? "raft" : "memory"
const clients = 100
const watchers = 100
const createsPerClient = 20
const getsPerClient = 50
const listsPerClient = 5
const listSize = 100

const startServer = () =>
  new Promise<{ url: string; stop: () => void }>((resolve, reject) => {
    const tsx = fileURLToPath(new URL("../../../node_modules/.bin/tsx", import.meta.url))
    const child = spawn(
      tsx,
      [
        "--conditions=@flotilla/source",
        fileURLToPath(new URL("./server.ts", import.meta.url)),
        mode,
      ],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    )
    child.stdout.once("data", (d: Buffer) =>
      resolve({ url: d.toString().trim(), stop: () => child.kill() }),
    )
    child.once("exit", (code) => reject(new Error(`server exited (${code})`)))
  })

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number)

interface Figures {
  readonly p50: number
  readonly p99: number
  readonly perSecond: number
  readonly count: number
}

const summarize = (latencies: Array<number>, elapsedMs: number): Figures => {
  const sorted = [...latencies].sort((a, b) => a - b)
  return {
    p50: Number(percentile(sorted, 50).toFixed(2)),
    p99: Number(percentile(sorted, 99).toFixed(2)),
    perSecond: Math.round((latencies.length * 1000) / elapsedMs),
    count: latencies.length,
  }
}

const pod = (name: string) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: "bench" } },
    spec: {
      containers: [
        {
          name: "main",
          image: "nginx:1.27",
          resources: { requests: { cpu: "100m", memory: "64Mi" } },
        },
      ],
    },
  })

const main = async () => {
  // BENCH_SERVER=<url> measures a server started elsewhere (for profiling it).
  const external = process.env.BENCH_SERVER
  const server = external === undefined ? await startServer() : { url: external, stop: () => {} }
  const base = server.url
  const url = new URL(base)
  const agent = new Agent({ keepAlive: true, maxSockets: clients + watchers + 10 })
  const headers = { "content-type": "application/json", accept: "application/json" }
  /** One request over a kept-alive connection; resolves with the body text. */
  const request = (method: string, path: string, body?: string) =>
    new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, method, path, agent, headers },
        (res) => {
          let text = ""
          res.setEncoding("utf8")
          res.on("data", (d: string) => {
            text += d
          })
          res.on("end", () =>
            (res.statusCode ?? 500) < 300
              ? resolve(text)
              : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`)),
          )
        },
      )
      req.on("error", reject)
      req.end(body)
    })
  await request(
    "POST",
    "/api/v1/namespaces",
    JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } }),
  )
  await request(
    "POST",
    "/api/v1/namespaces",
    JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "listing" } }),
  )
  for (let i = 0; i < listSize; i++)
    await request("POST", "/api/v1/namespaces/listing/pods", pod(`l-${i}`))
  const start = JSON.parse(await request("GET", "/api/v1/namespaces/bench/pods")).metadata
    .resourceVersion as string

  // Watchers: each streams the bench namespace from `start` and notes when each ADDED arrives.
  // Delivery is measured from the moment the create was acknowledged (the
  // write is in the store) to the moment each watcher has the event; an event
  // that beats the acknowledgement counts as 0.
  const sentAt = new Map<string, number>()
  const ackedAt = new Map<string, number>()
  const received: Array<[string, number]> = []
  const delivery: Array<number> = []
  const expected = clients * createsPerClient
  let allDelivered: () => void = () => {}
  const delivered = new Promise<void>((resolve) => {
    allDelivered = resolve
  })
  const requests: Array<{ destroy: () => void }> = []
  const nameMarker = '"name":"'
  await Promise.all(
    Array.from(
      { length: watchers },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = httpRequest(
            {
              host: url.hostname,
              port: url.port,
              path: `/api/v1/namespaces/bench/pods?watch=true&resourceVersion=${start}`,
              agent,
              headers,
            },
            (res) => {
              let buffer = ""
              let seen = 0
              res.setEncoding("utf8")
              res.on("data", (d: string) => {
                buffer += d
                let nl = buffer.indexOf("\n")
                while (nl >= 0) {
                  const line = buffer.slice(0, nl)
                  buffer = buffer.slice(nl + 1)
                  nl = buffer.indexOf("\n")
                  // Only the type and the name are needed: no full parse on the load side.
                  if (!line.startsWith('{"type":"ADDED"')) continue
                  const at = line.indexOf(nameMarker) + nameMarker.length
                  const name = line.slice(at, line.indexOf('"', at))
                  if (sentAt.has(name)) received.push([name, performance.now()])
                  seen++
                  if (seen === expected && received.length === expected * watchers) allDelivered()
                }
              })
              resolve()
            },
          )
          req.on("error", (e) =>
            e.message.includes("aborted") || e.message.includes("socket hang up")
              ? undefined
              : reject(e),
          )
          req.end()
          requests.push(req)
        }),
    ),
  )

  const phase = async (perClient: number, op: (client: number, i: number) => Promise<unknown>) => {
    const latencies: Array<number> = []
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = 0; i < perClient; i++) {
          const t = performance.now()
          await op(c, i)
          latencies.push(performance.now() - t)
        }
      }),
    )
    return summarize(latencies, performance.now() - t0)
  }

  const create = await phase(createsPerClient, async (c, i) => {
    const name = `p-${c}-${i}`
    sentAt.set(name, performance.now())
    await request("POST", "/api/v1/namespaces/bench/pods", pod(name))
    ackedAt.set(name, performance.now())
  })
  await Promise.race([delivered, new Promise((r) => setTimeout(r, 60_000))])
  for (const [name, at] of received) delivery.push(Math.max(0, at - (ackedAt.get(name) ?? at)))
  const watch = summarize(delivery, 1)
  const get = await phase(getsPerClient, (c, i) =>
    request("GET", `/api/v1/namespaces/bench/pods/p-${(c + i) % clients}-${i % createsPerClient}`),
  )
  const list = await phase(listsPerClient, () => request("GET", "/api/v1/namespaces/listing/pods"))
  for (const r of requests) r.destroy()
  server.stop()

  const rows: Array<[string, Figures, string]> = [
    ["create (POST pod)", create, `${clients} clients x ${createsPerClient}`],
    ["get (GET pod)", get, `${clients} clients x ${getsPerClient}`],
    [`list (${listSize} pods)`, list, `${clients} clients x ${listsPerClient}`],
    ["watch delivery", watch, `${watchers} watchers x ${expected} events, after the write's ack`],
  ]
  console.log(
    `API server benchmark: ${mode} store, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}, Node ${process.version}`,
  )
  console.log("operation              p50 ms    p99 ms    ops/s     count    load")
  for (const [name, f, load] of rows) {
    const rate = name === "watch delivery" ? "-" : String(f.perSecond)
    console.log(
      `${name.padEnd(22)} ${String(f.p50).padStart(7)}   ${String(f.p99).padStart(7)}   ${rate.padStart(7)}   ${String(f.count).padStart(7)}    ${load}`,
    )
  }
  console.log(
    JSON.stringify({
      store: mode,
      clients,
      watchers,
      create: { p50: create.p50, p99: create.p99, perSecond: create.perSecond },
      get: { p50: get.p50, p99: get.p99, perSecond: get.perSecond },
      list: { p50: list.p50, p99: list.p99, perSecond: list.perSecond, items: listSize },
      watchDelivery: { p50: watch.p50, p99: watch.p99, events: watch.count },
    }),
  )
  process.exit(0)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
