import { heraldStarter, type HeraldProcess as Started } from "@herald/testkit";
import { repoPath } from "../src/repo.js";

/** The CLI this repository builds: deploy-checks runs it as a program, it imports no service. */
export const HERALD_MAIN = repoPath("services/cli/dist/src/main.js");

/** A real Herald process of this repository's CLI, on a free port (`HeraldProcess` of @herald/testkit). */
export type HeraldProcess = Started;
export const HeraldProcess = { start: heraldStarter(HERALD_MAIN) };
