import { basePlan, type Scenario } from "./scenario.js";

export const latency: Scenario = {
  name: "latency",
  summary: "a fixed rate (--rate, default 100 msg/s) to N subscribers on one topic",
  defaults: { connections: 1000, durationS: 10, window: 32 },
  plans: (o) => [{ ...basePlan(o, "latency", "/topic/loadtest.latency"), pacing: { kind: "rate", perSecond: o.rate } }],
};
