import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  checkPodLogOptions,
  chooseRendering,
  decodeListOptions,
  decodeWriteOptions,
  parseAccept,
  route,
  splitPath,
  validateListOptions,
} from "../../src/core/request.ts"

const r = (method: string, path: string, query = "") =>
  route(method, path, new URLSearchParams(query))

describe("route", () => {
  it("reads resource requests as Kubernetes' RequestInfoFactory does", () => {
    expect(r("GET", "/apis/apps/v1/namespaces/default/deployments/web/scale")).toEqual({
      _tag: "Resource",
      request: {
        verb: "get",
        group: "apps",
        version: "v1",
        namespace: "default",
        resource: "deployments",
        name: "web",
        subresource: "scale",
      },
    })
    expect(r("GET", "/api/v1/pods", "watch=true")).toMatchObject({
      request: { verb: "watch", namespace: "", resource: "pods" },
    })
    expect(r("GET", "/api/v1/watch/namespaces/x/pods")).toMatchObject({
      request: { verb: "watch", namespace: "x" },
    })
    expect(r("DELETE", "/api/v1/namespaces/x/pods")).toMatchObject({
      request: { verb: "deletecollection" },
    })
    expect(r("PATCH", "/api/v1/nodes/n1/status")).toMatchObject({
      request: { verb: "patch", resource: "nodes", name: "n1", subresource: "status" },
    })
    // A namespace and its subresources.
    expect(r("GET", "/api/v1/namespaces/default")).toMatchObject({
      request: { resource: "namespaces", name: "default" },
    })
    // An empty segment names nothing: DELETE /namespaces//pods is no delete of namespace "pods".
    expect(r("DELETE", "/api/v1/namespaces//pods")).toMatchObject({
      request: { verb: "deletecollection", namespace: "", resource: "pods", name: "" },
    })
    expect(r("GET", "/api/v1/namespaces/team/pods/")).toMatchObject({
      request: { verb: "list", namespace: "team", resource: "pods" },
    })
    expect(r("GET", "/api/v1/namespaces/team//pods/x")).toMatchObject({
      request: { resource: "", namespace: "team" },
    })
    // Escaped segments are decoded; escapes that are not UTF-8 are kept as sent
    // (the name's checks refuse the '%'); a malformed escape is a BadPath (below).
    expect(r("GET", "/api/v1/namespaces/a%2Db/pods/x%25y")).toMatchObject({
      request: { namespace: "a-b", name: "x%y" },
    })
    expect(r("GET", "/api/v1/namespaces/a/pods/%E0%A4")).toMatchObject({
      request: { name: "%E0%A4" },
    })
    expect(r("GET", "/api/v1/namespaces/a/pods/%E0%A4%A")._tag).toBe("BadPath")
    expect(r("PUT", "/api/v1/namespaces/default/finalize")).toMatchObject({
      request: {
        verb: "update",
        resource: "namespaces",
        namespace: "default",
        subresource: "finalize",
      },
    })
  })

  it("routes discovery, OpenAPI and version, and refuses the rest", () => {
    expect(r("GET", "/version")._tag).toBe("Version")
    expect(r("GET", "/api")._tag).toBe("CoreDiscovery")
    expect(r("GET", "/apis")._tag).toBe("GroupsDiscovery")
    expect(r("GET", "/apis/apps")).toEqual({ _tag: "Group", group: "apps" })
    expect(r("GET", "/apis/apps/v1")).toEqual({
      _tag: "GroupVersion",
      group: "apps",
      version: "v1",
    })
    expect(r("GET", "/openapi/v3")._tag).toBe("OpenApiIndex")
    expect(r("GET", "/openapi/v3/apis/apps/v1")).toEqual({
      _tag: "OpenApiDocument",
      path: "apis/apps/v1",
    })
    expect(r("GET", "/nope")._tag).toBe("NotFound")
    expect(r("GET", "/api/v1/namespaces/a/pods/b/c/d")._tag).toBe("NotFound")
    // A resource asked with a method no verb maps to: Kubernetes' router answers 405.
    for (const method of ["TRACE", "OPTIONS", "PROPFIND", "LINK"]) {
      expect(r(method, "/api/v1/namespaces/a/pods/b")._tag, method).toBe("MethodNotAllowed")
      expect(r(method, "/apis/apps/v1/deployments")._tag, method).toBe("MethodNotAllowed")
    }
    expect(r("TRACE", "/nope")._tag).toBe("NotFound")
  })

  it("refuses a path with a malformed escape in Go's words, wherever it is (it was taken literally)", () => {
    expect(r("GET", "/api/v1/namespaces/de%ZZfault/pods")).toEqual({
      _tag: "BadPath",
      message: 'invalid URL escape "%ZZ"',
    })
    expect(r("DELETE", "/api/v1/namespaces/a/pods/x%4")).toEqual({
      _tag: "BadPath",
      message: 'invalid URL escape "%4"',
    })
    expect(r("GET", "/healthz%")).toEqual({ _tag: "BadPath", message: 'invalid URL escape "%"' })
    // Well-formed escapes still route (and decode).
    expect(r("GET", "/api/v1/namespaces/a/pods/b%2Dc")).toMatchObject({
      _tag: "Resource",
      request: { name: "b-c" },
    })
  })

  it("parses any sequence of Accept headers as each one alone (the last one parsed is shared, frozen) (property)", () => {
    const headers = [
      "application/json",
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
      "application/vnd.kubernetes.protobuf, */*",
      "application/json;g=apidiscovery.k8s.io;as=APIGroupDiscoveryList;v=v2",
    ]
    const alone = (h: string) => {
      parseAccept("text/plain")
      return parseAccept(h)
    }
    const expected = new Map(headers.map((h) => [h, JSON.parse(JSON.stringify(alone(h)))]))
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...headers), { maxLength: 20 }), (sequence) => {
        for (const h of sequence) {
          const parsed = parseAccept(h)
          expect(parsed).toEqual(expected.get(h))
          expect(Object.isFrozen(parsed) && parsed.every((a) => Object.isFrozen(a.params))).toBe(
            true,
          )
        }
      }),
    )
    expect(chooseRendering(parseAccept(headers[1]), null)).toEqual({
      _tag: "Table",
      includeObject: "Metadata",
    })
  })

  it("splits a path as trimming its slashes at both ends and decoding each segment does (property)", () => {
    const reference = (path: string): Array<string> => {
      const trimmed = path.replace(/^\/+|\/+$/g, "")
      if (trimmed === "") return []
      return trimmed.split("/").map((s) => {
        try {
          return s.includes("%") ? decodeURIComponent(s) : s
        } catch {
          return s
        }
      })
    }
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("/", "//", "a", "pods", "%2F", "%41", "%E0%A4", "%", "."), {
          maxLength: 12,
        }),
        (pieces) => {
          const path = pieces.join("")
          expect(splitPath(path)).toEqual(reference(path))
        },
      ),
    )
  })

  it("routes every path with a bad escape to BadPath and no other path there (property)", () => {
    const segment = fc.stringMatching(/^[a-z0-9%.-]{0,6}$/)
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), (segments) => {
        const path = `/api/v1/${segments.join("/")}`
        const bad = /%(?![0-9A-Fa-f]{2})/.test(path)
        expect(r("GET", path)._tag === "BadPath").toBe(bad)
      }),
    )
  })
})

describe("options", () => {
  it("decodes list options and names the bad parameter", () => {
    const ok = decodeListOptions(
      new URLSearchParams("limit=500&resourceVersion=7&allowWatchBookmarks=true&timeoutSeconds=30"),
    )
    expect(ok).toMatchObject({
      ok: true,
      value: { limit: 500, resourceVersion: "7", allowWatchBookmarks: true, timeoutSeconds: 30 },
    })
    const bad = decodeListOptions(new URLSearchParams("limit=lots"))
    expect(bad.ok ? "" : bad.error.status.message).toContain("limit")
    const rv = decodeListOptions(new URLSearchParams("resourceVersion=abc"))
    expect(rv.ok).toBe(false)
  })

  it("refuses field managers over 128 bytes or with characters that are not printable", () => {
    const nul = decodeWriteOptions(new URLSearchParams("fieldManager=a%00b"), "kubectl/v1.32")
    expect(nul.ok ? "" : nul.error.status.message).toBe(
      'fieldManager: Invalid value: "a\\u0000b": invalid character U+0000 (at position 1)',
    )
    const long = decodeWriteOptions(new URLSearchParams(`fieldManager=${"m".repeat(129)}`), "")
    expect(long.ok ? "" : long.error.status.details?.causes).toEqual([
      {
        reason: "FieldValueTooLong",
        message: "Too long: may not be more than 128 bytes",
        field: "fieldManager",
      },
    ])
    expect(decodeWriteOptions(new URLSearchParams("fieldManager=my manager é"), "").ok).toBe(true)
  })

  it("reads watch and the other booleans as true or false in any case, and refuses other values", () => {
    expect(r("GET", "/api/v1/pods", "watch=TRUE")).toMatchObject({ request: { verb: "watch" } })
    expect(r("GET", "/api/v1/pods", "watch=False")).toMatchObject({ request: { verb: "list" } })
    const maybe = decodeListOptions(new URLSearchParams("watch=maybe"))
    expect(maybe.ok ? "" : maybe.error.status.message).toBe(
      'invalid value for watch: "maybe": must be true or false',
    )
    expect(decodeListOptions(new URLSearchParams("allowWatchBookmarks=True"))).toMatchObject({
      ok: true,
      value: { allowWatchBookmarks: true },
    })
  })

  it("validates resourceVersionMatch as Kubernetes' ValidateListOptions does: 422 on ListOptions", () => {
    const check = (query: string, watch: boolean) => {
      const decoded = decodeListOptions(new URLSearchParams(query))
      if (!decoded.ok) throw new Error(decoded.error.status.message)
      return validateListOptions(decoded.value, watch)?.status
    }
    const unless = check("resourceVersionMatch=Exact", false)
    expect(unless?.code).toBe(422)
    expect(unless?.reason).toBe("Invalid")
    expect(unless?.message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    )
    expect(unless?.details?.causes).toEqual([
      {
        reason: "FieldValueForbidden",
        message: "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        field: "resourceVersionMatch",
      },
    ])
    expect(check("resourceVersionMatch=Sometimes&resourceVersion=1", false)?.message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Sometimes": supported values: "Exact", "NotOlderThan", ""',
    )
    expect(check("resourceVersionMatch=Exact&resourceVersion=0", false)?.message).toContain(
      'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
    )
    expect(
      check("resourceVersionMatch=Exact&resourceVersion=5&continue=x", false)?.message,
    ).toContain("resourceVersionMatch is forbidden when continue is provided")
    expect(check("sendInitialEvents=true", false)?.message).toContain(
      "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list",
    )
    expect(check("resourceVersionMatch=NotOlderThan&resourceVersion=0", false)).toBeUndefined()
    expect(check("resourceVersionMatch=Exact&resourceVersion=3", false)).toBeUndefined()
    expect(check("", false)).toBeUndefined()
    // Watches: a match only beside sendInitialEvents, and only NotOlderThan.
    expect(check("resourceVersionMatch=Exact&resourceVersion=1", true)?.message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]',
    )
    expect(
      check(
        "resourceVersionMatch=NotOlderThan&sendInitialEvents=true&allowWatchBookmarks=true",
        true,
      ),
    ).toBeUndefined()
    expect(check("resourceVersion=4", true)).toBeUndefined()
  })

  it("defaults the field manager from the user agent and checks fieldValidation and dryRun", () => {
    const w = decodeWriteOptions(
      new URLSearchParams("fieldValidation=strict"),
      "kubectl/v1.32.4 (linux/amd64)",
    )
    expect(w).toEqual({
      ok: true,
      value: {
        dryRun: false,
        fieldManager: "kubectl",
        fieldValidation: "Strict",
        force: undefined,
      },
    })
    expect(
      decodeWriteOptions(new URLSearchParams("dryRun=All&force=true&fieldManager=m"), "").ok,
    ).toBe(true)
    expect(decodeWriteOptions(new URLSearchParams("dryRun=Some"), "").ok).toBe(false)
    expect(decodeWriteOptions(new URLSearchParams("fieldValidation=Loose"), "").ok).toBe(false)
    expect(decodeWriteOptions(new URLSearchParams(`fieldManager=${"m".repeat(129)}`), "").ok).toBe(
      false,
    )
  })

  it("renders Tables only when asked the way kubectl asks", () => {
    const accept = (header: string, include: string | null = null) =>
      chooseRendering(parseAccept(header), include)
    expect(
      accept(
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
      ),
    ).toEqual({
      _tag: "Table",
      includeObject: "Metadata",
    })
    expect(accept("application/json;as=Table;v=v1;g=meta.k8s.io", "Object")).toEqual({
      _tag: "Table",
      includeObject: "Object",
    })
    expect(accept("application/vnd.kubernetes.protobuf,application/json")).toEqual({
      _tag: "Object",
    })
    expect(accept("")).toEqual({ _tag: "Object" })
    expect(accept("application/vnd.kubernetes.protobuf")).toBeUndefined()
  })
})

describe("checkPodLogOptions", () => {
  const check = (query: string) => checkPodLogOptions(new URLSearchParams(query), "p")?.status
  it("passes what kubectl logs sends", () => {
    for (const q of [
      "",
      "container=a&follow=true&tailLines=10",
      "sinceSeconds=5&timestamps=true",
      "sinceTime=2024-01-02T15:04:05Z&limitBytes=1&previous=false",
    ])
      expect(check(q), q).toBeUndefined()
  })
  it("refuses parameters that do not parse (400) and values ValidatePodLogOptions refuses (422 naming the field)", () => {
    expect(check("tailLines=abc")).toMatchObject({
      code: 400,
      message: 'invalid value for tailLines: "abc": must be an integer',
    })
    expect(check("tailLines=99999999999999999999")?.code).toBe(400)
    expect(check("follow=maybe")).toMatchObject({
      code: 400,
      message: 'invalid value for follow: "maybe": must be true or false',
    })
    expect(check("sinceTime=yesterday")?.code).toBe(400)
    expect(check("tailLines=-1")).toMatchObject({
      code: 422,
      reason: "Invalid",
      message:
        'PodLogOptions "p" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0',
    })
    expect(check("limitBytes=0")?.message).toBe(
      'PodLogOptions "p" is invalid: limitBytes: Invalid value: 0: must be greater than 0',
    )
    expect(check("sinceSeconds=0")?.message).toBe(
      'PodLogOptions "p" is invalid: sinceSeconds: Invalid value: 0: must be greater than 0',
    )
    expect(check("sinceSeconds=5&sinceTime=2024-01-02T15:04:05Z")?.message).toBe(
      'PodLogOptions "p" is invalid: sinceSeconds: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified',
    )
    expect(check("tailLines=-1&limitBytes=-5")?.details?.causes?.map((c) => c.field)).toEqual([
      "tailLines",
      "limitBytes",
    ])
  })
})
