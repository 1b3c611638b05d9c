import { BlockList, isIP } from "node:net";
import { ConfigError, readList, type Env } from "@herald/config";

/**
 * One spelling per address, so limits and logs key on the address and not on how
 * it was written: uWS reports "0000:…:ffff:7f00:0001" on a dual-stack socket, a
 * proxy writes "127.0.0.1". IPv4-mapped IPv6 becomes dotted IPv4, other IPv6 the
 * compressed lower-case form. Undefined when `text` is not an IP address.
 */
export function normalizeAddress(text: string): string | undefined {
  const family = isIP(text);
  if (family === 4) return text;
  if (family !== 6) return undefined;
  let canonical: string;
  try {
    canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return text.toLowerCase(); // a zone id (fe80::1%eth0): valid, but URL does not take it
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const hi = parseInt(mapped[1]!, 16);
  const lo = parseInt(mapped[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** An X-Forwarded-For item: a bare address, or one with a port ("1.2.3.4:5678", "[2001:db8::1]:443"). */
function forwardedItem(item: string): string | undefined {
  const s = item.trim().replace(/^"(.*)"$/, "$1");
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracketed) return normalizeAddress(bracketed[1]!);
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(s);
  return normalizeAddress(v4WithPort ? v4WithPort[1]! : s);
}

/**
 * HERALD_TRUSTED_PROXIES: the load balancers in front of the edge. A connection
 * from one of them is counted, limited and logged under the client address its
 * X-Forwarded-For names; from anyone else X-Forwarded-For is ignored (a client
 * could write anything there).
 */
export class TrustedProxies {
  private readonly list = new BlockList();

  /** `entries`: IP addresses and CIDR ranges; a bad one is a ConfigError naming HERALD_TRUSTED_PROXIES. */
  constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      const [address = "", prefix, extra] = entry.split("/");
      const ip = normalizeAddress(address);
      const family = ip === undefined ? 0 : isIP(ip);
      const bits = family === 4 ? 32 : 128;
      const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
      if (ip === undefined || family === 0 || !prefixOk || extra !== undefined) {
        throw new ConfigError("HERALD_TRUSTED_PROXIES", `"${entry}" is not an IP address or CIDR range (like 10.0.0.5, 10.0.0.0/8 or fd00::/8)`);
      }
      const type = family === 4 ? "ipv4" : "ipv6";
      if (prefix === undefined) this.list.addAddress(ip, type);
      else this.list.addSubnet(ip, Number(prefix), type);
    }
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** Whether `address` (normalized) is one of the trusted proxies. */
  trusts(address: string): boolean {
    if (this.isEmpty) return false;
    const family = isIP(address);
    return family !== 0 && this.list.check(address, family === 4 ? "ipv4" : "ipv6");
  }

  /**
   * The client's address for a connection from `peer`. From a trusted proxy: the
   * right-most X-Forwarded-For address that is not itself a trusted proxy (each
   * proxy appends the address it saw, so everything left of the first untrusted
   * hop may be forged). `forwardedFor` is read only then: every X-Forwarded-For
   * header, in order, joined by commas. An unreadable item ends the walk at the
   * last trusted hop; no header leaves the peer.
   */
  clientAddress(peer: string, forwardedFor: () => string | undefined): string {
    const peerAddress = normalizeAddress(peer) ?? peer;
    if (!this.trusts(peerAddress)) return peerAddress;
    const items = (forwardedFor() ?? "").split(",").filter((s) => s.trim() !== "");
    let client = peerAddress;
    for (let i = items.length - 1; i >= 0; i--) {
      const hop = forwardedItem(items[i]!);
      if (hop === undefined) break;
      client = hop;
      if (!this.trusts(hop)) break;
    }
    return client;
  }
}

export function trustedProxiesFromEnv(env: Env): TrustedProxies {
  return new TrustedProxies(readList(env, "HERALD_TRUSTED_PROXIES"));
}
