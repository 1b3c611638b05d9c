/** What a scenario is: its defaults, the runs it makes per target, and how it starts a target. */
import type { Defaults, Options } from "../options.js";
import { sourceAddresses } from "../options.js";
import type { LoadPlan } from "../run.js";
import { startBaseline, startHerald, type Target, type TargetName } from "../servers.js";

export interface Scenario {
  name: string;
  summary: string;
  defaults: Defaults;
  /** The runs against one target; each gets freshly started server(s). */
  plans(o: Options, target: TargetName): LoadPlan[];
  /** Starts the server(s) for one target and plan; by default one node. */
  start?(target: TargetName, o: Options, plan: LoadPlan): Promise<Target>;
}

export function startSingle(target: TargetName, o: Options): Promise<Target> {
  return target === "baseline" ? startBaseline(o.serverEnv) : startHerald({ ...o.serverEnv, ...o.heraldEnv });
}

/** The default route of Spring's guide and of Herald: SEND /app/sendMessage → /topic/messages. */
export const APP_SEND = "/app/sendMessage";
export const APP_TOPIC = "/topic/messages";

/** A plan with every general option filled in; scenarios override what is theirs. */
export function basePlan(o: Options, label: string, topic: string): LoadPlan {
  const destination = o.via === "app" ? APP_TOPIC : topic;
  const publishTo = o.via === "app" ? APP_SEND : topic;
  return {
    label,
    subscribers: o.connections,
    destinationMode: "shared",
    destination,
    subscriptionId: "sub-0",
    publishTo: () => publishTo,
    publisher: { kind: "stomp" },
    pacing: { kind: "window", window: o.window, ack: "slowest" },
    messageBytes: o.messageBytes,
    durationMs: o.durationS * 1000,
    settleMs: o.settleMs,
    frozen: [],
    workers: o.workers,
    sourceAddresses: sourceAddresses(o.sourceAddresses),
    connectConcurrency: o.connectConcurrency,
    connectTimeoutMs: o.connectTimeoutMs,
  };
}
