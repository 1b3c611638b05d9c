// Helpers of the deploy checks (tests only): what the code says, what the deploy files say.
export * from "./repo.js";
export * from "./code-facts.js";
export * from "./promql.js";
export * from "./dashboards.js";
export * from "./alert-rules.js";
export * from "./kustomize.js";
export * from "./tools.js";
export * from "./prometheus-server.js";
export * from "./haproxy-config.js";
export * from "./dockerfile.js";
