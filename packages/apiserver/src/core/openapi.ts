/**
 * OpenAPI v3 documents, as far as kubectl uses them. `kubectl apply` reads
 * `/openapi/v3`, then the document of the manifest's group version, and only
 * checks that the kind has a `patch` operation tagged with
 * `x-kubernetes-group-version-kind` and a `fieldValidation` parameter; it then
 * leaves field validation to the server (`fieldValidation=Strict`). The
 * schemas are generated from the object model (for `kubectl explain`); the patch request body
 * does not advertise strategic merge patch (which would make kubectl look for
 * patch-merge-key extensions in full schemas).
 */
import type { KindSchema } from "@flotilla/api"
import { Schema } from "effect"
import { resourcesOf, type ServedResource, servedGroups } from "./resources.ts"

/** FNV-1a 64-bit of a string, as 16 upper-case hex digits: a stable content hash. */
export const fnv1a64 = (text: string): string => {
  let h = 0xcbf29ce484222325n
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i))
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return h.toString(16).toUpperCase().padStart(16, "0")
}

const string = { type: "string", uniqueItems: true }
const query = (name: string, schema: object = string, description?: string) => ({
  name,
  in: "query",
  ...(description === undefined ? {} : { description }),
  schema,
})
const writeParameters = [
  query("dryRun"),
  query("fieldManager"),
  query(
    "fieldValidation",
    string,
    "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
  ),
]
const pathParameter = (name: string) => ({ name, in: "path", required: true, schema: string })

const schemaName = (r: ServedResource) =>
  `io.k8s.api.${r.group === "" ? "core" : r.group.split(".")[0]}.${r.version}.${r.kind}`

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const patchRef = ref("io.k8s.apimachinery.pkg.apis.meta.v1.Patch")
const ok = (name: string) => ({
  "200": { description: "OK", content: { "application/json": { schema: ref(name) } } },
})

const operations = (r: ServedResource) => {
  const name = schemaName(r)
  const tag = {
    "x-kubernetes-group-version-kind": { group: r.group, version: r.version, kind: r.kind },
  }
  const item = {
    get: {
      operationId: `read${r.kind}`,
      "x-kubernetes-action": "get",
      ...tag,
      responses: ok(name),
    },
    put: {
      operationId: `replace${r.kind}`,
      "x-kubernetes-action": "put",
      ...tag,
      parameters: writeParameters,
      requestBody: { content: { "*/*": { schema: ref(name) } }, required: true },
      responses: ok(name),
    },
    patch: {
      operationId: `patch${r.kind}`,
      "x-kubernetes-action": "patch",
      ...tag,
      parameters: [...writeParameters, query("force", { type: "boolean", uniqueItems: true })],
      requestBody: {
        content: {
          "application/apply-patch+yaml": { schema: patchRef },
          "application/json-patch+json": { schema: patchRef },
          "application/merge-patch+json": { schema: patchRef },
        },
        required: true,
      },
      responses: ok(name),
    },
    delete: {
      operationId: `delete${r.kind}`,
      "x-kubernetes-action": "delete",
      ...tag,
      parameters: [query("dryRun"), query("gracePeriodSeconds"), query("propagationPolicy")],
      responses: ok(name),
    },
    parameters: [pathParameter("name"), ...(r.namespaced ? [pathParameter("namespace")] : [])],
  }
  const collection = {
    get: {
      operationId: `list${r.kind}`,
      "x-kubernetes-action": "list",
      ...tag,
      responses: ok(`${name}List`),
    },
    post: {
      operationId: `create${r.kind}`,
      "x-kubernetes-action": "post",
      ...tag,
      parameters: writeParameters,
      requestBody: { content: { "*/*": { schema: ref(name) } }, required: true },
      responses: ok(name),
    },
    parameters: r.namespaced ? [pathParameter("namespace")] : [],
  }
  return { item, collection }
}

/**
 * A kind's schema, generated from the object model's Effect Schema (so
 * `kubectl explain` shows every field with its type), tagged with its
 * group-version-kind as Kubernetes tags its definitions.
 */
const kindSchema = (r: ServedResource, kind: string, schema: KindSchema) => {
  const generated = Schema.toJsonSchemaDocument(schema as unknown as Schema.Top).schema as Record<
    string,
    unknown
  >
  return {
    ...generated,
    description: `${kind} (${r.apiVersion}), as Flotilla's object model defines it.`,
    "x-kubernetes-group-version-kind": [{ group: r.group, version: r.version, kind }],
  }
}

/** The OpenAPI v3 document of one group version, or undefined when it is not served. */
export const openApiDocument = (group: string, version: string) => {
  const resources = resourcesOf(group, version)
  if (resources.length === 0) return undefined
  const prefix = group === "" ? `/api/${version}` : `/apis/${group}/${version}`
  const paths: Record<string, unknown> = {}
  const schemas: Record<string, unknown> = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {
      type: "object",
      description:
        "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
    },
  }
  for (const r of resources) {
    const base = r.namespaced
      ? `${prefix}/namespaces/{namespace}/${r.resource.name}`
      : `${prefix}/${r.resource.name}`
    const { item, collection } = operations(r)
    paths[base] = collection
    paths[`${base}/{name}`] = item
    schemas[schemaName(r)] = kindSchema(r, r.kind, r.info.schema)
    schemas[`${schemaName(r)}List`] = kindSchema(r, r.listKind, r.resource.listSchema)
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.4" },
    paths,
    components: { schemas },
  }
}

const documentPath = (group: string, version: string) =>
  group === "" ? `api/${version}` : `apis/${group}/${version}`

/** A served document's JSON text and the hash the index advertises for it. */
export interface OpenApiEntry {
  readonly path: string
  readonly json: string
  readonly hash: string
}

/** Every group version's document, rendered once. */
export const openApiEntries = (): ReadonlyArray<OpenApiEntry> => {
  const out: Array<OpenApiEntry> = []
  for (const g of servedGroups()) {
    for (const version of g.versions) {
      const doc = openApiDocument(g.group, version)
      if (doc === undefined) continue
      const json = JSON.stringify(doc)
      out.push({ path: documentPath(g.group, version), json, hash: fnv1a64(json) })
    }
  }
  return out
}

/** `GET /openapi/v3`: the index of documents with their hashed URLs. */
export const openApiIndex = (entries: ReadonlyArray<OpenApiEntry>) => {
  const paths: Record<string, { serverRelativeURL: string }> = {}
  for (const e of entries) {
    paths[e.path] = { serverRelativeURL: `/openapi/v3/${e.path}?hash=${e.hash}` }
  }
  return { paths }
}
