export * from "./ports.js";
export * from "./redis-server.js";
export * from "./herald-process.js";
export * from "./stomp-client.js";
export * from "./raw-stomp.js";
export * from "./redis-sentinel.js";
export * from "./redis-cluster.js";
export * from "./temp-dir.js";
