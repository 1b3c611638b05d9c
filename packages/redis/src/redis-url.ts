/**
 * REDIS_URL → a description of the Redis deployment to connect to. Pure: no I/O.
 *
 *   redis://[user:pass@]host[:port][/db]            one server (rediss:// = TLS)
 *   redis+cluster://[user:pass@]h1:p1,h2:p2          Redis Cluster seed nodes (rediss+cluster:// = TLS)
 *   redis+sentinel://[pass@]h1:p1,h2:p2/master[/db]  Sentinel group and the master's name
 *
 * WHATWG URL cannot parse a comma-separated host list, so this parser is our own.
 */
import { ConfigError } from "@herald/config";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

interface Credentials {
  readonly username?: string;
  readonly password?: string;
}

export interface StandaloneTarget extends Credentials {
  readonly kind: "standalone";
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly tls: boolean;
}

export interface ClusterTarget extends Credentials {
  readonly kind: "cluster";
  /** Seed nodes: the client discovers the rest with CLUSTER SLOTS. */
  readonly nodes: readonly HostPort[];
  readonly tls: boolean;
}

export interface SentinelTarget extends Credentials {
  readonly kind: "sentinel";
  readonly sentinels: readonly HostPort[];
  readonly masterName: string;
  readonly db: number;
  /** Password of the sentinels themselves (`?sentinelPassword=`), when they require one. */
  readonly sentinelPassword?: string;
}

export type RedisTarget = StandaloneTarget | ClusterTarget | SentinelTarget;

const DEFAULT_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;

/**
 * The error every bad REDIS_URL gets: a ConfigError (the CLI's one line and exit
 * code 78) naming the variable and what is wrong, never the password.
 */
function bad(url: string, what: string): ConfigError {
  return new ConfigError("REDIS_URL", `"${redact(url)}" is invalid: ${what}`);
}

/** The URL with any password replaced, safe to log. */
export function redact(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)([^@/]*)@/i, (_m, scheme: string, auth: string) => {
    const colon = auth.indexOf(":");
    if (colon >= 0) return `${scheme}${auth.slice(0, colon)}:***@`;
    // redis+sentinel://pass@… carries a bare password.
    return `${scheme}***@`;
  });
}

export function isCluster(target: RedisTarget): target is ClusterTarget {
  return target.kind === "cluster";
}

export function parseRedisUrl(url: string): RedisTarget {
  if (typeof url !== "string" || url.trim() === "") throw new ConfigError("REDIS_URL", "is empty: expected e.g. redis://127.0.0.1:6379");
  const raw = url.trim();
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(raw);
  if (!m) throw bad(raw, "expected <scheme>://…, e.g. redis://127.0.0.1:6379");
  const scheme = m[1]!.toLowerCase();
  let rest = m[2]!;

  let query = "";
  const q = rest.indexOf("?");
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const params = new URLSearchParams(query);

  // userinfo ends at the last "@" before the path (a password may contain "@" only percent-encoded,
  // but be lenient and take the last one).
  const slash = rest.indexOf("/", rest.lastIndexOf("@") + 1);
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash + 1) : "";
  const at = authority.lastIndexOf("@");
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hostList = at >= 0 ? authority.slice(at + 1) : authority;

  switch (scheme) {
    case "redis":
    case "rediss": {
      const creds = parseUserinfo(raw, userinfo, "user:pass");
      const hosts = parseHosts(raw, hostList, DEFAULT_PORT);
      if (hosts.length !== 1) {
        throw bad(raw, `${scheme}:// takes exactly one host; for several nodes use redis+cluster:// or redis+sentinel://`);
      }
      const db = parseDb(raw, path);
      rejectUnknownParams(raw, params, []);
      return { kind: "standalone", host: hosts[0]!.host, port: hosts[0]!.port, db, tls: scheme === "rediss", ...creds };
    }
    case "redis+cluster":
    case "rediss+cluster": {
      const creds = parseUserinfo(raw, userinfo, "user:pass");
      const nodes = parseHosts(raw, hostList, DEFAULT_PORT);
      if (path !== "" && path !== "0") throw bad(raw, `Redis Cluster has only database 0, got path "/${path}"`);
      rejectUnknownParams(raw, params, []);
      return { kind: "cluster", nodes, tls: scheme === "rediss+cluster", ...creds };
    }
    case "redis+sentinel": {
      // The userinfo is the password of the Redis master (and replicas); a "user:pass" form is accepted too.
      const creds = userinfo !== undefined && !userinfo.includes(":") ? { password: decode(raw, userinfo, "password") } : parseUserinfo(raw, userinfo, "pass");
      const sentinels = parseHosts(raw, hostList, DEFAULT_SENTINEL_PORT);
      const parts = path.split("/");
      const masterName = decode(raw, parts[0] ?? "", "master name");
      if (masterName === "") throw bad(raw, "redis+sentinel:// needs the master name as its path, e.g. redis+sentinel://h1:26379,h2:26379/mymaster");
      if (parts.length > 2) throw bad(raw, `expected /<masterName>[/<db>], got "/${path}"`);
      const db = parseDb(raw, parts[1] ?? "");
      rejectUnknownParams(raw, params, ["sentinelPassword"]);
      const sentinelPassword = params.get("sentinelPassword") ?? undefined;
      return { kind: "sentinel", sentinels, masterName, db, ...creds, ...(sentinelPassword !== undefined ? { sentinelPassword } : {}) };
    }
    default:
      throw bad(raw, `unknown scheme "${scheme}://"; expected redis://, rediss://, redis+cluster://, rediss+cluster:// or redis+sentinel://`);
  }
}

function parseUserinfo(url: string, userinfo: string | undefined, form: string): Credentials {
  if (userinfo === undefined || userinfo === "") return {};
  const colon = userinfo.indexOf(":");
  if (colon < 0) {
    // redis://name@host: Redis has no password-less users over AUTH, so this is almost always a mistake.
    throw bad(url, `credentials must be "${form}@" (":pass@" for the default user), got a user name without a password`);
  }
  const username = decode(url, userinfo.slice(0, colon), "user name");
  const password = decode(url, userinfo.slice(colon + 1), "password");
  return { ...(username !== "" ? { username } : {}), ...(password !== "" ? { password } : {}) };
}

function decode(url: string, s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw bad(url, `the ${what} is not valid percent-encoding`);
  }
}

function parseHosts(url: string, list: string, defaultPort: number): HostPort[] {
  if (list === "") throw bad(url, "no host given");
  return list.split(",").map((item) => parseHostPort(url, item.trim(), defaultPort));
}

function parseHostPort(url: string, item: string, defaultPort: number): HostPort {
  if (item === "") throw bad(url, "empty entry in the host list");
  let host: string;
  let portText: string | undefined;
  if (item.startsWith("[")) {
    // IPv6 literal: [::1]:6379
    const close = item.indexOf("]");
    if (close < 0) throw bad(url, `unterminated IPv6 address "${item}"`);
    host = item.slice(1, close);
    const after = item.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) throw bad(url, `unexpected "${after}" after IPv6 address "${item}"`);
    portText = after === "" ? undefined : after.slice(1);
  } else {
    const colon = item.lastIndexOf(":");
    if (colon >= 0 && item.indexOf(":") !== colon) throw bad(url, `IPv6 address "${item}" must be written in brackets, e.g. [::1]:6379`);
    host = colon >= 0 ? item.slice(0, colon) : item;
    portText = colon >= 0 ? item.slice(colon + 1) : undefined;
  }
  if (host === "") throw bad(url, `missing host in "${item}"`);
  if (!/^[A-Za-z0-9._:%-]+$/.test(host)) throw bad(url, `host "${host}" contains characters not allowed in a host name`);
  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) throw bad(url, `port "${portText}" of "${item}" is not a number`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw bad(url, `port ${port} of "${item}" is out of range 1-65535`);
  }
  return { host, port };
}

function parseDb(url: string, path: string): number {
  if (path === "") return 0;
  if (!/^\d{1,5}$/.test(path)) throw bad(url, `database "/${path}" must be a non-negative integer, e.g. /0`);
  return Number(path);
}

function rejectUnknownParams(url: string, params: URLSearchParams, allowed: readonly string[]): void {
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      throw bad(url, `unknown query parameter "${key}"${allowed.length ? ` (allowed: ${allowed.join(", ")})` : ""}`);
    }
  }
}
