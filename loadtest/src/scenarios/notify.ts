import { startBaseline, startHerald } from "../servers.js";
import { basePlan, type Scenario } from "./scenario.js";

/**
 * The publish API's own rate limit (HERALD_API_RATE, 1000/s by default) would measure the limiter,
 * not the path. A rate far above what the run reaches rather than 0 ("off"): the edge's limits
 * reader accepts only rates of at least 1.
 */
const HERALD_DEFAULTS = { HERALD_API_RATE: "10000000" };

export const notify: Scenario = {
  name: "notify",
  summary: "POST /v1/notifications → MESSAGE to N subscribers: throughput, POST-to-MESSAGE latency",
  defaults: { connections: 100, durationS: 10, window: 200 },
  plans: (o) => {
    const topic = "/topic/loadtest.notify";
    return [
      {
        ...basePlan(o, "notify", topic),
        destination: topic,
        publishTo: () => topic,
        publisher: { kind: "http", concurrency: o.httpConcurrency, ...(o.apiToken ? { token: o.apiToken } : {}) },
      },
    ];
  },
  start: (target, o) =>
    target === "baseline" ? startBaseline(o.serverEnv) : startHerald({ ...HERALD_DEFAULTS, ...o.serverEnv, ...o.heraldEnv }),
};
