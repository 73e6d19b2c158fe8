export * from "./names.ts"
export * from "./quantity.ts"
export * from "./labels.ts"
export * from "./intstr.ts"
