/**
 * Messages of the parallel breadth-first search (main thread <-> workers, and
 * worker <-> worker). States travel by structured clone, so models used with
 * threads must keep their states plain data (arrays, objects, primitives).
 */

/**
 * Where a worker finds the model: a module URL and the name of an export
 * that builds it from `args` (a function, possibly async). Models are code,
 * so each thread builds its own copy.
 */
export interface ModelSource {
  readonly module: string
  readonly export: string
  readonly args: unknown
}

export interface WorkerSetup {
  readonly index: number
  readonly count: number
  readonly source: ModelSource
  readonly symmetry: boolean
  /** `Date.now()` after which workers stop expanding (they report "time-limit"). */
  readonly deadline: number
  readonly progressEvery: number
}

/** A property decided at a state, reported by fingerprint. */
export interface Hit {
  readonly kind: "always" | "sometimes"
  /** Index among the model's properties of that kind. */
  readonly index: number
  readonly hi: number
  readonly lo: number
}

export type ToWorker =
  | { readonly t: "level"; readonly depth: number }
  | { readonly t: "lookup"; readonly hi: number; readonly lo: number }
  | { readonly t: "stop" }

export type FromWorker =
  | {
      readonly t: "ready"
      readonly generated: number
      readonly unique: number
      readonly queued: number
      readonly hits: ReadonlyArray<Hit>
    }
  | {
      readonly t: "levelDone"
      readonly depth: number
      readonly generated: number
      readonly unique: number
      /** States admitted for the next level. */
      readonly queued: number
      readonly hits: ReadonlyArray<Hit>
      readonly timedOut: boolean
    }
  | { readonly t: "progress"; readonly generated: number; readonly unique: number }
  | {
      readonly t: "entry"
      readonly found: boolean
      readonly root: boolean
      readonly parentHi: number
      readonly parentLo: number
      readonly action: number
    }
  | { readonly t: "error"; readonly message: string }

/**
 * Between workers only fingerprints travel: a worker asks the owner of each
 * successor's fingerprint whether it is new (the owner records it with its
 * parent and action), and keeps the states the owner calls new.
 */
export type PeerMessage =
  | {
      readonly t: "query"
      readonly batch: number
      /** Per candidate: fingerprint hi, lo, parent hi, parent lo. */
      readonly keys: Uint32Array
      readonly actions: Int32Array
    }
  | {
      readonly t: "answer"
      readonly batch: number
      /** Per candidate: 1 when it was new. */
      readonly fresh: Uint8Array
    }
