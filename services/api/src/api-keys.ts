import { createHash, timingSafeEqual } from "node:crypto";

/**
 * `principal` names the rate-limit bucket; `scope` (keyed callers only) separates their
 * idempotency keys: the first 16 bytes of the key's SHA-256, in hex, so what is
 * stored in Redis never reveals the key. Loopback callers share the unscoped space.
 */
export type AuthResult = { ok: true; principal: string; scope?: string } | { ok: false; status: 401 | 403; error: string };

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** 127.0.0.0/8 and ::1, in any of the textual forms uWebSockets.js reports (IPv4, IPv4-mapped, full IPv6). */
export function isLoopbackAddress(address: string): boolean {
  const a = address.trim().toLowerCase();
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) return a.startsWith("127.");
  const mapped = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/.exec(a);
  if (mapped) return mapped[1]!.startsWith("127.");
  let groups: string[];
  if (a.includes("::")) {
    const [head, tail] = a.split("::") as [string, string];
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    groups = [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  } else groups = a.split(":");
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return false;
  const n = groups.map((g) => parseInt(g, 16));
  if (n.slice(0, 7).every((x) => x === 0) && n[7] === 1) return true; // ::1
  return n.slice(0, 5).every((x) => x === 0) && n[5] === 0xffff && n[6]! >> 8 === 127; // ::ffff:127.x.y.z
}

/**
 * API keys as SHA-256 digests, compared with timingSafeEqual over equal-length
 * digests against every key, so neither a key's content nor its length leaks through timing.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** Index of the matching key, or -1. */
  match(presented: string): number {
    return this.matchDigest(digest(presented));
  }

  private matchDigest(d: Buffer): number {
    let found = -1;
    this.digests.forEach((k, i) => {
      if (timingSafeEqual(d, k) && found < 0) found = i;
    });
    return found;
  }

  /**
   * Decides from the Authorization header and the client's address; principal names the rate-limit
   * bucket. `proxied`: the request names a forwarded client (X-Forwarded-For / Forwarded), so a
   * loopback peer is a reverse proxy on this host, not a local caller.
   */
  authenticate(authorization: string, remoteAddress: string, proxied = false): AuthResult {
    if (!this.enabled) {
      if (proxied) {
        return { ok: false, status: 403, error: "no API keys are configured (HERALD_API_KEYS), so only local clients are accepted, and this request came through a proxy (it carries X-Forwarded-For or Forwarded)" };
      }
      if (isLoopbackAddress(remoteAddress)) return { ok: true, principal: "loopback" };
      return { ok: false, status: 403, error: "no API keys are configured (HERALD_API_KEYS), so only loopback clients are accepted" };
    }
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!m) return { ok: false, status: 401, error: authorization === "" ? "missing API key: send Authorization: Bearer <key>" : "malformed Authorization header: expected Bearer <key>" };
    const d = digest(m[1]!);
    const i = this.matchDigest(d);
    if (i < 0) return { ok: false, status: 401, error: "invalid API key" };
    return { ok: true, principal: `key-${i}`, scope: d.subarray(0, 16).toString("hex") };
  }
}
