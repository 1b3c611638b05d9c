import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TemplatedApp } from "@herald/uws";
import { serveStatic } from "./static-files.js";

const require = createRequire(import.meta.url);
const publicDir = fileURLToPath(new URL("../../../public/", import.meta.url));

/**
 * The demo at `/`: a small notification center (connection state and transport, a user
 * switch, live notifications with their history offsets, a form that POSTs to the publish
 * API, recovery after a drop) and a chat, written as Spring apps write their pages
 * (classic stompjs `Stomp.over` on `new SockJS("/ws")`), its scripts served by the
 * gateway itself rather than a CDN.
 */
export function mountDemo(app: TemplatedApp): void {
  serveStatic(app, [
    { route: "/", file: join(publicDir, "index.html"), contentType: "text/html; charset=utf-8" },
    { route: "/demo.js", file: join(publicDir, "demo.js"), contentType: "application/javascript; charset=utf-8" },
    { route: "/vendor/sockjs.min.js", file: packageFile("sockjs-client", "dist/sockjs.min.js"), contentType: "application/javascript" },
    { route: "/vendor/stomp.min.js", file: packageFile("stompjs", "lib/stomp.min.js"), contentType: "application/javascript" },
    // Kept for pages written against @stomp/stompjs over the raw WebSocket.
    { route: "/vendor/stomp.umd.min.js", file: packageFile("@stomp/stompjs", "bundles/stomp.umd.min.js"), contentType: "application/javascript" },
  ]);
}

/** A file inside an installed package, even when its "exports" hide package.json. */
export function packageFile(pkg: string, path: string): string {
  const main = require.resolve(pkg);
  const marker = `/node_modules/${pkg}/`;
  const at = main.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot locate the installed package ${pkg}`);
  return join(main.slice(0, at + marker.length), path);
}
