import { basePlan, type Scenario } from "./scenario.js";

const PREFIX = "/topic/loadtest.t.";

export const manyTopics: Scenario = {
  name: "many-topics",
  summary: "N connections each on its own topic; publishes to random topics",
  defaults: { connections: 10_000, durationS: 10, window: 1000 },
  plans: (o) => [
    {
      ...basePlan(o, "many-topics", PREFIX),
      destination: PREFIX,
      destinationMode: "own",
      publishTo: () => `${PREFIX}${Math.floor(Math.random() * o.connections)}`,
      pacing: { kind: "window", window: o.window, ack: "delivered" },
    },
  ],
};
