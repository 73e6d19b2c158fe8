export * from "./names.ts"
