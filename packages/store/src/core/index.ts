// The pure core of the store: the MVCC state machine, watches, validation and
// encodings. No clock, no randomness, no I/O.
export * from "./bytes.ts"
export * from "./codec.ts"
export { crc32 } from "./crc32.ts"
export * from "./entry.ts"
export * from "./errors.ts"
export { fnv64 } from "./hash.ts"
export { KeyIndex, KeyTree } from "./keyindex.ts"
export * from "./members.ts"
export * from "./mvcc.ts"
export type * from "./types.ts"
export * from "./validate.ts"
export * from "./watch.ts"
