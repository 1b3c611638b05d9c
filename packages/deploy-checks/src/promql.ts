/**
 * Herald metric names an expression reads. Herald's series all start with
 * `herald_`, which no label or function name does, so stripping string literals
 * (label values) and reading the herald_ identifiers is exact enough.
 */
export function heraldMetricsIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  return [...new Set([...withoutStrings.matchAll(/\bherald_[a-zA-Z0-9_:]+/g)].map((m) => m[0]))].sort();
}

/** Grafana's interval macros, replaced by what Grafana would send for a short range. */
const GRAFANA_MACROS: Readonly<Record<string, string>> = {
  $__interval: "15s",
  $__range: "1h",
};

/** A dashboard query as Prometheus receives it from Grafana; an unknown variable is an error. */
export function expandGrafanaMacros(expr: string, rateInterval = "1m"): string {
  const out = expr.replace(/\$__[a-z_]+/g, (macro) => {
    if (macro === "$__rate_interval") return rateInterval;
    const v = GRAFANA_MACROS[macro];
    if (v === undefined) throw new Error(`unknown Grafana macro ${macro} in: ${expr}`);
    return v;
  });
  const leftover = /\$\{?\w+/.exec(out);
  if (leftover) throw new Error(`dashboard variable ${leftover[0]} in a query: the dashboards define none but the data source: ${expr}`);
  return out;
}
