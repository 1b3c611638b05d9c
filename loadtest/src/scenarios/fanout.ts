import { basePlan, type Scenario } from "./scenario.js";

export const fanout: Scenario = {
  name: "fanout",
  summary: "N subscribers on one topic; one publisher as fast as flow control allows",
  defaults: { connections: 1000, durationS: 10, window: 32 },
  plans: (o) => [basePlan(o, "fanout", "/topic/loadtest.fanout")],
};
