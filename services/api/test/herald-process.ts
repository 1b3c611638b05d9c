import { fileURLToPath } from "node:url";
import { heraldStarter, type HeraldProcess as Started } from "@herald/testkit";

/** The CLI this repository builds (services/cli/dist/src/main.js). */
export const HERALD_MAIN = fileURLToPath(new URL("../../../cli/dist/src/main.js", import.meta.url));

/** A real Herald process of this repository's CLI, on a free port (`HeraldProcess` of @herald/testkit). */
export type HeraldProcess = Started;
export const HeraldProcess = { start: heraldStarter(HERALD_MAIN) };
