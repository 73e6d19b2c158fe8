export * from "./intstr.ts"
export * from "./labels.ts"
export * from "./names.ts"
export * from "./quantity.ts"
