import { cluster } from "./cluster.js";
import { fanout } from "./fanout.js";
import { idle } from "./idle.js";
import { idleSpread } from "./idle-spread.js";
import { latency } from "./latency.js";
import { manyTopics } from "./many-topics.js";
import { notify } from "./notify.js";
import type { Scenario } from "./scenario.js";
import { slowConsumer } from "./slow-consumer.js";

export type { Scenario } from "./scenario.js";

export const SCENARIOS: readonly Scenario[] = [fanout, latency, idle, idleSpread, manyTopics, cluster, notify, slowConsumer];
