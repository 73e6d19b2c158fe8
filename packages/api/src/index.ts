// Primitives: names, quantities, int-or-string, label and field selectors.

// The object model. The preferred versions' kinds are exported flat (`Pod`,
// `Deployment`, ...) and every group version as a namespace named like Go's
// import aliases (`corev1.Pod`, `appsv1beta1.Deployment`, `autoscalingv1.Scale`).
export * as appsv1 from "./apps/v1.ts"
export * from "./apps/v1.ts"
export * as appsv1beta1 from "./apps/v1beta1.ts"
export * as appsv1beta2 from "./apps/v1beta2.ts"
export * as autoscalingv1 from "./autoscaling/v1.ts"
export * from "./codec.ts"
export * from "./conversion.ts"
export * as coordinationv1 from "./coordination/v1.ts"
export * from "./coordination/v1.ts"
export * as corev1 from "./core/v1.ts"
export * from "./core/v1.ts"
export * from "./defaults.ts"
export * from "./duplicates.ts"
// Field errors, as apimachinery's `field` package: `field.required(path)`, `field.invalid(...)`.
export * as field from "./errors.ts"
export {
  badRequestStatus,
  errorBody,
  errorString,
  type FieldError,
  type FieldErrorType,
  invalidStatus,
} from "./errors.ts"
export * as extensionsv1beta1 from "./extensions/v1beta1.ts"
export * from "./fields.ts"
export * from "./intstr.ts"
export { jsonEqual } from "./json.ts"
export * from "./labels.ts"
export * from "./manifest.ts"
export * as metav1 from "./meta/v1.ts"
export * from "./meta/v1.ts"
export * from "./names.ts"
export * from "./quantity.ts"
export * from "./registry.ts"
export * from "./validation/index.ts"
export * as wire from "./wire.ts"
export * from "./yaml11.ts"
