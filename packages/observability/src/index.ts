export * from "./logger.js";
export * from "./metrics.js";
export { textLogDestination, formatRecord } from "./text-log.js";
