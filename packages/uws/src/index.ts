export * from "./load-uws.js";
export { ServerApp } from "./server/server-app.js";
export { tlsConfigFromEnv, readTlsFiles, DEFAULT_TLS_CIPHERS, type TlsConfig } from "./server/tls-config.js";
export { listenerFromEnv, type Listener } from "./server/listener-config.js";
export { CompatFront, type CompatFrontOptions } from "./front/compat-front.js";
