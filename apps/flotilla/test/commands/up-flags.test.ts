import { Result } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  decodeDataDir,
  decodeEndpoints,
  decodeMembers,
  decodePort,
  existingMembers,
  maxMembers,
  membersFor,
  shellQuote,
} from "../../src/commands/up-flags.ts"

const failure = <A>(r: Result.Result<A, string>): string | undefined =>
  Result.isFailure(r) ? r.failure : undefined

describe("up flags", () => {
  it("--port: 0 to 65535, or absent", () => {
    expect(decodePort(undefined)).toEqual(Result.succeed(undefined))
    expect(decodePort("0")).toEqual(Result.succeed(0))
    expect(decodePort("65535")).toEqual(Result.succeed(65535))
    expect(decodePort("+80")).toEqual(Result.succeed(80))
    expect(failure(decodePort("-1"))).toBe("--port: must be from 0 to 65535, got -1")
    expect(failure(decodePort("70000"))).toBe("--port: must be from 0 to 65535, got 70000")
  })

  it("--port and --members: decimal integers only, as Go's Atoi reads them (1e3 was taken as 1000)", () => {
    for (const text of [
      "1e3",
      "0x10",
      "1.0",
      " 80",
      "80 ",
      "",
      "+",
      "١٢",
      "99999999999999999999",
    ]) {
      expect(failure(decodePort(text)), text).toBe(
        `--port: must be a decimal integer, got ${JSON.stringify(text)}`,
      )
      expect(failure(decodeMembers(text)), text).toBe(
        `--members: must be a decimal integer, got ${JSON.stringify(text)}`,
      )
    }
  })

  it("--data-dir: not empty", () => {
    expect(failure(decodeDataDir(""))).toBe("--data-dir: must not be empty")
    expect(failure(decodeDataDir("  "))).toBe("--data-dir: must not be empty")
    expect(decodeDataDir("a dir ü 数据")).toEqual(Result.succeed("a dir ü 数据"))
  })

  it("--members: 1 to maxMembers", () => {
    expect(decodeMembers(undefined)).toEqual(Result.succeed(undefined))
    expect(decodeMembers("1")).toEqual(Result.succeed(1))
    expect(decodeMembers(String(maxMembers))).toEqual(Result.succeed(maxMembers))
    expect(failure(decodeMembers("0"))).toBe("--members: must be at least 1, got 0")
    expect(failure(decodeMembers("99"))).toMatch(/^--members: at most 7 .*, got 99$/)
  })

  it("an existing store keeps its member count", () => {
    expect(existingMembers([], "s")).toEqual(Result.succeed(undefined))
    expect(existingMembers(["m2", "m1", "m3", "other", "m01"], "s")).toEqual(Result.succeed(3))
    expect(failure(existingMembers(["m1", "m3"], "s"))).toBe(
      "s: member directory m2 is missing (found m1, m3); the store is damaged",
    )
    expect(membersFor(undefined, undefined, "s")).toEqual(Result.succeed(3))
    expect(membersFor(5, undefined, "s")).toEqual(Result.succeed(5))
    expect(membersFor(undefined, 1, "s")).toEqual(Result.succeed(1))
    expect(membersFor(3, 3, "s")).toEqual(Result.succeed(3))
    expect(failure(membersFor(1, 3, "s"))).toBe(
      "--members: s holds a store of 3 members, not 1; start it with --members 3 (or without --members), or pick another --data-dir",
    )
  })

  it("--etcd-servers: host:port or http://host:port, each named when refused", () => {
    expect(decodeEndpoints("127.0.0.1:2379, http://localhost:2380,")).toEqual(
      Result.succeed(["127.0.0.1:2379", "http://localhost:2380"]),
    )
    const refused: Record<string, string> = {
      "": "--etcd-servers: names no endpoint",
      ",,": "--etcd-servers: names no endpoint",
      "not a url": '--etcd-servers: "not a url": not host:port or http://host:port',
      "http://": '--etcd-servers: "http://": not host:port or http://host:port',
      "127.0.0.1":
        '--etcd-servers: "127.0.0.1": names no port (expected host:port, e.g. 127.0.0.1:2379)',
      "127.0.0.1:99999": '--etcd-servers: "127.0.0.1:99999": port 99999 is out of range (1-65535)',
      "127.0.0.1:0": '--etcd-servers: "127.0.0.1:0": port 0 is not a port to connect to',
      "https://127.0.0.1:2379":
        '--etcd-servers: "https://127.0.0.1:2379": TLS to the store is not supported yet (use http://)',
      "ftp://127.0.0.1:2379":
        '--etcd-servers: "ftp://127.0.0.1:2379": unsupported scheme ftp:// (expected host:port or http://host:port)',
      "http://127.0.0.1:2379/v3":
        '--etcd-servers: "http://127.0.0.1:2379/v3": must not have a path, query or fragment',
      "127.0.0.1:2379,bad:port": '--etcd-servers: "bad:port": not host:port or http://host:port',
    }
    for (const [text, message] of Object.entries(refused)) {
      expect(failure(decodeEndpoints(text)), text).toBe(message)
    }
  })

  it("shellQuote: a POSIX shell reads the quoted path back as it was", () => {
    expect(shellQuote(".flotilla/kubeconfig")).toBe(".flotilla/kubeconfig")
    expect(shellQuote("/tmp/a dir/kubeconfig")).toBe("'/tmp/a dir/kubeconfig'")
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1 }), (s) => {
        const q = shellQuote(s)
        // Unquote as sh does: '...' literal, \' outside quotes an apostrophe.
        const back = q.startsWith("'")
          ? q
              .split("'\\''")
              .map((part) => part.replace(/^'|'$/g, ""))
              .join("'")
          : q
        expect(back).toBe(s)
        if (!q.startsWith("'")) expect(q).toMatch(/^[A-Za-z0-9_./:@%+=,-]+$/)
      }),
    )
  })
})
