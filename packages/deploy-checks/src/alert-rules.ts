import { isRecord, readYaml } from "./repo.js";

export const ALERTS_FILE = "deploy/prometheus/alerts.yml";

export interface AlertRule {
  readonly group: string;
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export function loadAlertRules(): AlertRule[] {
  const doc = readYaml(ALERTS_FILE);
  if (!isRecord(doc) || !Array.isArray(doc["groups"])) throw new Error(`${ALERTS_FILE}: expected a top-level "groups" list`);
  const out: AlertRule[] = [];
  for (const g of doc["groups"]) {
    if (!isRecord(g) || !Array.isArray(g["rules"])) throw new Error(`${ALERTS_FILE}: every group needs a name and a "rules" list`);
    for (const r of g["rules"]) {
      if (!isRecord(r) || typeof r["alert"] !== "string") throw new Error(`${ALERTS_FILE}: group ${String(g["name"])} has a rule without "alert" (recording rules belong elsewhere)`);
      out.push({
        group: String(g["name"]),
        alert: r["alert"],
        expr: String(r["expr"]).trim(),
        ...(typeof r["for"] === "string" ? { for: r["for"] } : {}),
        labels: (isRecord(r["labels"]) ? r["labels"] : {}) as Record<string, string>,
        annotations: (isRecord(r["annotations"]) ? r["annotations"] : {}) as Record<string, string>,
      });
    }
  }
  return out;
}
