/**
 * One measured run against one target: open the subscribers, publish for a
 * while under a pacing rule, drain, and read what it cost the server.
 */
import { cpus, loadavg } from "node:os";
import { sample, sampleThreads, type ThreadSample } from "./proc-stats.js";
import { HttpPublisher, StompPublisher, type Publisher } from "./publishers.js";
import type { Target } from "./servers.js";
import { WorkerPool } from "./workers/pool.js";
import { drain, drive } from "./pacing.js";
import type { HistogramSummary } from "./histogram.js";

export type Pacing =
  /** As fast as flow control allows: at most `window` messages ahead of the slowest healthy subscriber ("slowest") or of total deliveries ("delivered", for one subscriber per message). */
  | { kind: "window"; window: number; ack: "slowest" | "delivered" }
  /** A fixed rate, messages per second. */
  | { kind: "rate"; perSecond: number }
  /** Nobody publishes (idle). */
  | { kind: "none" };

export interface LoadPlan {
  label: string;
  subscribers: number;
  destinationMode: "shared" | "own";
  /** The destination (shared) or its prefix (own: prefix + connection index). */
  destination: string;
  subscriptionId: string;
  /** Where SENDs go for message `seq` (the subscribers' destination, or /app/... routed to it). */
  publishTo: (seq: number) => string;
  publisher: { kind: "stomp" } | { kind: "http"; concurrency: number; token?: string };
  pacing: Pacing;
  messageBytes: number;
  durationMs: number;
  /** Pause after the connections are up, before RSS is read and publishing starts. */
  settleMs: number;
  frozen: number[];
  workers: number;
  sourceAddresses: string[];
  connectConcurrency: number;
  connectTimeoutMs: number;
}

export interface RunResult {
  label: string;
  target: string;
  connections: { requested: number; established: number; failed: number; connectMs: Pick<HistogramSummary, "p50" | "p99" | "max"> };
  publishing: { seconds: number; published: number; accepted: number; ratePerSecond: number };
  delivered: number;
  expectedDeliveries: number;
  throughputPerSecond: number;
  latencyMs: Omit<HistogramSummary, "count">;
  /** POST → 2xx round trip (notify only). */
  requestMs?: Omit<HistogramSummary, "count">;
  errors: {
    total: number;
    stompErrors: number;
    socketErrors: number;
    connectFailures: number;
    closedByServer: number;
    unstamped: number;
    outOfOrder: number;
    /** Deliveries expected to healthy subscribers that never came (after draining). */
    missing: number;
    publisher: number;
    stalled: boolean;
    samples: string[];
  };
  server: {
    processes: number;
    rssBeforeBytes: number;
    rssConnectedBytes: number;
    rssAfterBytes: number;
    rssPeakBytes: number;
    /** (RSS with connections − RSS before) / established connections. */
    rssBytesPerConnection: number;
    cpuMicrosConnect: number;
    cpuMicrosRun: number;
    /** cpuMicrosRun per server process (cluster: each edge node and the publisher node), split into the main thread and the rest. */
    cpuMicrosRunByProcess: Array<{ process: string; cpuMicros: number; mainThreadMicros: number; otherThreadsMicros: number; mainThreadWakeups: number }>;
    /** The main figure: server CPU time during publishing / deliveries. */
    cpuMicrosPerDelivery: number;
  };
  redis?: { cpuMicrosRun: number; cpuMicrosPerPublished: number; rssAfterBytes: number };
  frozen?: {
    connections: number;
    closedByServer: number;
    deliveredWhenThawed: number;
    errorFrames: number;
    errorSamples: string[];
    /** Herald's herald_slow_consumer_total by policy (from /metrics); absent when the server has none (the baseline). */
    serverSlowConsumers?: Record<string, number>;
    /** Lines of the server's output that mention a slow consumer (Herald logs them at warn). */
    serverLogLines: number;
  };
  machine: { cpus: number; loadAverage1m: number };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** herald_slow_consumer_total{policy} from the server's /metrics; undefined when it has none. */
async function slowConsumerCounts(httpUrl: string): Promise<Record<string, number> | undefined> {
  try {
    const res = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return undefined;
    const counts: Record<string, number> = {};
    for (const m of (await res.text()).matchAll(/^herald_slow_consumer_total\{policy="([^"]+)"\} (\d+)/gm)) counts[m[1]!] = Number(m[2]);
    return counts;
  } catch {
    return undefined;
  }
}

function sumSample(pids: number[]): { rssBytes: number; cpuMicros: number; cpuByProcess: number[] } {
  let rssBytes = 0;
  let cpuMicros = 0;
  const cpuByProcess: number[] = [];
  for (const pid of pids) {
    let s;
    try {
      s = sample(pid);
    } catch (err) {
      throw new Error(`server process ${pid} is gone (did it exit during the run?): ${(err as Error).message}`);
    }
    rssBytes += s.rssBytes;
    cpuMicros += s.cpuMicros;
    cpuByProcess.push(s.cpuMicros);
  }
  return { rssBytes, cpuMicros, cpuByProcess };
}

function threadBreakdown(process: string, cpuMicros: number, a: ThreadSample, b: ThreadSample) {
  const main = b.mainMicros - a.mainMicros;
  return {
    process,
    cpuMicros: Math.round(cpuMicros),
    mainThreadMicros: Math.round(main),
    otherThreadsMicros: Math.round(b.allMicros - a.allMicros - main),
    mainThreadWakeups: b.mainWakeups - a.mainWakeups,
  };
}

const ms = (us: number): number => Math.round(us) / 1000;

export async function runLoad(target: Target, plan: LoadPlan): Promise<RunResult> {
  const before = sumSample(target.serverPids);
  const { pool, stats: opened } = await WorkerPool.open({
    total: plan.subscribers,
    workers: plan.workers,
    urls: target.subscriberUrls,
    localAddresses: plan.sourceAddresses,
    destinationMode: plan.destinationMode,
    destination: plan.destination,
    subscriptionId: plan.subscriptionId,
    concurrency: plan.connectConcurrency,
    frozen: plan.frozen,
    connectTimeoutMs: plan.connectTimeoutMs,
  });
  let publisher: Publisher | undefined;
  let rssPeak = 0;
  const peakTimer = setInterval(() => {
    try {
      rssPeak = Math.max(rssPeak, sumSample(target.serverPids).rssBytes);
    } catch {
      /* a server that died shows up in the errors and its output */
    }
  }, 200);
  try {
    await sleep(plan.settleMs);
    const connected = sumSample(target.serverPids);
    const threadsStart = target.serverPids.map(sampleThreads);
    rssPeak = Math.max(rssPeak, connected.rssBytes);
    const redisStart = target.redisPid ? sumSample([target.redisPid]) : undefined;

    let published = 0;
    let stalled = false;
    let seconds = 0;
    if (plan.pacing.kind !== "none") {
      publisher =
        plan.publisher.kind === "stomp"
          ? await StompPublisher.connect(target.publisherUrl)
          : new HttpPublisher(target.httpUrl, plan.publisher.concurrency, plan.publisher.token);
      pool.startTicks(10);
      await sleep(50);
      const t0 = Date.now();
      ({ published, stalled } = await drive(publisher, pool, plan));
      seconds = (Date.now() - t0) / 1000;
      await publisher.settle(5_000);
      await drain(pool, plan, published);
    } else {
      await sleep(plan.durationMs);
      seconds = plan.durationMs / 1000;
    }
    const after = sumSample(target.serverPids);
    const threadsEnd = target.serverPids.map(sampleThreads);
    const redisAfter = target.redisPid ? sumSample([target.redisPid]) : undefined;
    rssPeak = Math.max(rssPeak, after.rssBytes);
    if (plan.frozen.length > 0) {
      pool.thaw();
      await sleep(1_000);
    }
    const s = await pool.report();
    const established = opened.subscribed;
    const sentOk = publisher?.accepted ?? 0;
    const expectedDeliveries = plan.destinationMode === "shared" ? sentOk * (established - plan.frozen.length) : sentOk;
    const runCpu = after.cpuMicros - connected.cpuMicros;
    const lat = s.latencyUs.summary();
    const conn = s.connectUs.summary();
    const req = publisher?.requestUs?.summary();
    const closedByServer = s.closedAfterSubscribe;
    const missing = Math.max(0, expectedDeliveries - s.delivered);
    const pubErrors = publisher?.errors ?? 0;
    const result: RunResult = {
      label: plan.label,
      target: target.name,
      connections: { requested: plan.subscribers, established, failed: opened.failed, connectMs: { p50: ms(conn.p50), p99: ms(conn.p99), max: ms(conn.max) } },
      publishing: { seconds, published, accepted: publisher?.accepted ?? 0, ratePerSecond: seconds > 0 ? published / seconds : 0 },
      delivered: s.delivered,
      expectedDeliveries,
      throughputPerSecond: seconds > 0 ? s.delivered / seconds : 0,
      latencyMs: { min: ms(lat.min), p50: ms(lat.p50), p90: ms(lat.p90), p99: ms(lat.p99), max: ms(lat.max), mean: ms(lat.mean) },
      ...(req ? { requestMs: { min: ms(req.min), p50: ms(req.p50), p90: ms(req.p90), p99: ms(req.p99), max: ms(req.max), mean: ms(req.mean) } } : {}),
      errors: {
        total: s.stompErrors + s.socketErrors + opened.failed + closedByServer + s.unstamped + missing + pubErrors + (stalled ? 1 : 0),
        stompErrors: s.stompErrors,
        socketErrors: s.socketErrors,
        connectFailures: opened.failed,
        closedByServer,
        unstamped: s.unstamped,
        outOfOrder: s.outOfOrder,
        missing,
        publisher: pubErrors,
        stalled,
        samples: [...s.errorSamples, ...(publisher?.errorSamples ?? [])].slice(0, 10),
      },
      server: {
        processes: target.serverPids.length,
        rssBeforeBytes: before.rssBytes,
        rssConnectedBytes: connected.rssBytes,
        rssAfterBytes: after.rssBytes,
        rssPeakBytes: rssPeak,
        rssBytesPerConnection: established > 0 ? Math.round((connected.rssBytes - before.rssBytes) / established) : 0,
        cpuMicrosConnect: Math.round(connected.cpuMicros - before.cpuMicros),
        cpuMicrosRun: Math.round(runCpu),
        cpuMicrosPerDelivery: s.delivered > 0 ? runCpu / s.delivered : 0,
        cpuMicrosRunByProcess: target.serverPids.map((pid, i) =>
          threadBreakdown(target.serverLabels?.[i] ?? (target.serverPids.length > 1 ? `pid ${pid}` : "node"), after.cpuByProcess[i]! - connected.cpuByProcess[i]!, threadsStart[i]!, threadsEnd[i]!),
        ),
      },
      machine: { cpus: cpus().length, loadAverage1m: loadavg()[0] ?? 0 },
    };
    if (redisStart && redisAfter) {
      const redisCpu = redisAfter.cpuMicros - redisStart.cpuMicros;
      result.redis = { cpuMicrosRun: Math.round(redisCpu), cpuMicrosPerPublished: published > 0 ? redisCpu / published : 0, rssAfterBytes: redisAfter.rssBytes };
    }
    if (plan.frozen.length > 0) {
      const counts = await slowConsumerCounts(target.httpUrl);
      result.frozen = {
        connections: plan.frozen.length,
        closedByServer: s.frozenClosed,
        deliveredWhenThawed: s.deliveredFrozen,
        errorFrames: s.frozenErrors,
        errorSamples: s.frozenErrorSamples,
        ...(counts ? { serverSlowConsumers: counts } : {}),
        serverLogLines: target.output().split("\n").filter((l) => /slow consumer/i.test(l)).length,
      };
    }
    return result;
  } finally {
    clearInterval(peakTimer);
    publisher?.close();
    pool.close();
  }
}
