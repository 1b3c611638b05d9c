import { Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from "prom-client";

export { Registry, Counter, Gauge, Histogram } from "prom-client";

export const METRIC_PREFIX = "herald_";

/**
 * One registry per process, shared by every role in it. Default Node metrics
 * (event-loop lag, heap, CPU) carry the herald_ prefix too.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

/** Get-or-create helpers, so two modules can share one metric without import cycles. */
export function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  const existing = registry.getSingleMetric(METRIC_PREFIX + name);
  if (existing) return existing as Counter<L>;
  return new Counter<L>({ name: METRIC_PREFIX + name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  const existing = registry.getSingleMetric(METRIC_PREFIX + name);
  if (existing) return existing as Gauge<L>;
  return new Gauge<L>({ name: METRIC_PREFIX + name, help, labelNames, registers: [registry] });
}

export function histogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  buckets: number[],
  labelNames: readonly L[] = [],
): Histogram<L> {
  const existing = registry.getSingleMetric(METRIC_PREFIX + name);
  if (existing) return existing as Histogram<L>;
  return new Histogram<L>({ name: METRIC_PREFIX + name, help, buckets, labelNames, registers: [registry] });
}
