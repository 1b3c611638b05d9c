import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { existsSync } from "node:fs";
import type * as UwsTypes from "uWebSockets.js";

export type Uws = typeof UwsTypes;
export type { TemplatedApp, WebSocket, HttpRequest, HttpResponse, us_listen_socket, us_socket_context_t, WebSocketBehavior } from "uWebSockets.js";

const require = createRequire(import.meta.url);

export class UwsUnavailableError extends Error {
  override readonly name = "UwsUnavailableError";
}

/** The platforms the pinned uWebSockets.js build ships native binaries for. */
export const SUPPORTED =
  "Node.js 20 (ABI 115; also 16 and 18) on linux x64/arm64/arm, darwin x64/arm64 or win32 x64";

let cached: Uws | undefined;

/**
 * Loads the native uWebSockets.js binary directly. The package's own entry point
 * silently falls back to a slow JavaScript implementation when the binary does not
 * load; Herald refuses to run on it, so it never goes through that entry point.
 */
export function loadUws(): Uws {
  if (cached) return cached;
  const pkgDir = dirname(require.resolve("uWebSockets.js/package.json"));
  const file = join(pkgDir, "binaries", `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  if (!existsSync(file)) {
    throw new UwsUnavailableError(
      `uWebSockets.js has no native binary for this runtime (Node ${process.version}, ${process.platform}/${process.arch}, ABI ${process.versions.modules}). ` +
        `Herald runs only on the native build: use ${SUPPORTED}. It never runs on the slow JavaScript fallback.`,
    );
  }
  try {
    cached = require(file) as Uws;
  } catch (err) {
    throw new UwsUnavailableError(
      `uWebSockets.js native binary failed to load (${(err as Error).message}). Herald runs only on the native build: use ${SUPPORTED}.`,
    );
  }
  return cached;
}
