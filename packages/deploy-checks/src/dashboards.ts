import { readFileSync, readdirSync } from "node:fs";
import { isRecord, repoPath } from "./repo.js";

export const DASHBOARD_DIR = "deploy/grafana/dashboards";

export interface DashboardQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

export interface Dashboard {
  readonly file: string;
  readonly json: Record<string, unknown>;
}

export function loadDashboards(): Dashboard[] {
  return readdirSync(repoPath(DASHBOARD_DIR))
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => {
      const text = readFileSync(repoPath(DASHBOARD_DIR, file), "utf8");
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new Error(`${DASHBOARD_DIR}/${file} is not valid JSON: ${(err as Error).message}`);
      }
      if (!isRecord(json)) throw new Error(`${DASHBOARD_DIR}/${file} is not a JSON object`);
      return { file, json };
    });
}

/** Every panel, rows' nested panels included. */
export function panelsOf(d: Dashboard): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const visit = (list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const p of list) {
      if (!isRecord(p)) continue;
      out.push(p);
      visit(p["panels"]);
    }
  };
  visit(d.json["panels"]);
  return out;
}

export function queriesOf(d: Dashboard): DashboardQuery[] {
  const title = String(d.json["title"]);
  const out: DashboardQuery[] = [];
  for (const p of panelsOf(d)) {
    if (p["type"] === "row") continue;
    const targets = Array.isArray(p["targets"]) ? p["targets"] : [];
    for (const t of targets) {
      if (!isRecord(t)) continue;
      out.push({ dashboard: title, panel: String(p["title"]), refId: String(t["refId"]), expr: String(t["expr"] ?? "") });
    }
  }
  return out;
}
