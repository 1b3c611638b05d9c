import { createHash, randomBytes } from "node:crypto";
import type { ResolvedSockJsOptions } from "./options.js";

/** The greeting at `{prefix}` and `{prefix}/`. */
export const GREETING = "Welcome to SockJS!\n";

/** `{prefix}/iframe*.html`: the page iframe-based transports load to talk same-origin. */
export function iframePage(sockjsUrl: string): { body: string; etag: string } {
  const body = `<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script>
    document.domain = document.domain;
    _sockjs_onload = function(){SockJS.bootstrap_iframe();};
  </script>
  <script src="${sockjsUrl}"></script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>`;
  return { body, etag: `"${createHash("md5").update(body).digest("hex")}"` };
}

export const IFRAME_PATH = /^\/iframe[0-9a-z.\-_]*\.html$/;

/** `{prefix}/info`: what the client needs to pick a transport. */
export function infoBody(opts: ResolvedSockJsOptions): string {
  return JSON.stringify({
    websocket: opts.websocket,
    origins: ["*:*"],
    cookie_needed: opts.cookieNeeded,
    // Browsers lack a good entropy source; the protocol has the server supply one.
    entropy: randomBytes(4).readUInt32LE(0),
  });
}
