/** Runs one scenario against the chosen target(s), each run on freshly started servers. */
import type { Options } from "./options.js";
import { ratios, type Report } from "./report.js";
import { runLoad, type RunResult } from "./run.js";
import { heraldBuilt, HERALD_MAIN, type TargetName } from "./servers.js";
import { startSingle, type Scenario } from "./scenarios/scenario.js";

export const NOTE =
  "Figures depend on the machine and on what else runs on it; compare Herald with the baseline measured in the same run, on a quiet machine.";

export async function runScenario(scenario: Scenario, o: Options, command: string, log: (line: string) => void): Promise<Report> {
  const startedAt = new Date().toISOString();
  const targets: TargetName[] = o.target === "both" ? ["baseline", "herald"] : [o.target];
  const runs: RunResult[] = [];
  const skipped: Report["skipped"] = [];
  for (const target of targets) {
    if (target === "herald" && !heraldBuilt()) {
      skipped.push({ target, reason: `Herald is not built (${HERALD_MAIN} is missing)` });
      continue;
    }
    for (const plan of scenario.plans(o, target)) {
      log(`${scenario.name}: ${target} ${plan.label}: starting server(s), ${plan.subscribers} connections, ${plan.durationMs / 1000} s`);
      let server;
      try {
        server = await (scenario.start ?? startSingle)(target, o, plan);
      } catch (err) {
        skipped.push({ target, label: plan.label, reason: (err as Error).message });
        log(`${scenario.name}: ${target} could not start: ${(err as Error).message.split("\n")[0]}`);
        continue;
      }
      try {
        runs.push(await runLoad(server, plan));
      } catch (err) {
        skipped.push({ target, label: plan.label, reason: `${(err as Error).message}\n${server.output().slice(-2000)}` });
        log(`${scenario.name}: ${target} ${plan.label} failed: ${(err as Error).message}`);
      } finally {
        await server.stop();
      }
    }
  }
  const { apiToken: _t, ...options } = o;
  void _t;
  return {
    scenario: scenario.name,
    summary: scenario.summary,
    command,
    startedAt,
    finishedAt: new Date().toISOString(),
    options,
    runs,
    ratios: ratios(runs),
    skipped,
    note: NOTE,
  };
}
