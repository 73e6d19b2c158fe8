// Shared vitest configuration: every package's vitest.config.ts re-exports this.
// Workspace packages resolve to their TypeScript sources through the
// "@flotilla/source" export condition, in both the client and SSR resolvers.
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["@flotilla/source"] },
  ssr: { resolve: { conditions: ["@flotilla/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ["default"],
  },
})
