export { flotilla, run, version } from "./cli.ts"
