export type { SockJsConnection, SockJsHandler, SockJsServer, SockJsSessionListener, SockJsTransportName } from "./types.js";
export { type SockJsOptions, type ResolvedSockJsOptions, SockJsOptionsError, DEFAULT_SOCKJS_URL, resolveOptions } from "./options.js";
export { mountSockJs } from "./mount.js";
export { quoteMessage, closeFrame, decodeMessages, SockJsPayloadError } from "./frames.js";
export { startConformanceServer, echoHandler, closeHandler, type ConformanceServer, type ConformanceServerOptions } from "./conformance-server.js";
