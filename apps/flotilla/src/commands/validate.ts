/**
 * `flotilla validate -f FILE...`: runs manifests through the object model as
 * an API server would on create (decode, default, convert to the preferred
 * version, validate) and prints the resulting objects as YAML or JSON. On any
 * problem it prints every one as `FILE:LINE: kind/name: field: message` to
 * stderr and exits 1. The work is `processManifests` (pure); this shell only
 * reads files or stdin and writes the output.
 */
import {
  encode,
  encodeYaml,
  type FieldValidation,
  formatProblem,
  isDNS1123Label,
  type KubeObject,
  processManifests,
} from "@flotilla/api"
import { Console, Effect, Result, Runtime, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { readInput } from "../files.ts"

/** A bad flag: the message is printed, the process exits 2. */
export class ValidateUsageError extends Schema.TaggedError<ValidateUsageError>()(
  "ValidateUsageError",
  { message: Schema.String },
) {
  override readonly [Runtime.errorReported] = false
  override readonly [Runtime.errorExitCode] = 2
}

/** Manifests with problems: the problems are already printed, so the runtime only exits 1. */
export class ValidationFailed extends Schema.TaggedError<ValidationFailed>()("ValidationFailed", {
  problems: Schema.Number,
}) {
  override readonly [Runtime.errorReported] = false
  override readonly [Runtime.errorExitCode] = 1
}

const filename = Flag.String("filename").pipe(
  Flag.withAlias("f"),
  Flag.withDescription("A manifest file (YAML or JSON, several documents allowed), or - for stdin"),
  Flag.atLeast(1),
)
const output = Flag.Literals("output", ["yaml", "json"]).pipe(
  Flag.withAlias("o"),
  Flag.withDescription("Output format of the resulting objects"),
  Flag.withDefault("yaml"),
)
const namespace = Flag.String("namespace").pipe(
  Flag.withAlias("n"),
  Flag.withDescription("Namespace given to namespaced objects that name none"),
  Flag.withDefault("default"),
)
const validation = Flag.Literals("validate", ["strict", "warn", "ignore"]).pipe(
  Flag.withDescription(
    "Unknown fields: strict (an error, as kubectl asks the server), warn (dropped with a warning) or ignore",
  ),
  Flag.withDefault("strict"),
)

const fieldValidation: Record<"strict" | "warn" | "ignore", FieldValidation> = {
  strict: "Strict",
  warn: "Warn",
  ignore: "Ignore",
}

/** Kubernetes' JSON for the objects: one object alone, several as a `v1` `List`. */
const toJson = (objects: ReadonlyArray<KubeObject>): string => {
  const items = objects.map((o) => Result.getOrThrow(encode(o)))
  const value =
    items.length === 1
      ? items[0]
      : { apiVersion: "v1", kind: "List", items, metadata: { resourceVersion: "" } }
  return JSON.stringify(value, null, 4)
}

export const validate = Command.make(
  "validate",
  { filename, output, namespace, validation },
  Effect.fn(
    function* ({ filename, output, namespace, validation }) {
      // The namespace given to objects, so checked as a namespace name (ValidateNamespaceName).
      const namespaceProblems = isDNS1123Label(namespace)
      if (namespaceProblems.length > 0) {
        return yield* new ValidateUsageError({
          message: `--namespace: Invalid value: ${JSON.stringify(namespace)}: ${namespaceProblems.join("; ")}`,
        })
      }
      if (filename.filter((f) => f === "-").length > 1) {
        return yield* new ValidateUsageError({
          message: "--filename: - (stdin) is given more than once; stdin can be read only once",
        })
      }
      const objects: Array<KubeObject> = []
      const problems: Array<string> = []
      const warnings: Array<string> = []
      for (const file of filename) {
        const text = yield* readInput(file).pipe(Effect.result)
        if (Result.isFailure(text)) {
          problems.push(`${file}: cannot read: ${text.failure}`)
          continue
        }
        const result = processManifests(text.success, {
          namespace,
          fieldValidation: fieldValidation[validation],
        })
        for (const problem of result.problems) problems.push(formatProblem(file, problem))
        for (const o of result.objects) {
          objects.push(o.object)
          for (const warning of o.warnings) warnings.push(`Warning: ${file}:${o.line}: ${warning}`)
        }
      }
      // As kubectl's "error: no objects passed to apply": an empty input is a mistake, not a success.
      if (objects.length === 0 && problems.length === 0) {
        problems.push(
          `error: no objects passed to validate (${filename.map((f) => (f === "-" ? "stdin" : f)).join(", ")}: empty, or only comments)`,
        )
      }
      for (const warning of warnings) yield* Console.error(warning)
      if (problems.length > 0) {
        for (const problem of problems) yield* Console.error(problem)
        return yield* new ValidationFailed({ problems: problems.length })
      }
      if (output === "json") {
        yield* Console.log(toJson(objects))
      } else {
        const yaml = encodeYaml(objects)
        yield* Console.log(Result.isSuccess(yaml) ? yaml.success.trimEnd() : yaml.failure.message)
      }
    },
    Effect.tapError((e) =>
      e._tag === "ValidateUsageError"
        ? Console.error(`flotilla validate: ${e.message}`)
        : Effect.void,
    ),
  ),
).pipe(
  Command.withDescription(
    "Decode, default, convert and validate manifests as the API server does, and print the result",
  ),
  Command.withExamples([
    {
      command: "flotilla validate -f docs/examples/hello-kubecon.yaml",
      description: "Print the seed's manifests as apps/v1 and v1 objects with their defaults",
    },
    {
      command: "cat deploy.yaml | flotilla validate -f - -o json",
      description: "Validate stdin and print JSON",
    },
  ]),
)
