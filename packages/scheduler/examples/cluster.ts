/**
 * Runs the scheduler against the cluster `flotilla up` started (its kubeconfig
 * path as the first argument, a KubeSchedulerConfiguration file as the
 * optional second), until Ctrl-C.
 *
 *   npx tsx --conditions=@flotilla/source packages/scheduler/examples/cluster.ts \
 *     .flotilla/kubeconfig /tmp/binpack.yaml
 */
import { makeClient } from "@flotilla/client"
import { Console, Context, Effect, Layer } from "effect"
import { readKubeconfig, Scheduler } from "../src/index.ts"

const [kubeconfig = ".flotilla/kubeconfig", configurationFile] = process.argv.slice(2)

const program = Effect.gen(function* () {
  const target = yield* readKubeconfig(kubeconfig)
  const context = yield* Layer.build(
    Scheduler.layerClient(
      makeClient(target),
      configurationFile === undefined ? {} : { configurationFile },
    ),
  )
  const profiles = [...Context.get(context, Scheduler).core.profiles.keys()]
  yield* Console.log(`scheduling pods of ${target.server} as ${profiles.join(", ")}`)
  return yield* Effect.never
})

Effect.runFork(Effect.scoped(program))
