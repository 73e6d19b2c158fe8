// The I/O of a one-proposer commit with no Raft in it: this process sends a
// record to two follower processes over loopback TCP, writes and fdatasyncs
// it into its own file of zeros, and waits until one follower has written,
// fdatasynced and acknowledged it (2 of 3 copies durable). What Node's
// sockets and file calls cost on this machine with nothing else on the path:
// the floor under bench/cluster.ts's one-proposer row.

import { spawn } from "node:child_process"
import { closeSync, fdatasyncSync, openSync, writeSync } from "node:fs"
import { createServer, type Socket } from "node:net"
import { join } from "node:path"

// A follower: every chunk written where it arrives; once a whole record more
// is in, one fdatasync and an acknowledgement (8 bytes: records held).
const FOLLOWER = `
const fs = require("node:fs"), net = require("node:net")
const [port, path, bytes, recordBytes] = process.argv.slice(1).map((a, i) => (i === 1 ? a : Number(a)))
const fd = fs.openSync(path, "w+")
fs.writeSync(fd, Buffer.alloc(bytes)); fs.fdatasyncSync(fd)
let offset = 0, acked = 0
const ack = Buffer.alloc(8)
const s = net.connect({ port, host: "127.0.0.1", noDelay: true })
s.on("data", (d) => {
  fs.writeSync(fd, d, 0, d.length, offset); offset += d.length
  const held = Math.floor(offset / recordBytes)
  if (held === acked) return
  fs.fdatasyncSync(fd); acked = held
  ack.writeDoubleLE(held, 0); s.write(Buffer.from(ack))
})
s.on("error", () => {})
s.on("close", () => process.exit(0))
`

export interface IoFloor {
  readonly p50: number
  readonly p99: number
}

/** p50/p99 in ms of `records` such commits (after `warmup` more), one at a time. */
export const ioFloor = async (opts: {
  readonly dir: string
  readonly recordBytes: number
  readonly records: number
  readonly warmup: number
}): Promise<IoFloor> => {
  const { dir, recordBytes } = opts
  const total = opts.records + opts.warmup
  const bytes = (total + 16) * recordBytes
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  const sockets: Socket[] = []
  const connected = new Promise<void>((resolve) =>
    server.on("connection", (c) => {
      c.setNoDelay(true)
      c.on("error", () => {})
      sockets.push(c)
      if (sockets.length === 2) resolve()
    }),
  )
  const followers = [0, 1].map((i) =>
    spawn(
      process.execPath,
      ["-e", FOLLOWER, String(port), join(dir, `floor-${i}`), String(bytes), String(recordBytes)],
      { stdio: "ignore" },
    ),
  )
  const fd = openSync(join(dir, "floor-leader"), "w+")
  try {
    writeSync(fd, Buffer.alloc(bytes))
    fdatasyncSync(fd)
    await connected
    const acks = [0, 0]
    let want = 0
    let wake: (() => void) | undefined
    sockets.forEach((c, k) => {
      let pending: Buffer = Buffer.alloc(0)
      c.on("data", (d: Buffer) => {
        pending = pending.length === 0 ? d : Buffer.concat([pending, d])
        while (pending.length >= 8) {
          acks[k] = Math.max(acks[k]!, pending.readDoubleLE(0))
          pending = pending.subarray(8)
        }
        if (wake !== undefined && (acks[0]! >= want || acks[1]! >= want)) {
          const w = wake
          wake = undefined
          w()
        }
      })
    })
    const record = Buffer.alloc(recordBytes, 7)
    const times: number[] = []
    for (let i = 1; i <= total; i++) {
      const t0 = performance.now()
      for (const c of sockets) c.write(record)
      writeSync(fd, record, 0, recordBytes, (i - 1) * recordBytes)
      fdatasyncSync(fd)
      want = i
      if (acks[0]! < i && acks[1]! < i) await new Promise<void>((resolve) => (wake = resolve))
      if (i > opts.warmup) times.push(performance.now() - t0)
    }
    times.sort((a, b) => a - b)
    return {
      p50: times[times.length >> 1]!,
      p99: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]!,
    }
  } finally {
    closeSync(fd)
    for (const c of sockets) c.destroy()
    for (const f of followers) f.kill()
    server.close()
  }
}
