export * from "./load-uws.js";
export { ServerApp } from "./server/server-app.js";
export { tlsConfigFromEnv, readTlsFiles, type TlsConfig } from "./server/tls-config.js";
