import { test } from "node:test";
import { pino } from "pino";
import { loadUws, type us_listen_socket } from "@herald/uws";
import { LocalBus } from "@herald/bus";
import { InlineNotificationQueue } from "@herald/queue";
import { createRegistry } from "@herald/observability";
import { EdgeNode, edgeConfigFromEnv, mountStompWebSocket } from "@herald/edge";
import { createNotificationProcessor } from "@herald/worker";
import { apiConfigFromEnv, mountApi } from "../src/index.js";
import { publishScenario } from "./e2e-scenario.js";
import { closeConnections } from "./harness.js";

// The embedded default composed in-process: edge + API + inline queue + processor on one
// uWebSockets.js app and one port, real STOMP clients over real WebSockets.
test("embedded: what a backend POSTs reaches STOMP subscribers, user notifications only their user, once", { timeout: 30_000 }, async () => {
  const uws = loadUws();
  const app = uws.App();
  const logger = pino({ level: "silent" });
  const registry = createRegistry();
  const bus = new LocalBus();
  const config = edgeConfigFromEnv({ HERALD_INSECURE_LOGIN_AS_USER: "true" });
  const edge = new EdgeNode({ config, bus, logger, registry, publishNative: (topic, frame, binary) => app.publish(topic, frame, binary) });
  mountStompWebSocket(uws, app, edge, config);
  const queue = new InlineNotificationQueue(createNotificationProcessor({ bus, logger, registry }));
  mountApi(app, { queue, logger, registry, config: apiConfigFromEnv({ HERALD_API_KEYS: "e2e-key" }) });
  const socket = await new Promise<us_listen_socket>((resolve, reject) => app.listen("127.0.0.1", 0, (s) => (s ? resolve(s) : reject(new Error("listen")))));
  const port = uws.us_socket_local_port(socket);
  try {
    await publishScenario(`http://127.0.0.1:${port}`, `ws://127.0.0.1:${port}${config.path}`, "Bearer e2e-key");
  } finally {
    uws.us_listen_socket_close(socket);
    closeConnections(app);
    edge.close();
    await queue.close();
  }
});
