import type { Hasher } from "./hash.ts"

/**
 * A property of a model's states.
 *
 * - `always`: a safety invariant; violated by any reachable state where
 *   `holds` is false. The counterexample is a path to that state (the shortest
 *   one under breadth-first search).
 * - `sometimes`: a reachability goal; satisfied by any reachable state where
 *   `holds` is true (the example is a path to it). When no such state is
 *   found the property is reported as never reached and the check fails, so a
 *   model that does nothing cannot pass.
 * - `eventually`: every behaviour reaches a state where `holds` is true.
 *   A behaviour is a path from an initial state that is either infinite or
 *   ends in a terminal state (a state without any transition). The property is
 *   violated by a path from an initial state along which `holds` is false at
 *   every state and which either ends in a terminal state or closes a cycle
 *   (so it can be repeated forever). No fairness is assumed: a cycle of
 *   enabled-but-useless steps (a message duplicated forever, a timer firing
 *   forever) is a violation. Self-loops (actions that do not change the state)
 *   are not transitions. States cut off by a bound (depth, state count,
 *   boundary) are neither terminal nor expanded, so a bounded check can miss
 *   violations beyond the bound but never reports a false one.
 */
export interface Property<S> {
  readonly name: string
  readonly kind: PropertyKind
  readonly holds: (state: S) => boolean
}

export type PropertyKind = "always" | "sometimes" | "eventually"

export const always = <S>(name: string, holds: (state: S) => boolean): Property<S> => ({
  name,
  kind: "always",
  holds,
})

export const sometimes = <S>(name: string, holds: (state: S) => boolean): Property<S> => ({
  name,
  kind: "sometimes",
  holds,
})

export const eventually = <S>(name: string, holds: (state: S) => boolean): Property<S> => ({
  name,
  kind: "eventually",
  holds,
})

/**
 * A state-machine model: the checker's only view of a system.
 *
 * Everything here must be deterministic and pure: the same state gives the
 * same actions in the same order and the same successors. States are treated
 * as immutable values (a step returns a new state; unchanged parts may be
 * shared). Two states are the same state exactly when their fingerprints are
 * equal: by default the canonical structural fingerprint of `hash.ts`
 * (independent of object key order and of `Map`/`Set` insertion order).
 */
export interface Model<S, A> {
  readonly name: string
  /** The initial states, in a fixed order (traces refer to them by index). */
  readonly initialStates: ReadonlyArray<S>
  /** Pushes the actions enabled in `state` onto `out`, in a deterministic order. */
  actions(state: S, out: Array<A>): void
  /**
   * The state after `action`, or `undefined` when the action turns out to do
   * nothing (it is then not a transition at all).
   */
  next(state: S, action: A): S | undefined
  readonly properties: ReadonlyArray<Property<S>>
  /** States outside the boundary are discarded: not checked, not expanded. */
  within?(state: S): boolean
  /**
   * Feeds a canonical encoding of `state` to the hasher. Optional: the
   * default hashes the state structurally. Implement it for speed (for
   * example from cached sub-hashes), keeping it canonical.
   */
  fingerprint?(state: S, hasher: Hasher): void
  /**
   * Symmetry reduction: maps a state to the representative of its symmetry
   * class (for example by permuting interchangeable server ids into a
   * canonical order). States with the same representative are explored once.
   * It must commute with the model (symmetric states have symmetric
   * successors) and the properties must not tell symmetric states apart.
   */
  representative?(state: S): S
  /**
   * Symmetry reduction without building states: feeds the hasher a
   * fingerprint that is the same for all states of a symmetry class (for
   * example the least fingerprint over all renamings of interchangeable ids).
   * Used instead of `representative` when both exist. Same requirements.
   */
  symmetricFingerprint?(state: S, hasher: Hasher): void
  /** A one-line description of an action taken in `state`. */
  describeAction?(state: S, action: A): string
  /** Readable lines describing what the step from `prev` to `next` changed. */
  describeStep?(prev: S, action: A, next: S): ReadonlyArray<string>
  /** A readable rendering of a whole state (used for the initial state of a trace). */
  describeState?(state: S): string
}

/** Any model, for code that does not look inside states and actions. */
// biome-ignore lint/suspicious/noExplicitAny: models are stored and passed around opaquely.
export type AnyModel = Model<any, any>
