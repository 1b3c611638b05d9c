import { isIPv4, isIPv6 } from "node:net";

/**
 * PROXY protocol v2 (haproxy.org/download/2.9/doc/proxy-protocol.txt): the header
 * a relay puts before a connection's bytes so that the server learns the client's
 * address. uWebSockets.js 20.30 is built with UWS_WITH_PROXY: it reads this header
 * before each request and reports the address as `getProxiedRemoteAddress()`.
 */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** "::ffff:1.2.3.4" (an IPv4 client on a dual-stack socket) is the IPv4 address. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split(".").map(Number));
}

function ipv6Bytes(address: string): Buffer {
  const zoneless = address.split("%")[0]!;
  const [head, tail] = zoneless.includes("::") ? zoneless.split("::") : [zoneless, undefined];
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  let left = groups(head);
  let right = groups(tail);
  // An embedded IPv4 tail ("::ffff:1.2.3.4" not caught above, "64:ff9b::1.2.3.4") is two groups.
  const last = (tail === undefined ? left : right).at(-1);
  if (last !== undefined && last.includes(".")) {
    const v4 = ipv4Bytes(last);
    const two = [((v4[0]! << 8) | v4[1]!).toString(16), ((v4[2]! << 8) | v4[3]!).toString(16)];
    if (tail === undefined) left = [...left.slice(0, -1), ...two];
    else right = [...right.slice(0, -1), ...two];
  }
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** The v2 header of a TCP connection from `source` to `destination` (command PROXY). */
export function proxyV2Header(source: Endpoint, destination: Endpoint): Buffer {
  const src = unmapped(source.address);
  const dst = unmapped(destination.address);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(source.port, 0);
  ports.writeUInt16BE(destination.port, 2);
  let family: number;
  let addresses: Buffer;
  if (isIPv4(src) && isIPv4(dst)) {
    family = 0x11; // TCP over IPv4
    addresses = Buffer.concat([ipv4Bytes(src), ipv4Bytes(dst), ports]);
  } else {
    family = 0x21; // TCP over IPv6 (an IPv4 side is written IPv4-mapped)
    const v6 = (a: string) => (isIPv6(a) ? ipv6Bytes(a) : ipv6Bytes(`::ffff:${a}`));
    addresses = Buffer.concat([v6(src), v6(dst), ports]);
  }
  const length = Buffer.alloc(2);
  length.writeUInt16BE(addresses.length);
  return Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, family]), length, addresses]);
}
