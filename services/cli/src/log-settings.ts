import { readEnum, readString, type Env } from "@herald/config";
import type { LogFormat, LoggerSettings } from "@herald/observability";

const FORMATS: readonly LogFormat[] = ["json", "text", "pretty"];

/**
 * LOG_LEVEL and LOG_FORMAT. Without LOG_FORMAT: readable lines when stdout is a terminal
 * (someone ran `npm start`), pino-pretty with NODE_ENV=development, and JSON otherwise:
 * always with NODE_ENV=production, and whenever the output goes to a pipe or a file.
 */
export function logSettingsFromEnv(env: Env, terminal: boolean): LoggerSettings {
  const nodeEnv = readString(env, "NODE_ENV");
  const fallback: LogFormat = nodeEnv === "development" ? "pretty" : terminal && nodeEnv !== "production" ? "text" : "json";
  return { level: readString(env, "LOG_LEVEL", "info"), format: readEnum(env, "LOG_FORMAT", FORMATS, fallback) };
}

/** The start banner (URLs to open) is for a person at a terminal, not for production logs. */
export function showsBanner(env: Env, terminal: boolean): boolean {
  return terminal && readString(env, "NODE_ENV") !== "production";
}
