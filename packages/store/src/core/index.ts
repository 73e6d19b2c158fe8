// The pure core of the store: the MVCC state machine, watches, validation and
// encodings. No clock, no randomness, no I/O.
export * from "./bytes.ts"
export * from "./codec.ts"
export { crc32 } from "./crc32.ts"
export * from "./errors.ts"
export { KeyIndex, KeyTree } from "./keyindex.ts"
export * from "./mvcc.ts"
export type * from "./types.ts"
export * from "./validate.ts"
export * from "./watch.ts"
