/**
 * The parent's side of the connection workers: forks enough of them (each holds
 * at most `perWorker` sockets), hands each its share of the connections, and
 * merges what they report.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Histogram } from "../histogram.js";
import { PORT_SPAN, type FromWorker, type OpenPlan, type Tick, type ToWorker, type WorkerStats } from "./protocol.js";

const WORKER = fileURLToPath(new URL("./conn-worker.js", import.meta.url));

/** No process here may open more than 20,000 files; keep room for the rest. */
export const MAX_PER_WORKER = 15_000;

export interface PoolSpec extends Omit<OpenPlan, "firstIndex" | "count" | "portOffset"> {
  total: number;
  workers: number;
}

export interface MergedStats extends Omit<WorkerStats, "connectUs" | "latencyUs"> {
  connectUs: Histogram;
  latencyUs: Histogram;
}

export class WorkerPool {
  private readonly ticks = new Map<ChildProcess, Tick>();
  private readonly exited = new Set<ChildProcess>();
  private fatal: string | undefined;

  private constructor(private readonly children: ChildProcess[]) {
    for (const child of children) {
      child.on("message", (m: FromWorker) => {
        if (m.type === "tick") this.ticks.set(child, m.tick);
        else if (m.type === "fatal") this.fatal = m.message;
      });
      child.once("exit", () => this.exited.add(child));
    }
  }

  /** Forks the workers and opens all connections; resolves when every connection subscribed or failed. */
  static async open(spec: PoolSpec): Promise<{ pool: WorkerPool; stats: MergedStats }> {
    if (spec.workers < 1) throw new Error(`workers must be at least 1, got ${spec.workers}`);
    const share = Math.ceil(spec.total / spec.workers);
    if (share > MAX_PER_WORKER) {
      throw new Error(`${share} connections per worker is more than ${MAX_PER_WORKER} (file limit): use --workers ${Math.ceil(spec.total / MAX_PER_WORKER)} or more`);
    }
    const children: ChildProcess[] = [];
    const plans: OpenPlan[] = [];
    // A new place in the port range each run, so that last run's TIME_WAIT sockets are rarely hit.
    const portOffset = Math.floor(Math.random() * PORT_SPAN);
    for (let w = 0, first = 0; w < spec.workers; w++, first += share) {
      const count = Math.max(0, Math.min(share, spec.total - first));
      const { total: _t, workers: _w, ...rest } = spec;
      plans.push({ ...rest, firstIndex: first, count, portOffset });
      children.push(fork(WORKER, [], { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" }));
    }
    const pool = new WorkerPool(children);
    try {
      const opened = await Promise.all(
        children.map((child, i) => pool.request(child, { type: "open", plan: plans[i]! }, "opened", spec.connectTimeoutMs + 5_000 + (plans[i]!.count / spec.concurrency) * spec.connectTimeoutMs)),
      );
      return { pool, stats: merge(opened) };
    } catch (err) {
      pool.close();
      throw err;
    }
  }

  /** Sends `m` and waits for the reply of type `want` from one worker. */
  private request(child: ChildProcess, m: ToWorker, want: "opened" | "report", timeoutMs: number): Promise<WorkerStats> {
    return new Promise((resolve, reject) => {
      const onMessage = (r: FromWorker): void => {
        if (r.type === want) done(() => resolve(r.stats));
        else if (r.type === "fatal") done(() => reject(new Error(`load worker crashed: ${r.message}`)));
      };
      const onExit = (code: number | null): void => done(() => reject(new Error(`load worker exited (${code}) before "${want}"`)));
      const timer = setTimeout(() => done(() => reject(new Error(`load worker did not answer "${m.type}" within ${Math.round(timeoutMs)} ms`))), timeoutMs);
      const done = (f: () => void): void => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
        f();
      };
      child.on("message", onMessage);
      child.once("exit", onExit);
      child.send(m);
    });
  }

  startTicks(everyMs: number): void {
    for (const c of this.children) c.send({ type: "ticks", everyMs } satisfies ToWorker);
  }

  /** The latest ticks merged: the slowest healthy subscriber's sequence number, deliveries so far, live subscribers. */
  tick(): Tick {
    let minSeq = Infinity;
    let delivered = 0;
    let live = 0;
    for (const t of this.ticks.values()) {
      delivered += t.delivered;
      live += t.live;
      if (t.minSeq >= 0 && t.minSeq < minSeq) minSeq = t.minSeq;
    }
    if (this.fatal) throw new Error(`load worker crashed: ${this.fatal}`);
    return { minSeq: live === 0 ? -1 : minSeq, delivered, live };
  }

  thaw(): void {
    for (const c of this.children) c.send({ type: "thaw" } satisfies ToWorker);
  }

  async report(): Promise<MergedStats> {
    return merge(await Promise.all(this.children.map((c) => this.request(c, { type: "report" }, "report", 10_000))));
  }

  close(): void {
    for (const c of this.children) {
      if (this.exited.has(c) || !c.connected) continue;
      c.send({ type: "close" } satisfies ToWorker);
      const t = setTimeout(() => c.kill("SIGKILL"), 3_000);
      t.unref();
      c.once("exit", () => clearTimeout(t));
    }
  }
}

export function merge(all: WorkerStats[]): MergedStats {
  const connectUs = new Histogram();
  const latencyUs = new Histogram();
  const out: MergedStats = {
    attempted: 0, connected: 0, subscribed: 0, failed: 0, closedAfterSubscribe: 0, frozenClosed: 0,
    delivered: 0, deliveredFrozen: 0, unstamped: 0, outOfOrder: 0, stompErrors: 0, frozenErrors: 0, socketErrors: 0,
    errorSamples: [], frozenErrorSamples: [], connectUs, latencyUs, bytesIn: 0,
  };
  for (const s of all) {
    for (const k of ["attempted", "connected", "subscribed", "failed", "closedAfterSubscribe", "frozenClosed", "delivered", "deliveredFrozen", "unstamped", "outOfOrder", "stompErrors", "frozenErrors", "socketErrors", "bytesIn"] as const) {
      out[k] += s[k];
    }
    out.errorSamples.push(...s.errorSamples.slice(0, 10 - out.errorSamples.length));
    out.frozenErrorSamples.push(...s.frozenErrorSamples.slice(0, 3 - out.frozenErrorSamples.length));
    connectUs.merge(s.connectUs);
    latencyUs.merge(s.latencyUs);
  }
  return out;
}
