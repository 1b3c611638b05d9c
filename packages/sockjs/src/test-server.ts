#!/usr/bin/env node
// The SockJS conformance server: `npm run sockjs:test-server -- --port 8081`,
// then point sockjs-protocol's suite at it (SOCKJS_URL=http://localhost:8081).
import { startConformanceServer } from "./conformance-server.js";

function usage(message: string): never {
  console.error(`${message}\nusage: sockjs-test-server [--port 8081] [--host 127.0.0.1] [--sockjs-url URL]`);
  process.exit(2);
}

const args = process.argv.slice(2);
let port = 8081;
let host = "127.0.0.1";
let sockjsUrl: string | undefined;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const v = args[i + 1];
  if (a === "--port") {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) > 65535) usage(`--port needs a number 0-65535, got ${JSON.stringify(v)}`);
    port = Number(v);
    i++;
  } else if (a === "--host") {
    if (!v) usage("--host needs a value");
    host = v;
    i++;
  } else if (a === "--sockjs-url") {
    if (!v) usage("--sockjs-url needs a value");
    sockjsUrl = v;
    i++;
  } else {
    usage(`unknown argument ${JSON.stringify(a)}`);
  }
}

const server = await startConformanceServer({ port, host, ...(sockjsUrl !== undefined ? { sockjsUrl } : {}) });
console.log(`SockJS conformance server on http://${host}:${server.port} (/echo, /close, /disabled_websocket_echo, /cookie_needed_echo)`);
const stop = (): void => {
  server.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
