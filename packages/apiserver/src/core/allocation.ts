/**
 * Cluster IPs and node ports of Services. Each allocated value is a key of
 * its own in the store (`/registry/ipallocations/<ip>`,
 * `/registry/portallocations/<port>`), written in the same transaction as
 * the Service with the condition that it does not exist yet, so two Services
 * can never get the same value. Candidates are a pure function of the
 * Service's name and the attempt number (a lost race retries with the next
 * candidate). The range is Kubernetes' default: 10.96.0.0/12 for cluster IPs
 * (10.96.0.1 is the `kubernetes` Service's) and 30000-32767 for node ports.
 */
import { fnv1a64 } from "./openapi.ts"

export const serviceCIDR = "10.96.0.0/12"
/** The first address of the range, reserved for the `kubernetes` Service. */
export const kubernetesServiceIP = "10.96.0.1"
const base = (10 << 24) | (96 << 16)
const size = 1 << 20
export const nodePortMin = 30000
export const nodePortMax = 32767

export const ipAllocationKey = (ip: string): string => `/registry/ipallocations/${ip}`
export const portAllocationKey = (port: number): string => `/registry/portallocations/${port}`

const ipString = (n: number): string =>
  [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join(".")

/** The address as a number, when it is an IPv4 address inside the service range. */
export const ipInRange = (ip: string): boolean => {
  const parts = ip.split(".")
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return false
  const n = parts.reduce((acc, p) => acc * 256 + Number(p), 0)
  return n > base && n < base + size - 1
}

const seed = (name: string): number => Number.parseInt(fnv1a64(name).slice(-8), 16)

/** The cluster IP to try for a Service on an attempt (never the network, broadcast or .1 address). */
export const candidateIP = (serviceName: string, attempt: number): string => {
  // 1,000,003 is prime and coprime with the range size: attempts visit distinct addresses.
  const offset = (seed(serviceName) + attempt * 1_000_003) % (size - 3)
  return ipString(base + 2 + offset)
}

/** The node port to try for a Service port on an attempt. */
export const candidateNodePort = (
  serviceName: string,
  portIndex: number,
  attempt: number,
): number => {
  const span = nodePortMax - nodePortMin + 1
  return nodePortMin + ((seed(`${serviceName}#${portIndex}`) + attempt * 7919) % span)
}
