export * from "./load-uws.js";
