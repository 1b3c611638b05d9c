import { startBaselines, startHeraldCluster } from "../servers.js";
import type { Scenario } from "./scenario.js";
import { idle } from "./idle.js";

/**
 * The idle scenario over several server processes: more connections than one process
 * may hold files for (20,000 here). Herald: --nodes edge nodes behind a redis-server of
 * its own (plus the cluster's publisher node, idle here); baseline: --nodes independent
 * processes. Connections go round-robin over the processes and over source addresses.
 */
export const idleSpread: Scenario = {
  name: "idle-spread",
  summary: "N idle connections, each on its own destination, spread over --nodes server processes: RSS per connection, no errors",
  defaults: { connections: 100_000, durationS: 5, window: 1, settleMs: 5000, nodes: 6 },
  plans: (o, target) => idle.plans(o, target).map((p) => ({ ...p, label: "idle-spread" })),
  start: (target, o) => (target === "baseline" ? startBaselines(o.nodes, o.serverEnv) : startHeraldCluster(o.nodes, { ...o.serverEnv, ...o.heraldEnv })),
};
