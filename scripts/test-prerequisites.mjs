// Run by `npm test` (npm's pretest) before the tests: the Debian packages the
// end-to-end tests run as real clients and servers (etcdctl, etcd), installed
// with apt-get when missing, as root. Without root or apt it says what is
// missing and leaves it to the tests, which then fail naming the package.
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"

const needed = [
  ["/usr/bin/etcdctl", "etcd-client"],
  ["/usr/bin/etcd", "etcd-server"],
]

const missing = needed.filter(([binary]) => !existsSync(binary)).map(([, pkg]) => pkg)
if (missing.length > 0) {
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) {
    console.error(
      `test prerequisites: missing Debian packages ${missing.join(", ")} (need root and apt-get to install them)`,
    )
  } else {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    const install = () =>
      execFileSync("apt-get", ["install", "-y", ...missing], { env, stdio: "inherit" })
    try {
      install()
    } catch {
      // The package lists may be missing or stale on a fresh machine.
      execFileSync("apt-get", ["update"], { env, stdio: "inherit" })
      install()
    }
  }
}
