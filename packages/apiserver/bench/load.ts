// The benchmark's load generator, run as worker threads of the benchmark's
// process (never the server's): the `clients` worker runs closed-loop clients,
// each with its own kept-alive connection, each sending its next request as
// soon as the previous answer is complete; the `watchers` worker holds the
// watches open and notes when each event arrives. Each worker reports its own
// thread's CPU time and event-loop delay, so a saturated load generator shows
// in the figures instead of hiding in the latencies.
import { connect, type Socket } from "node:net"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { parentPort, workerData } from "node:worker_threads"
import { cpuMs, Samples, seeded, wallMs } from "./stats.ts"

export type Op = "create" | "get" | "list" | "update"
export const ops: ReadonlyArray<Op> = ["create", "get", "list", "update"]
export type Mix = Readonly<Record<Op, number>>

export interface ClientsData {
  readonly role: "clients"
  readonly url: string
  readonly clients: number
  readonly namespace: string
  readonly listNamespace: string
  readonly seed: number
}

export interface WatchersData {
  readonly role: "watchers"
  readonly url: string
  readonly watchers: number
  readonly namespace: string
  readonly fromRevision: number
}

export type ToClients = {
  readonly type: "run"
  readonly phase: string
  readonly mix: Mix
  readonly opsPerClient: number
  /**
   * Paced (open loop): each client sends at this many requests a second
   * whatever the answers (client-go's default limit is 5), and latency counts
   * from when a request was due. Without it, closed loop.
   */
  readonly ratePerClient?: number
}
export interface LoopDelay {
  readonly p50: number
  readonly p99: number
  readonly max: number
}
export type FromClients =
  | { readonly type: "ready" }
  | {
      readonly type: "done"
      readonly phase: string
      readonly latencies: Readonly<Record<Op, Float64Array>>
      readonly elapsedMs: number
      readonly cpuMs: number
      readonly loopDelay: LoopDelay
      readonly maxRevision: number
      readonly errors: ReadonlyArray<string>
    }

/** `progress` with `mark` starts a new measuring window for the event-loop delay. */
export type ToWatchers =
  | { readonly type: "progress"; readonly mark: boolean }
  | { readonly type: "collect" }
export type FromWatchers =
  | { readonly type: "ready" }
  | {
      readonly type: "progress"
      readonly minRevision: number
      readonly events: number
      /** This thread's CPU time since it started. */
      readonly cpuMs: number
      /** Event-loop delay since the last mark. */
      readonly loopDelay: LoopDelay
    }
  | {
      readonly type: "collect"
      /** Every event of every watcher: its revision and when it arrived (wall clock, ms). */
      readonly revisions: Float64Array
      readonly times: Float64Array
      /** Events out of order or repeated (must be none). */
      readonly problems: ReadonlyArray<string>
    }

const port = parentPort
if (port === null) throw new Error("load.ts runs as a worker thread")

const delay = monitorEventLoopDelay({ resolution: 10 })
delay.enable()
/** Event-loop delay since the last call, in ms (how late this thread ran what was ready). */
const takeLoopDelay = (): LoopDelay => {
  const d = {
    p50: Math.round(delay.percentile(50) / 1e4) / 100,
    p99: Math.round(delay.percentile(99) / 1e4) / 100,
    max: Math.round(delay.max / 1e4) / 100,
  }
  delay.reset()
  return d
}

const rvMarker = '"resourceVersion":"'
/** The first resourceVersion in a JSON text (an object's own: the benchmark's pods carry no other). */
const revisionIn = (text: string, from = 0): number => {
  const at = text.indexOf(rvMarker, from)
  if (at < 0) return 0
  const start = at + rvMarker.length
  return Number(text.slice(start, text.indexOf('"', start)))
}

const podJson = (namespace: string, name: string) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { app: "bench" } },
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

/**
 * An update as client-go sends one: the whole object of the last answer
 * (with what the server defaulted, e.g. tolerations a pod update may not
 * drop) and its resourceVersion, one annotation changed.
 */
const updatedPodJson = (last: string, generation: number): string => {
  const pod = JSON.parse(last) as { metadata: { annotations?: Record<string, string> } }
  pod.metadata.annotations = { ...pod.metadata.annotations, "bench/update": String(generation) }
  return JSON.stringify(pod)
}

/** An HTTP/1.1 answer read by `Connection`. */
interface Answer {
  readonly status: number
  /** The body when asked for, or for a failure (its start). */
  readonly body: string
}

/**
 * A kept-alive HTTP/1.1 connection for one request at a time, reading into
 * one reused buffer (`onread`) and parsing the answer's head and its
 * `content-length` body itself (the server sends whole answers with a
 * length). Node's HTTP client allocated a buffer per read (each list answer
 * is ~150 KB) and made the clients' thread collect its whole heap every
 * ~200 ms in the mix, taking cores from the server being measured.
 */
class Connection {
  readonly #socket: Socket
  readonly #readBuffer = Buffer.alloc(64 * 1024)
  #head = ""
  #inBody = false
  #left = 0
  #status = 0
  #parts: Array<Buffer> = []
  #keep = false
  #done: ((a: Answer) => void) | undefined
  #failed: ((e: Error) => void) | undefined
  closed = false

  constructor(url: URL) {
    this.#socket = connect({
      host: url.hostname,
      port: Number(url.port),
      noDelay: true,
      onread: {
        buffer: this.#readBuffer,
        callback: (n) => {
          this.#receive(n)
          return true
        },
      },
    })
    const lost = (reason: string) => {
      this.closed = true
      const failed = this.#failed
      this.#done = undefined
      this.#failed = undefined
      failed?.(new Error(reason))
    }
    this.#socket.on("error", (e) => lost(e.message))
    // The server's FIN marks the connection closed before its "close" event.
    this.#socket.on("end", () => lost("the server closed the connection"))
    this.#socket.on("close", () => lost("the connection closed"))
  }

  /** Sends one request; the answer's body is kept when `keep` (and always for a failure). */
  request(head: string, body: string | undefined, keep: boolean): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      this.#done = resolve
      this.#failed = reject
      this.#keep = keep
      this.#socket.write(body === undefined ? head : head + body)
    })
  }

  close(): void {
    this.#socket.destroy()
  }

  #receive(n: number): void {
    const buffer = this.#readBuffer
    let i = 0
    if (!this.#inBody) {
      this.#head += buffer.toString("latin1", 0, n)
      const end = this.#head.indexOf("\r\n\r\n")
      if (end < 0) return
      const head = this.#head.slice(0, end)
      i = n - (this.#head.length - (end + 4))
      this.#head = ""
      this.#status = Number(head.slice(9, 12))
      const length = /\r\ncontent-length: *(\d+)/i.exec(head)
      if (length === null) {
        this.#failed?.(new Error(`an answer without content-length: ${head.slice(0, 200)}`))
        this.close()
        return
      }
      this.#left = Number(length[1])
      this.#inBody = true
      this.#parts = []
    }
    const take = Math.min(this.#left, n - i)
    if (take > 0 && (this.#keep || this.#status >= 300))
      this.#parts.push(Buffer.from(buffer.subarray(i, i + take)))
    this.#left -= take
    if (this.#left > 0) return
    this.#inBody = false
    const done = this.#done
    this.#done = undefined
    this.#failed = undefined
    done?.({ status: this.#status, body: Buffer.concat(this.#parts).toString() })
    this.#parts = []
  }
}

const runClients = (data: ClientsData) => {
  const url = new URL(data.url)
  // At most `clients` connections, as an agent with that many sockets: a
  // request beyond them (paced clients overlap) waits for one to be free.
  // The longest idle one is reused first, so that at 500 requests a second
  // none idles for the server's 5 s keep-alive timeout: reusing the most
  // recent one left the rest to be closed by the server, and one request
  // met such a close (ECONNRESET) in a scale-5 paced phase.
  const idle: Array<Connection> = []
  const waiting: Array<(c: Connection) => void> = []
  let connections = 0
  const acquire = (): Promise<Connection> => {
    let c = idle.shift()
    // The server may have closed a connection while it was idle.
    while (c?.closed) {
      connections--
      c = idle.shift()
    }
    if (c !== undefined) return Promise.resolve(c)
    if (connections < data.clients) {
      connections++
      return Promise.resolve(new Connection(url))
    }
    return new Promise((resolve) => waiting.push(resolve))
  }
  const release = (c: Connection) => {
    if (c.closed) {
      connections--
      const next = waiting.shift()
      if (next !== undefined) {
        connections++
        next(new Connection(url))
      }
      return
    }
    const next = waiting.shift()
    if (next !== undefined) next(c)
    else idle.push(c)
  }
  const host = url.host
  /** One request; resolves with the body when `wantBody`, else with "". */
  const send = async (
    method: string,
    path: string,
    body: string | undefined,
    wantBody: boolean,
  ) => {
    const c = await acquire()
    const head =
      body === undefined
        ? `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\n\r\n`
        : `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`
    let answer: Answer
    try {
      answer = await c.request(head, body, wantBody)
    } catch (e) {
      c.close()
      c.closed = true
      release(c)
      throw e
    }
    release(c)
    if (answer.status >= 300)
      throw new Error(`${method} ${path}: ${answer.status} ${answer.body.slice(0, 300)}`)
    return answer.body
  }

  const ns = data.namespace
  const podsPath = `/api/v1/namespaces/${ns}/pods`
  const listPath = `/api/v1/namespaces/${data.listNamespace}/pods`
  /** Pods each client created, with the revision of its last write to each. */
  const owned: Array<
    Array<{
      readonly name: string
      revision: number
      generation: number
      busy: boolean
      /** The pod as the last answer had it (JSON). */
      last: string
    }>
  > = Array.from({ length: data.clients }, () => [])
  const names: Array<string> = []
  const random = seeded(data.seed)
  let serial = 0

  const runPhase = async (m: ToClients): Promise<FromClients> => {
    const total = ops.reduce((s, op) => s + m.mix[op], 0)
    const latencies = Object.fromEntries(ops.map((op) => [op, new Samples()])) as Record<
      Op,
      Samples
    >
    const errors: Array<string> = []
    let maxRevision = 0
    const choose = (r: number): Op => {
      let x = r * total
      for (const op of ops) {
        x -= m.mix[op]
        if (x < 0) return op
      }
      return "get"
    }
    /** One operation of client `c`; an op that has nothing to work on yet creates. */
    const step = async (c: number, op: Op): Promise<Op> => {
      const mine = owned[c] as NonNullable<(typeof owned)[number]>
      if ((op === "update" && mine.length === 0) || (op === "get" && names.length === 0))
        op = "create"
      switch (op) {
        case "create": {
          const name = `p-${m.phase}-${c}-${serial++}`
          const text = await send("POST", podsPath, podJson(ns, name), true)
          const revision = revisionIn(text)
          if (revision > maxRevision) maxRevision = revision
          mine.push({ name, revision, generation: 0, busy: false, last: text })
          names.push(name)
          return op
        }
        case "get":
          await send(
            "GET",
            `${podsPath}/${names[Math.floor(random() * names.length)]}`,
            undefined,
            false,
          )
          return op
        case "list":
          await send("GET", listPath, undefined, false)
          return op
        case "update": {
          // A pod no other request of this client is updating (paced clients overlap).
          const from = Math.floor(random() * mine.length)
          let pod: (typeof mine)[number] | undefined
          for (let k = 0; k < mine.length && pod === undefined; k++) {
            const candidate = mine[(from + k) % mine.length] as (typeof mine)[number]
            if (!candidate.busy) pod = candidate
          }
          if (pod === undefined) return step(c, "create")
          pod.busy = true
          pod.generation++
          try {
            const text = await send(
              "PUT",
              `${podsPath}/${pod.name}`,
              updatedPodJson(pod.last, pod.generation),
              true,
            )
            pod.revision = revisionIn(text)
            pod.last = text
          } finally {
            pod.busy = false
          }
          if (pod.revision > maxRevision) maxRevision = pod.revision
          return op
        }
      }
    }
    const attempt = async (c: number, dueAt: number) => {
      try {
        const done = await step(c, choose(random()))
        latencies[done].push(performance.now() - dueAt)
      } catch (e) {
        if (errors.length < 20) errors.push(e instanceof Error ? e.message : String(e))
      }
    }
    /** Client `c` paced: request `i` is due at `start + i / rate`, sent then even if others are still out. */
    const paced = (c: number, start: number, rate: number) =>
      new Promise<void>((resolve) => {
        const interval = 1000 / rate
        const pending: Array<Promise<void>> = []
        let i = 0
        const fire = () => {
          // A timer may fire a little before its time: latency then counts from the send.
          const due = Math.min(start + i * interval, performance.now())
          pending.push(attempt(c, due))
          i++
          if (i < m.opsPerClient)
            setTimeout(fire, Math.max(0, start + i * interval - performance.now()))
          else Promise.all(pending).then(() => resolve())
        }
        setTimeout(fire, Math.max(0, start - performance.now()))
      })
    takeLoopDelay()
    const cpu0 = process.threadCpuUsage()
    const t0 = performance.now()
    const rate = m.ratePerClient
    await Promise.all(
      Array.from({ length: data.clients }, async (_, c) => {
        // Paced clients start spread over one interval, not all at once.
        if (rate !== undefined) return paced(c, t0 + (c / data.clients) * (1000 / rate), rate)
        for (let i = 0; i < m.opsPerClient; i++) await attempt(c, performance.now())
      }),
    )
    const elapsedMs = performance.now() - t0
    return {
      type: "done",
      phase: m.phase,
      latencies: Object.fromEntries(ops.map((op) => [op, latencies[op].toArray()])) as Record<
        Op,
        Float64Array
      >,
      elapsedMs,
      cpuMs: cpuMs(process.threadCpuUsage(cpu0)),
      loopDelay: takeLoopDelay(),
      maxRevision,
      errors,
    }
  }

  port.postMessage({ type: "ready" } satisfies FromClients)
  port.on("message", (m: ToClients) => {
    runPhase(m).then(
      (r) => port.postMessage(r),
      (e) => {
        throw e
      },
    )
  })
}

const newline = 10
const rvMarkerBytes = Buffer.from(rvMarker)
/** The first resourceVersion of the line `buffer[start, end)` (0 when it has none). */
const revisionAt = (buffer: Buffer, start: number, end: number): number => {
  const at = buffer.indexOf(rvMarkerBytes, start)
  if (at < 0 || at >= end) return 0
  let revision = 0
  for (let i = at + rvMarkerBytes.length; i < end; i++) {
    const c = buffer[i] as number
    if (c < 48 || c > 57) break
    revision = revision * 10 + (c - 48)
  }
  return revision
}

/**
 * One watch over a raw socket that reads into one reused buffer (`onread`):
 * the HTTP response head, then the chunked body decoded here, each complete
 * line handed to `line(buffer, start, end)` (a line split across reads or
 * chunks is gathered in a carry buffer first). Node's HTTP client allocated a
 * buffer per read and a concat per partial line; at ~6,000 reads a second per
 * thread that external memory made each watcher thread run a full collection
 * every ~200 ms (measured with `--trace-gc`), whose marking helpers took CPU
 * from the server being measured.
 */
const rawWatch = (
  url: URL,
  path: string,
  line: (buffer: Buffer, start: number, end: number, readAt: number) => void,
  fail: (reason: string) => void,
  opened: () => void,
) => {
  const head = `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: application/json\r\n\r\n`
  let carry = Buffer.alloc(16 * 1024)
  let carried = 0
  /** Appends `buffer[start, end)` to the carried partial line. */
  const toCarry = (buffer: Buffer, start: number, end: number) => {
    const n = end - start
    if (carried + n > carry.length) {
      const bigger = Buffer.alloc(2 * (carried + n))
      carry.copy(bigger, 0, 0, carried)
      carry = bigger
    }
    buffer.copy(carry, carried, start, end)
    carried += n
  }
  // Body bytes `buffer[start, end)`: complete lines go to `line`, a trailing part to the carry.
  const body = (buffer: Buffer, start: number, end: number, readAt: number) => {
    let from = start
    let nl = buffer.indexOf(newline, from)
    while (nl >= 0 && nl < end) {
      if (carried > 0) {
        toCarry(buffer, from, nl)
        line(carry, 0, carried, readAt)
        carried = 0
      } else line(buffer, from, nl, readAt)
      from = nl + 1
      nl = from < end ? buffer.indexOf(newline, from) : -1
    }
    if (from < end) toCarry(buffer, from, end)
  }
  // The decoder's state: the head (until CRLF CRLF), a chunk's size line, its data, its CRLF.
  let state: "head" | "size" | "data" | "crlf" = "head"
  let headText = ""
  let size = 0
  let left = 0
  const receive = (buffer: Buffer, n: number) => {
    const readAt = wallMs()
    let i = 0
    while (i < n) {
      switch (state) {
        case "head": {
          headText += buffer.toString("latin1", i, n)
          const endOfHead = headText.indexOf("\r\n\r\n")
          if (endOfHead < 0) return
          const status = headText.slice(9, 12)
          if (status !== "200") return fail(`watch: ${headText.slice(0, 200)}`)
          if (!/\r\ntransfer-encoding: *chunked/i.test(headText.slice(0, endOfHead)))
            return fail("watch: the answer is not chunked")
          i = n - (headText.length - (endOfHead + 4))
          headText = ""
          state = "size"
          opened()
          break
        }
        case "size": {
          const c = buffer[i++] as number
          if (c === 13) break
          if (c === 10) {
            if (size === 0) return fail("watch: the watch ended")
            left = size
            size = 0
            state = "data"
            break
          }
          const digit = c <= 57 ? c - 48 : (c | 32) - 87
          if (digit < 0 || digit > 15) return fail(`watch: bad chunk size byte ${c}`)
          size = size * 16 + digit
          break
        }
        case "data": {
          const take = Math.min(left, n - i)
          body(buffer, i, i + take, readAt)
          i += take
          left -= take
          if (left === 0) state = "crlf"
          break
        }
        case "crlf": {
          // The CR and LF after a chunk's data.
          const c = buffer[i++] as number
          if (c === 10) state = "size"
          break
        }
      }
    }
  }
  const readBuffer = Buffer.alloc(64 * 1024)
  const socket = connect({
    host: url.hostname,
    port: Number(url.port),
    noDelay: true,
    onread: {
      buffer: readBuffer,
      callback: (n) => {
        receive(readBuffer, n)
        return true
      },
    },
  })
  socket.on("connect", () => socket.write(head))
  socket.on("error", (e) => fail(e.message))
  socket.on("end", () => fail("the watch ended"))
}

const runWatchers = (data: WatchersData) => {
  const url = new URL(data.url)
  const revisions = new Samples()
  const times = new Samples()
  const problems: Array<string> = []
  const last = new Array<number>(data.watchers).fill(data.fromRevision)
  let opened = 0
  const path = `/api/v1/namespaces/${data.namespace}/pods?watch=true&resourceVersion=${data.fromRevision}`
  for (let w = 0; w < data.watchers; w++) {
    // Bytes, not strings: only each line's revision is read (no decoding, no parse).
    rawWatch(
      url,
      path,
      (buffer, start, end, readAt) => {
        const revision = revisionAt(buffer, start, end)
        if (revision <= (last[w] as number) && problems.length < 20)
          problems.push(`watcher ${w}: revision ${revision} after ${last[w]}`)
        last[w] = revision
        revisions.push(revision)
        times.push(readAt)
      },
      (reason) => {
        if (problems.length < 20) problems.push(`watcher ${w}: ${reason}`)
      },
      () => {
        opened++
        if (opened === data.watchers) port.postMessage({ type: "ready" } satisfies FromWatchers)
      },
    )
  }
  if (data.watchers === 0) port.postMessage({ type: "ready" } satisfies FromWatchers)
  takeLoopDelay()
  const cpu0 = process.threadCpuUsage()
  let loopDelay = takeLoopDelay()
  port.on("message", (m: ToWatchers) => {
    if (m.type === "progress") {
      if (m.mark) loopDelay = takeLoopDelay()
      port.postMessage({
        type: "progress",
        minRevision: last.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...last),
        events: revisions.length,
        cpuMs: cpuMs(process.threadCpuUsage(cpu0)),
        loopDelay,
      } satisfies FromWatchers)
    } else {
      port.postMessage({
        type: "collect",
        revisions: revisions.toArray(),
        times: times.toArray(),
        problems,
      } satisfies FromWatchers)
    }
  })
}

const data = workerData as ClientsData | WatchersData
if (data.role === "clients") runClients(data)
else runWatchers(data)
