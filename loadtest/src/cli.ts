/**
 * npm run loadtest -- <scenario> [--target herald|baseline|both] [options]
 * Starts the server(s) itself on loopback, runs, writes a JSON report under
 * loadtest/results/ and prints a table.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { OPTION_HELP, parseOptions, UsageError } from "./options.js";
import { formatTable, writeReport } from "./report.js";
import { runScenario } from "./run-scenario.js";
import { SCENARIOS } from "./scenarios/index.js";

export const RESULTS_DIR = fileURLToPath(new URL("../../results/", import.meta.url));

function usage(): string {
  const list = SCENARIOS.map((s) => `  ${s.name.padEnd(14)} ${s.summary}`).join("\n");
  return `usage: npm run loadtest -- <scenario> [options]\n\nscenarios:\n${list}\n\noptions:${OPTION_HELP}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) throw new UsageError(`unknown scenario "${name}"; one of: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  const o = parseOptions(rest, scenario.defaults);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const report = await runScenario(scenario, o, ["loadtest", ...argv].join(" "), log);
  const out = o.out ?? join(RESULTS_DIR, `${scenario.name}-${report.startedAt.replace(/[:.]/g, "-")}.json`);
  writeReport(out, report);
  process.stdout.write(`${formatTable(report)}\nreport: ${out}\n`);
  const requested = o.target === "both" ? ["baseline", "herald"] : [o.target];
  // A target that was asked for explicitly and did not run is a failure; with "both", a missing Herald build is only reported.
  const failed = report.skipped.filter((s) => requested.includes(s.target) && !(o.target === "both" && s.reason.startsWith("Herald is not built")));
  return failed.length > 0 || report.runs.length === 0 ? 1 : 0;
}

// Exit through process.exit so that the servers we started are killed (see servers.ts).
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`loadtest: ${err instanceof UsageError ? `${err.message}\n\n${usage()}` : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
