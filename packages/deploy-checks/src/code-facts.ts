import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { createRegistry, METRIC_PREFIX } from "@herald/observability";
import { REPO_ROOT, sourceFiles } from "./repo.js";

/**
 * Facts read from the code itself, so the deploy files are checked against what
 * the code does today rather than against a list someone has to keep in sync.
 */

export interface MetricDefinition {
  readonly name: string;
  readonly type: "counter" | "gauge" | "histogram";
  readonly file: string;
}

/** Metrics the code registers through @herald/observability's counter/gauge/histogram helpers. */
export function metricsRegisteredInCode(): Map<string, MetricDefinition> {
  const out = new Map<string, MetricDefinition>();
  const call = /\b(counter|gauge|histogram)\(\s*[\w.]+\s*,\s*"([a-z][a-z0-9_]*)"/g;
  for (const file of sourceFiles()) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(call)) {
      const name = METRIC_PREFIX + m[2]!;
      out.set(name, { name, type: m[1] as MetricDefinition["type"], file: relative(REPO_ROOT, file) });
    }
  }
  return out;
}

/** Node.js and process metrics every Herald process exports (prom-client defaults, herald_ prefix). */
export async function defaultMetricNames(): Promise<Set<string>> {
  const registry = createRegistry();
  const text = await registry.metrics();
  registry.clear();
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
}

/** Every metric a Herald process can export, by name; histogram series (_bucket, _sum, _count) map to their metric. */
export async function knownMetricNames(): Promise<Set<string>> {
  return new Set([...metricsRegisteredInCode().keys(), ...(await defaultMetricNames())]);
}

/** The metric a series name belongs to: `x_bucket` → `x` when x is a histogram. */
export function metricOfSeries(series: string, known: ReadonlySet<string>): string {
  if (known.has(series)) return series;
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  return m && known.has(m[1]!) ? m[1]! : series;
}

/**
 * Environment variables the code reads: every string literal that looks like one
 * (HERALD_*, REDIS_URL, PORT, HOST, LOG_LEVEL, NODE_ENV) or `process.env.NAME` in a non-test source.
 * Reading is done through @herald/config's readString/readInt/… with the name as a
 * literal (or a table of literals, as in the JWT settings), so a rename shows here.
 */
export function envNamesReadByCode(): Map<string, string> {
  const out = new Map<string, string>();
  const literal = /["'`](HERALD_[A-Z0-9_]+|REDIS_URL|PORT|HOST|LOG_LEVEL|NODE_ENV)["'`]|\benv\.(HERALD_[A-Z0-9_]+|REDIS_URL|PORT|HOST|LOG_LEVEL|NODE_ENV)\b/g;
  for (const file of sourceFiles()) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(literal)) {
      const name = (m[1] ?? m[2])!;
      if (!out.has(name)) out.set(name, relative(REPO_ROOT, file));
    }
  }
  return out;
}

/** HTTP paths the ops routes answer on every role (`app.get("/healthz", …)` in the CLI). */
export function opsRoutePaths(): Set<string> {
  const text = readFileSync(`${REPO_ROOT}services/cli/src/ops-routes.ts`, "utf8");
  return new Set([...text.matchAll(/app\.get\(\s*"([^"]+)"/g)].map((m) => m[1]!));
}

/** A default read from the code: `readInt(env, "NAME", 30_000` → 30000. */
export function numericDefault(file: string, envName: string): number {
  const text = readFileSync(`${REPO_ROOT}${file}`, "utf8");
  const m = new RegExp(`read\\w+\\(\\s*\\w+\\s*,\\s*"${envName}"\\s*,\\s*([0-9_]+)`).exec(text);
  if (!m) throw new Error(`${file} does not read ${envName} with a numeric default`);
  return Number(m[1]!.replace(/_/g, ""));
}
