import { basePlan, type Scenario } from "./scenario.js";

export const idle: Scenario = {
  name: "idle",
  summary: "N idle connections, each subscribed to its own destination: server RSS per connection",
  defaults: { connections: 17_000, durationS: 5, window: 1, settleMs: 3000 },
  plans: (o) => [
    {
      ...basePlan(o, "idle", "/topic/loadtest.idle."),
      destination: "/topic/loadtest.idle.",
      destinationMode: "own",
      pacing: { kind: "none" },
    },
  ],
};
