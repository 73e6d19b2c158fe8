/**
 * An informer's cache (client-go's `cache.Indexer`): objects by key
 * (`namespace/name`, or `name` for cluster-scoped objects) with secondary
 * indexes kept in step on every add, update and delete. An index function
 * maps an object to the values it is found under: `namespace`, each
 * `label=value`, `spec.nodeName`, or any of your own.
 */

/** What an informer's objects have in common. */
export interface ObjectLike {
  readonly metadata?: {
    readonly name?: string
    readonly namespace?: string
    readonly resourceVersion?: string
    readonly labels?: Readonly<Record<string, string>>
    readonly uid?: string
  }
}

export type IndexFunc<T> = (object: T) => ReadonlyArray<string>

/** `MetaNamespaceKeyFunc`: `namespace/name`, or `name` when there is no namespace. */
export const keyOf = (object: ObjectLike): string => {
  const ns = object.metadata?.namespace ?? ""
  const name = object.metadata?.name ?? ""
  return ns === "" ? name : `${ns}/${name}`
}

/** `cache.MetaNamespaceIndexFunc`. */
export const namespaceIndex: IndexFunc<ObjectLike> = (o) => [o.metadata?.namespace ?? ""]

/** Every `key=value` label of an object. */
export const labelsIndex: IndexFunc<ObjectLike> = (o) =>
  Object.entries(o.metadata?.labels ?? {}).map(([k, v]) => `${k}=${v}`)

/** Pods by the node they are bound to (`""` for unscheduled pods). */
export const nodeNameIndex: IndexFunc<{ readonly spec?: { readonly nodeName?: string } }> = (o) => [
  o.spec?.nodeName ?? "",
]

export class Indexer<T extends ObjectLike> {
  readonly #items = new Map<string, T>()
  readonly #indexers: ReadonlyMap<string, IndexFunc<T>>
  /** index name -> value -> keys */
  readonly #indices = new Map<string, Map<string, Set<string>>>()
  /**
   * key -> the values each index gave when the object was stored. Removal
   * reads these rather than calling the index functions again, so an index
   * function that throws (or answers differently the second time) cannot
   * leave a stale entry behind.
   */
  readonly #indexed = new Map<string, Array<readonly [string, ReadonlyArray<string>]>>()
  readonly #onError: (index: string, key: string, error: unknown) => void

  /**
   * `onError` hears of an index function that threw (the object is then not
   * found under that index, and everything else goes on); by default it is
   * rethrown after the object is stored consistently.
   */
  constructor(
    indexers: Readonly<Record<string, IndexFunc<T>>> = {},
    onError?: (index: string, key: string, error: unknown) => void,
  ) {
    this.#indexers = new Map(Object.entries(indexers))
    for (const name of this.#indexers.keys()) this.#indices.set(name, new Map())
    this.#onError =
      onError ??
      ((index, key, error) => {
        throw new Error(
          `index ${JSON.stringify(index)} failed for ${key}: ${error instanceof Error ? error.message : String(error)}`,
        )
      })
  }

  get size(): number {
    return this.#items.size
  }

  get(key: string): T | undefined {
    return this.#items.get(key)
  }

  list(): Array<T> {
    return [...this.#items.values()]
  }

  keys(): Array<string> {
    return [...this.#items.keys()]
  }

  /** Adds or replaces an object; returns the one it replaced. */
  upsert(object: T): T | undefined {
    const key = keyOf(object)
    const old = this.#items.get(key)
    if (old !== undefined) this.#unindex(key, old)
    this.#items.set(key, object)
    this.#index(key, object)
    return old
  }

  /** Removes the object with this key; returns it. */
  delete(key: string): T | undefined {
    const old = this.#items.get(key)
    if (old === undefined) return undefined
    this.#unindex(key, old)
    this.#items.delete(key)
    return old
  }

  /** Replaces the whole content (after a list); returns what was added, updated and removed. */
  replace(objects: ReadonlyArray<T>): {
    readonly added: Array<T>
    readonly updated: Array<{ readonly old: T; readonly object: T }>
    readonly removed: Array<T>
  } {
    const seen = new Set<string>()
    const added: Array<T> = []
    const updated: Array<{ old: T; object: T }> = []
    for (const o of objects) {
      const key = keyOf(o)
      seen.add(key)
      const old = this.upsert(o)
      if (old === undefined) added.push(o)
      else updated.push({ old, object: o })
    }
    const removed: Array<T> = []
    for (const key of [...this.#items.keys()]) {
      if (seen.has(key)) continue
      const old = this.delete(key)
      if (old !== undefined) removed.push(old)
    }
    return { added, updated, removed }
  }

  /** The objects an index finds under a value. */
  byIndex(index: string, value: string): Array<T> {
    const keys = this.#indices.get(index)?.get(value)
    if (keys === undefined) {
      if (!this.#indices.has(index)) throw new Error(`no index named ${JSON.stringify(index)}`)
      return []
    }
    const out: Array<T> = []
    for (const k of keys) {
      const o = this.#items.get(k)
      if (o !== undefined) out.push(o)
    }
    return out
  }

  /** The values an index currently holds. */
  indexValues(index: string): Array<string> {
    return [...(this.#indices.get(index)?.keys() ?? [])]
  }

  #index(key: string, object: T): void {
    const recorded: Array<readonly [string, ReadonlyArray<string>]> = []
    const failures: Array<readonly [string, unknown]> = []
    for (const [name, fn] of this.#indexers) {
      let values: ReadonlyArray<string>
      try {
        values = [...fn(object)]
      } catch (e) {
        failures.push([name, e])
        continue
      }
      const index = this.#indices.get(name) as Map<string, Set<string>>
      for (const value of values) {
        let set = index.get(value)
        if (set === undefined) index.set(value, (set = new Set()))
        set.add(key)
      }
      recorded.push([name, values])
    }
    this.#indexed.set(key, recorded)
    for (const [name, e] of failures) this.#onError(name, key, e)
  }

  // `object` is not read: the values recorded when it was stored are removed.
  #unindex(key: string, _object: T): void {
    for (const [name, values] of this.#indexed.get(key) ?? []) {
      const index = this.#indices.get(name) as Map<string, Set<string>>
      for (const value of values) {
        const set = index.get(value)
        if (set === undefined) continue
        set.delete(key)
        if (set.size === 0) index.delete(value)
      }
    }
    this.#indexed.delete(key)
  }
}
