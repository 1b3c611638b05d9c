/**
 * Typed readers for environment settings. Every reader names the variable in its
 * error, so a bad deployment fails at start-up with a line that says what to fix.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

export function readString(env: Env, name: string, fallback: string): string;
export function readString(env: Env, name: string): string | undefined;
export function readString(env: Env, name: string, fallback?: string): string | undefined {
  return raw(env, name) ?? fallback;
}

export function readInt(env: Env, name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  if (!/^-?\d+$/.test(v)) throw new ConfigError(name, `expected a whole number, got "${v}"`);
  const n = Number(v);
  if (range.min !== undefined && n < range.min) throw new ConfigError(name, `must be at least ${range.min}, got ${n}`);
  if (range.max !== undefined && n > range.max) throw new ConfigError(name, `must be at most ${range.max}, got ${n}`);
  return n;
}

export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  const l = v.toLowerCase();
  if (["true", "1", "yes", "on"].includes(l)) return true;
  if (["false", "0", "no", "off"].includes(l)) return false;
  throw new ConfigError(name, `expected true or false, got "${v}"`);
}

/** Comma-separated list; empty items are dropped. */
export function readList(env: Env, name: string, fallback: readonly string[] = []): string[] {
  const v = raw(env, name);
  if (v === undefined) return [...fallback];
  return v.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

export function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(name, `expected one of ${allowed.join(", ")}, got "${v}"`);
  return v as T;
}

/** Byte sizes: plain numbers or with a KiB/MiB suffix ("1MiB", "64KiB"). */
export function readBytes(env: Env, name: string, fallback: number): number {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  const m = /^(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB|k|m)?$/i.exec(v);
  if (!m) throw new ConfigError(name, `expected a size like 65536, 64KiB or 1MiB, got "${v}"`);
  const unit = (m[2] ?? "B").toLowerCase();
  const mult = unit.startsWith("k") ? 1024 : unit.startsWith("m") ? 1024 * 1024 : unit.startsWith("g") ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}
