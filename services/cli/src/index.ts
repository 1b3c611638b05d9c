// @herald/server: the `herald` command (main.ts) and the composition root it runs, for
// programs that start Herald themselves.
export { startHerald, type HeraldOptions, type RunningHerald } from "./herald.js";
