import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { freePort, waitFor } from "@herald/testkit";
import { requireTool } from "./tools.js";

export interface ScrapeJob {
  readonly job: string;
  /** host:port pairs on loopback. */
  readonly targets: readonly string[];
}

export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, string];
}

export interface PromRule {
  readonly name: string;
  readonly health: string;
  readonly lastError?: string;
  readonly type: string;
}

interface ApiAnswer<T> {
  status: "success" | "error";
  data: T;
  errorType?: string;
  error?: string;
}

/**
 * A real Prometheus of the test's own: its own data directory, a free loopback
 * port, a 1 s scrape and rule interval, the given rule files loaded.
 */
export class PrometheusServer {
  output = "";
  private readonly exited: Promise<void>;

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  static async start(opts: { jobs: readonly ScrapeJob[]; ruleFiles?: readonly string[] }): Promise<PrometheusServer> {
    const bin = requireTool("prometheus", "prometheus");
    const dir = mkdtempSync(join(tmpdir(), "herald-prometheus-"));
    const config = {
      global: { scrape_interval: "1s", scrape_timeout: "900ms", evaluation_interval: "1s" },
      rule_files: [...(opts.ruleFiles ?? [])],
      scrape_configs: opts.jobs.map((j) => ({ job_name: j.job, static_configs: [{ targets: [...j.targets] }] })),
    };
    writeFileSync(join(dir, "prometheus.yml"), stringify(config));
    const port = await freePort();
    const child = spawn(
      bin,
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const server = new PrometheusServer(port, child, dir);
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${server.output}`);
          return (await fetch(`${server.url}/-/ready`).catch(() => undefined))?.status === 200;
        },
        { timeoutMs: 20_000, what: `prometheus ready on ${port}` },
      );
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const r = await fetch(`${this.url}${path}?${new URLSearchParams(params)}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await r.json()) as ApiAnswer<T>;
    if (body.status !== "success") throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
    return body.data;
  }

  /** An instant query; a PromQL error rejects with Prometheus's own message. */
  async query(expr: string): Promise<PromSample[]> {
    const data = await this.api<{ resultType: string; result: unknown }>("/api/v1/query", { query: expr });
    if (data.resultType === "scalar") {
      const [t, v] = data.result as [number, string];
      return [{ metric: {}, value: [t, v] }];
    }
    if (data.resultType !== "vector") throw new Error(`expected an instant vector from ${expr}, got ${data.resultType}`);
    return data.result as PromSample[];
  }

  async rules(): Promise<PromRule[]> {
    const data = await this.api<{ groups: Array<{ rules: PromRule[] }> }>("/api/v1/rules");
    return data.groups.flatMap((g) => g.rules);
  }

  async alerts(): Promise<Array<{ labels: Record<string, string>; state: string }>> {
    const data = await this.api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>("/api/v1/alerts");
    return data.alerts;
  }

  async targets(): Promise<Array<{ labels: Record<string, string>; health: string; lastError: string }>> {
    const data = await this.api<{ activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }> }>("/api/v1/targets");
    return data.activeTargets;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    const killer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(killer);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
