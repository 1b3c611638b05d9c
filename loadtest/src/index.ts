export * from "./stomp-wire.js";
export * from "./histogram.js";
export * from "./proc-stats.js";
export type { Report } from "./report.js";
export type { RunResult, LoadPlan, Pacing } from "./run.js";
