import { createBus, type Bus } from "@herald/bus";
import { readInt, readString, type Env } from "@herald/config";
import { createRegistry, type Logger, type Registry } from "@herald/observability";
import { createRedisClient, parseRedisUrl, type Cluster, type Redis } from "@herald/redis";
import { listenerFromEnv, ServerApp, tlsConfigFromEnv, type TemplatedApp, type Uws } from "@herald/uws";
import { EdgeNode, edgeConfigFromEnv, mountDemo, mountStompSockJs, mountStompWebSocket, sockjsConfigFromEnv } from "@herald/edge";
import { edgeSecurityFromEnv } from "@herald/edge";
import { apiConfigFromEnv, mountApi } from "@herald/api";
import { BullmqNotificationQueue, InlineNotificationQueue, type NotificationQueue } from "@herald/queue";
import { createNotificationProcessor, startBullmqWorker, workerConfigFromEnv, type RunningWorker } from "@herald/worker";
import { createHistory, historyPolicyFromEnv, PublishRouter } from "@herald/history";
import { deliveryConfigFromEnv, MemoryCursorStore, RedisCursorStore, type CursorStore } from "@herald/edge";
import { InstrumentedBus } from "./instrumented-bus.js";
import { InstrumentedHistory } from "./instrumented-history.js";
import { mountOpsRoutes, type ReadinessCheck } from "./ops-routes.js";
import { rolesFromEnv } from "./roles.js";

export interface HeraldOptions {
  uws: Uws;
  env: Env;
  logger: Logger;
  host: string;
  port: number;
}

export interface RunningHerald {
  readonly port: number;
  /** SIGHUP: reload the TLS certificate, or say there is none (never throws). */
  hangup(signal: string): void;
  readonly app: TemplatedApp;
  readonly registry: Registry;
  readonly edge?: EdgeNode;
  stop(): Promise<void>;
}

/** The composition root: picks the implementations behind each interface and starts the roles. */
export async function startHerald(opts: HeraldOptions): Promise<RunningHerald> {
  const { uws, env, logger } = opts;
  const roles = rolesFromEnv(env);
  const drainWindowMs = readInt(env, "HERALD_DRAIN_WINDOW_MS", 30_000, { min: 0 });
  const registry = createRegistry();
  const redisUrl = readString(env, "REDIS_URL");
  const target = redisUrl ? parseRedisUrl(redisUrl) : undefined;
  // Names this process's Redis connections (CLIENT LIST).
  const nodeName = readString(env, "HERALD_NODE_ID", `node-${process.pid}`);
  const bus: Bus = new InstrumentedBus(
    createBus({ redisUrl, redis: { name: nodeName, onError: (err) => logger.debug({ err: err.message }, "redis") } }),
    registry,
    logger,
    target ? "redis" : "local",
  );
  // History (Redis Streams with REDIS_URL, memory without) gives messages positions: recovery, offline users, durable acks.
  const createdHistory = createHistory({ redisUrl, bus, redis: { name: nodeName, onError: (err) => logger.debug({ err: err.message }, "redis history") } });
  // Redis history publishes from its script, past the bus's counter: it counts itself (memory history goes through the bus).
  const history = target ? new InstrumentedHistory(createdHistory, registry) : createdHistory;
  const historyPolicy = historyPolicyFromEnv(env);
  const publisher = new PublishRouter(bus, history, historyPolicy);
  let cursorClient: Redis | Cluster | undefined;
  const cursors = (): CursorStore => {
    if (!target) return new MemoryCursorStore();
    cursorClient = createRedisClient(target, { name: `${nodeName}:cursors`, offlineQueue: false });
    cursorClient.on("error", (err: Error) => logger.debug({ err: err.message }, "redis cursors"));
    return new RedisCursorStore(cursorClient);
  };
  // Plain or TLS (HERALD_TLS_CERT/KEY); SIGHUP reloads the certificate without dropping connections.
  // HERALD_LISTENER=compat puts a Node.js relay on PORT for HTTP/1.0 clients (plain only).
  const tls = tlsConfigFromEnv(env);
  const server = new ServerApp(uws, tls, logger, { listener: listenerFromEnv(env, tls !== undefined) });
  const app = server.app;
  const checks: ReadinessCheck[] = [{ name: "bus", check: () => (bus.state === "up" ? undefined : "Redis is unavailable") }];
  const stops: Array<() => Promise<void> | void> = [];

  let edge: EdgeNode | undefined;
  if (roles.has("edge")) {
    const config = edgeConfigFromEnv(env);
    const delivery = { history, policy: historyPolicy, cursors: cursors(), config: deliveryConfigFromEnv(env) };
    const node = new EdgeNode({ config, bus, logger, registry, delivery, ...edgeSecurityFromEnv(env, { registry, logger }), publishNative: (topic, frame, binary) => app.publish(topic, frame, binary) });
    mountStompWebSocket(uws, app, node, config);
    const sockjs = mountStompSockJs(app, node, config, sockjsConfigFromEnv(env));
    if (sockjs) stops.push(() => sockjs.close());
    mountDemo(app);
    checks.push({ name: "edge", check: () => (node.isDraining ? "draining" : undefined) });
    logger.info({ auth: node.authenticator.describe() }, "edge: connections are authenticated as follows");
    edge = node;
  }

  // BullMQ needs its own connection settings (maxRetriesPerRequest: null).
  let bullmq: Redis | Cluster | undefined;
  const bullmqConnection = () => (bullmq ??= createRedisClient(target!, { name: "bullmq", forBullmq: true }));
  const workerConfig = workerConfigFromEnv(env);
  const processor = createNotificationProcessor({ bus, publisher, logger, registry });

  if (roles.has("api")) {
    const apiConfig = apiConfigFromEnv(env);
    const queue: NotificationQueue = target
      ? new BullmqNotificationQueue({ connection: bullmqConnection(), maxBodyBytes: apiConfig.maxBodyBytes })
      : new InlineNotificationQueue(processor, { retry: workerConfig.retry, maxBodyBytes: apiConfig.maxBodyBytes, onFailed: (id, _job, reason) => logger.warn({ id, reason }, "notification failed") });
    mountApi(app, { queue, logger, registry, config: apiConfig });
    stops.push(() => queue.close());
  }

  let worker: RunningWorker | undefined;
  if (roles.has("worker")) {
    if (target) {
      worker = startBullmqWorker({ connection: bullmqConnection(), processor, logger, registry, concurrency: workerConfig.concurrency, retry: workerConfig.retry, maxBodyBytes: workerConfig.maxBodyBytes,
        ...(workerConfig.lockDurationMs !== undefined ? { lockDurationMs: workerConfig.lockDurationMs } : {}),
        ...(workerConfig.stalledIntervalMs !== undefined ? { stalledIntervalMs: workerConfig.stalledIntervalMs } : {}) });
    } else if (!roles.has("api")) {
      logger.warn("worker role without REDIS_URL has no queue to read: the embedded default delivers API notifications inline");
    }
  }

  mountOpsRoutes(app, registry, checks);
  app.any("/*", (res) => {
    res.cork(() => res.writeStatus("404 Not Found").writeHeader("content-type", "application/json").end('{"error":"not found"}'));
  });

  const port = await server.listenOn(opts.host, opts.port);
  logger.info({ host: opts.host, port, roles: [...roles], tls: server.tls !== undefined, listener: server.listener, bus: target ? "redis" : "in-process (embedded default)" }, "herald listening");

  let stopping = false;
  return {
    port,
    app,
    registry,
    ...(edge ? { edge } : {}),
    hangup(signal) {
      if (stopping) logger.info({ signal }, "stopping: signal ignored");
      else server.hangup(signal);
    },
    /** Graceful: drain the edge over the window (readyz turns 503 at once), let the worker finish, then close. */
    async stop() {
      stopping = true;
      if (edge) {
        logger.info({ connections: edge.connectionCount, windowMs: drainWindowMs }, "draining connections");
        const started = Date.now();
        await edge.drain(drainWindowMs);
        logger.info({ ms: Date.now() - started, connections: edge.connectionCount }, "drained");
      }
      await worker?.stop();
      for (const s of stops) await s();
      server.close();
      edge?.close();
      await history.close();
      await cursorClient?.quit().catch(() => undefined);
      await bus.close();
      await bullmq?.quit().catch(() => undefined);
    },
  };
}
