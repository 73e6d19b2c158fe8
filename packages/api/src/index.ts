export * from "./names.ts"
export * from "./quantity.ts"
