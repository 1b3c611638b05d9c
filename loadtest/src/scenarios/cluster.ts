import { startBaseline, startHerald, startHeraldCluster } from "../servers.js";
import { basePlan, type Scenario } from "./scenario.js";

/** Herald's own single node at the same settings: the cluster target is "at most 1.3x a single node's". */
export const SINGLE_NODE_LABEL = "1-node";

export const cluster: Scenario = {
  name: "cluster",
  summary: "fanout over --nodes edge nodes behind Redis, publisher on one more node (baseline: one node; Herald also on one node, in the same run)",
  defaults: { connections: 1000, durationS: 10, window: 32 },
  plans: (o, target) => {
    // A fixed rate compares node counts (and subscriber counts) at the same message rate:
    // under a window the rate, and with it how many messages share a write, differs per setup.
    const base = basePlan(o, "fanout", "/topic/loadtest.cluster");
    const plan = o.rateGiven ? { ...base, pacing: { kind: "rate" as const, perSecond: o.rate } } : base;
    return target === "herald" ? [{ ...plan, label: SINGLE_NODE_LABEL }, plan] : [plan];
  },
  start: (target, o, plan) => {
    if (target === "baseline") return startBaseline(o.serverEnv);
    const env = { ...o.serverEnv, ...o.heraldEnv };
    return plan.label === SINGLE_NODE_LABEL ? startHerald(env) : startHeraldCluster(o.nodes, env);
  },
};
