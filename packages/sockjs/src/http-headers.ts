import type { ResolvedSockJsOptions } from "./options.js";
import type { HeaderList, RequestInfo } from "./http-io.js";

const YEAR_SECONDS = 31_536_000;

export const NO_CACHE: readonly [string, string] = ["Cache-Control", "no-store, no-cache, must-revalidate, max-age=0"];

/** Headers that make a response cacheable for a year (iframe page, OPTIONS answers). */
export function cacheForYear(): HeaderList {
  return [
    ["Cache-Control", `public, max-age=${YEAR_SECONDS}`],
    ["Expires", new Date(Date.now() + YEAR_SECONDS * 1000).toUTCString()],
  ];
}

/**
 * CORS headers for info and the session transports. The Origin is echoed (so
 * credentials, i.e. the JSESSIONID cookie, can flow); no Origin or the "null"
 * origin of file:// pages get "*", as the protocol requires.
 */
export function corsHeaders(req: RequestInfo): HeaderList {
  const origin = req.headers["origin"];
  const out: Array<[string, string]> = [
    ["Access-Control-Allow-Origin", origin && origin !== "null" ? origin : "*"],
    ["Access-Control-Allow-Credentials", "true"],
    ["Vary", "Origin"],
  ];
  const requested = req.headers["access-control-request-headers"];
  if (requested) out.push(["Access-Control-Allow-Headers", requested]);
  return out;
}

/** The answer to a CORS preflight: cacheable, with the allowed methods. */
export function preflightHeaders(req: RequestInfo, methods: string): HeaderList {
  return [
    ...corsHeaders(req),
    ...cacheForYear(),
    ["Access-Control-Allow-Methods", methods],
    ["Access-Control-Max-Age", String(YEAR_SECONDS)],
  ];
}

function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * JSESSIONID for load balancers that stick on it: echo the client's value, or
 * set "dummy" (the protocol's choice; the value itself does not matter).
 */
export function sessionCookie(opts: ResolvedSockJsOptions, req: RequestInfo): HeaderList {
  if (!opts.cookieNeeded) return [];
  const existing = cookieValue(req.headers["cookie"], "JSESSIONID");
  const value = existing !== undefined && /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/.test(existing) ? existing : "dummy";
  return [["Set-Cookie", `JSESSIONID=${value || "dummy"}; path=/`]];
}

/**
 * Origin policy: "*" allows all; otherwise a request without Origin (not from a
 * browser page), from a listed origin, or from the same origin as its Host passes.
 */
export function originAllowed(opts: ResolvedSockJsOptions, req: RequestInfo): boolean {
  if (opts.allowedOrigins === "*") return true;
  const origin = req.headers["origin"];
  if (origin === undefined || origin === "") return true;
  const o = origin.toLowerCase();
  if (opts.allowedOrigins.includes(o)) return true;
  const host = req.headers["host"];
  if (host === undefined) return false;
  try {
    return new URL(o).host === host.toLowerCase();
  } catch {
    return false;
  }
}
