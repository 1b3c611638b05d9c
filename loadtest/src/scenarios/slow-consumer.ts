import { basePlan, type Scenario } from "./scenario.js";

export const slowConsumer: Scenario = {
  name: "slow-consumer",
  summary: "fanout twice: all subscribers healthy, then --frozen of them stop reading; compare throughput and RSS",
  // 4 KiB bodies for 15 s: the frozen socket's backlog first fills the kernel's socket
  // buffers (up to ~10 MB on loopback) before the server's own limit is reached.
  defaults: { connections: 1000, durationS: 15, window: 32, messageBytes: 4096 },
  plans: (o) => {
    const healthy = basePlan(o, "all-healthy", "/topic/loadtest.slow");
    // Spread the frozen ones over the index range (and so over workers and source addresses).
    const step = Math.floor(o.connections / (o.frozen + 1));
    const frozen = Array.from({ length: o.frozen }, (_, i) => (i + 1) * step);
    return [healthy, { ...healthy, label: `${o.frozen}-frozen`, frozen }];
  },
};
