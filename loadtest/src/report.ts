/** The JSON report of a scenario and its table on stdout, with Herald as a ratio to the baseline. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Options } from "./options.js";
import type { RunResult } from "./run.js";

export interface Report {
  scenario: string;
  summary: string;
  command: string;
  startedAt: string;
  finishedAt: string;
  options: Omit<Options, "apiToken">;
  runs: RunResult[];
  /** Per run label: Herald's figure / the baseline's (above 1: Herald uses more / takes longer / delivers more). */
  ratios: Array<{ label: string; figures: Record<string, number | null> }>;
  /** Targets that could not run, and why. */
  skipped: Array<{ target: string; label?: string; reason: string }>;
  note: string;
}

/** The figures compared between Herald and the baseline. */
const RATIO_FIGURES: Array<[string, (r: RunResult) => number]> = [
  ["cpuMicrosPerDelivery", (r) => r.server.cpuMicrosPerDelivery],
  ["throughputPerSecond", (r) => r.throughputPerSecond],
  ["latencyP50Ms", (r) => r.latencyMs.p50],
  ["latencyP99Ms", (r) => r.latencyMs.p99],
  ["rssBytesPerConnection", (r) => r.server.rssBytesPerConnection],
  ["rssPeakBytes", (r) => r.server.rssPeakBytes],
  ["connectP99Ms", (r) => r.connections.connectMs.p99],
];

export function ratios(runs: RunResult[]): Report["ratios"] {
  const out: Report["ratios"] = [];
  for (const h of runs.filter((r) => r.target === "herald")) {
    const b = runs.find((r) => r.target === "baseline" && r.label === h.label);
    if (!b) continue;
    const figures: Record<string, number | null> = {};
    for (const [name, get] of RATIO_FIGURES) {
      const bv = get(b);
      figures[name] = bv > 0 ? round(get(h) / bv, 3) : null;
    }
    out.push({ label: h.label, figures });
  }
  // The cluster scenario: Herald's cluster against Herald's single node of the same run.
  const single = runs.find((r) => r.target === "herald" && r.label === "1-node");
  const multi = runs.find((r) => r.target === "herald" && r.label === "fanout" && r.server.processes > 1);
  if (single && multi) {
    const figures: Record<string, number | null> = {};
    for (const [name, get] of RATIO_FIGURES) {
      const sv = get(single);
      figures[name] = sv > 0 ? round(get(multi) / sv, 3) : null;
    }
    out.push({ label: "herald cluster / herald 1-node", figures });
  }
  return out;
}

export function writeReport(path: string, report: Report): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(report, null, 2) + "\n");
}

const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;
const mb = (b: number): string => (b / (1024 * 1024)).toFixed(1);
const int = (v: number): string => Math.round(v).toLocaleString("en-US");

/** Label, cell, the number compared in the ratio column, and whether the row applies to a run. */
type Row = [string, (r: RunResult) => string, ((r: RunResult) => number)?, ((r: RunResult) => boolean)?];

const hasPublisher = (r: RunResult): boolean => r.expectedDeliveries > 0 || r.publishing.published > 0;

const ROWS: Row[] = [
  ["connections established", (r) => `${int(r.connections.established)}/${int(r.connections.requested)}`],
  ["connect p50 / p99 ms", (r) => `${r.connections.connectMs.p50} / ${r.connections.connectMs.p99}`, (r) => r.connections.connectMs.p99],
  ["publishing s", (r) => r.publishing.seconds.toFixed(1), undefined, hasPublisher],
  ["published (msg/s)", (r) => `${int(r.publishing.published)} (${int(r.publishing.ratePerSecond)})`, undefined, hasPublisher],
  ["delivered / expected", (r) => `${int(r.delivered)} / ${int(r.expectedDeliveries)}`, undefined, hasPublisher],
  ["delivery throughput msg/s", (r) => int(r.throughputPerSecond), (r) => r.throughputPerSecond, hasPublisher],
  ["latency p50 / p90 ms", (r) => `${r.latencyMs.p50} / ${r.latencyMs.p90}`, (r) => r.latencyMs.p50, hasPublisher],
  ["latency p99 / max ms", (r) => `${r.latencyMs.p99} / ${r.latencyMs.max}`, (r) => r.latencyMs.p99, hasPublisher],
  ["POST p50 / p99 ms", (r) => (r.requestMs ? `${r.requestMs.p50} / ${r.requestMs.p99}` : "-"), undefined, (r) => r.requestMs !== undefined],
  ["errors", (r) => errorText(r)],
  ["server RSS before→conn→after MB", (r) => `${mb(r.server.rssBeforeBytes)}→${mb(r.server.rssConnectedBytes)}→${mb(r.server.rssAfterBytes)}`],
  ["server RSS peak MB", (r) => mb(r.server.rssPeakBytes), (r) => r.server.rssPeakBytes],
  ["server RSS bytes/connection", (r) => int(r.server.rssBytesPerConnection), (r) => r.server.rssBytesPerConnection],
  ["server CPU ms (connect / run)", (r) => `${int(r.server.cpuMicrosConnect / 1000)} / ${int(r.server.cpuMicrosRun / 1000)}`],
  [
    "  run CPU ms by process",
    (r) => r.server.cpuMicrosRunByProcess.map((p) => `${p.process} ${int(p.cpuMicros / 1000)}`).join(", "),
    undefined,
    (r) => r.server.processes > 1 || r.target === "herald",
  ],
  [
    "  main + other threads ms / wake-ups",
    (r) => r.server.cpuMicrosRunByProcess.map((p) => `${int(p.mainThreadMicros / 1000)}+${int(p.otherThreadsMicros / 1000)}/${int(p.mainThreadWakeups)}`).join(", "),
    undefined,
    (r) => r.server.processes > 1 || r.target === "herald",
  ],
  ["* server CPU µs per delivery", (r) => r.server.cpuMicrosPerDelivery.toFixed(3), (r) => r.server.cpuMicrosPerDelivery, hasPublisher],
  ["redis CPU µs per published", (r) => (r.redis ? r.redis.cpuMicrosPerPublished.toFixed(2) : "-"), undefined, (r) => r.redis !== undefined],
  ["frozen: closed by server, got", (r) => (r.frozen ? `${r.frozen.closedByServer} of ${r.frozen.connections}, ${int(r.frozen.deliveredWhenThawed)} msgs` : "-"), undefined, (r) => r.frozen !== undefined],
  ["frozen: ERROR frames", (r) => (r.frozen ? String(r.frozen.errorFrames) : "-"), undefined, (r) => r.frozen !== undefined],
  [
    "server slow_consumer_total / log lines",
    (r) => {
      const c = r.frozen?.serverSlowConsumers;
      const metric = c ? Object.entries(c).map(([policy, n]) => `${policy}=${n}`).join(" ") || "0" : "-";
      return r.frozen ? `${metric} / ${r.frozen.serverLogLines}` : "-";
    },
    undefined,
    (r) => r.frozen !== undefined,
  ],
];

function errorText(r: RunResult): string {
  const e = r.errors;
  if (e.total === 0) return "0";
  const parts: string[] = [];
  if (e.connectFailures) parts.push(`${e.connectFailures} connect`);
  if (e.closedByServer) parts.push(`${e.closedByServer} closed`);
  if (e.stompErrors) parts.push(`${e.stompErrors} ERROR`);
  if (e.socketErrors) parts.push(`${e.socketErrors} socket`);
  if (e.unstamped) parts.push(`${e.unstamped} unstamped`);
  if (e.missing) parts.push(`${e.missing} missing`);
  if (e.publisher) parts.push(`${e.publisher} publisher`);
  if (e.stalled) parts.push("stalled");
  return `${e.total} (${parts.join(", ")})`;
}

/** A readable table: one column per run, and herald/baseline where both ran. */
export function formatTable(report: Report): string {
  const cols: Array<{ title: string; cell: (row: Row) => string }> = [];
  for (const r of report.runs) {
    cols.push({ title: `${r.target}:${r.label}`, cell: (row) => row[1](r) });
    const b = r.target === "herald" ? report.runs.find((x) => x.target === "baseline" && x.label === r.label) : undefined;
    const ratioColumn = (title: string, of: RunResult): void => {
      cols.push({
        title,
        cell: (row) => {
          const get = row[2];
          if (!get) return "";
          const v = get(of);
          return v > 0 ? `${(get(r) / v).toFixed(2)}x` : "-";
        },
      });
    };
    if (b) ratioColumn("herald/baseline", b);
    const single = r.target === "herald" && r.server.processes > 1 ? report.runs.find((x) => x.target === "herald" && x.label === "1-node") : undefined;
    if (single) ratioColumn("cluster/1-node", single);
  }
  const header = ["", ...cols.map((c) => c.title)];
  const rows = ROWS.filter((row) => !row[3] || report.runs.some(row[3]));
  const body = rows.map((row) => [row[0], ...cols.map((c) => c.cell(row))]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((line) => (line[i] ?? "").length)));
  const fmt = (line: string[]): string => line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  const lines = [`${report.scenario}: ${report.summary}`, fmt(header), ...body.map(fmt)];
  for (const s of report.skipped) lines.push(`skipped ${s.target}${s.label ? ` (${s.label})` : ""}: ${s.reason.split("\n")[0]}`);
  for (const r of report.runs) for (const e of r.errors.samples.slice(0, 3)) lines.push(`${r.target}:${r.label} error: ${e}`);
  for (const r of report.runs) for (const e of r.frozen?.errorSamples.slice(0, 1) ?? []) lines.push(`${r.target}:${r.label} frozen subscriber got: ${e}`);
  return lines.join("\n");
}
