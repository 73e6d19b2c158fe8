/** Kubernetes' `DefaultBindAllHostIP`. */
export const DefaultBindAllHostIP = "0.0.0.0"

/** A wanted or used host port: (IP, protocol, port) with Kubernetes' defaults applied. */
export interface HostPort {
  readonly ip: string
  readonly protocol: string
  readonly port: number
}

export const sanitizeHostPort = (
  ip: string | undefined,
  protocol: string | undefined,
  port: number,
): HostPort => ({
  ip: ip === undefined || ip === "" ? DefaultBindAllHostIP : ip,
  protocol: protocol === undefined || protocol === "" ? "TCP" : protocol,
  port,
})

const protocolPort = (protocol: string, port: number): string => `${protocol}/${port}`

/**
 * Kubernetes' `HostPortInfo`: host IP -> set of "protocol/port", counted so a
 * port used by two pods stays used until both are gone. A port bound on
 * 0.0.0.0 conflicts with the same protocol/port on every IP, and vice versa.
 */
export class HostPortInfo {
  private readonly byIP = new Map<string, Map<string, number>>()

  get size(): number {
    let n = 0
    for (const m of this.byIP.values()) n += m.size
    return n
  }

  add(p: HostPort): void {
    if (p.port <= 0) return
    let m = this.byIP.get(p.ip)
    if (m === undefined) {
      m = new Map()
      this.byIP.set(p.ip, m)
    }
    const k = protocolPort(p.protocol, p.port)
    m.set(k, (m.get(k) ?? 0) + 1)
  }

  remove(p: HostPort): void {
    if (p.port <= 0) return
    const m = this.byIP.get(p.ip)
    if (m === undefined) return
    const k = protocolPort(p.protocol, p.port)
    const n = (m.get(k) ?? 0) - 1
    if (n > 0) m.set(k, n)
    else m.delete(k)
    if (m.size === 0) this.byIP.delete(p.ip)
  }

  /** Kubernetes' `CheckConflict`. */
  checkConflict(p: HostPort): boolean {
    if (p.port <= 0) return false
    const k = protocolPort(p.protocol, p.port)
    if (p.ip === DefaultBindAllHostIP) {
      for (const m of this.byIP.values()) if (m.has(k)) return true
      return false
    }
    return (
      (this.byIP.get(p.ip)?.has(k) ?? false) ||
      (this.byIP.get(DefaultBindAllHostIP)?.has(k) ?? false)
    )
  }
}
