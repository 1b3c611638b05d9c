import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

/**
 * JSON logs by default; readable lines in a terminal when NODE_ENV=development
 * (pino-pretty is a dev dependency and only loaded then).
 */
export function createLogger(options: { name?: string; level?: string } = {}): Logger {
  const opts: LoggerOptions = {
    name: options.name ?? "herald",
    level: options.level ?? process.env.LOG_LEVEL ?? "info",
    base: { pid: process.pid },
  };
  if (process.env.NODE_ENV === "development") {
    return pino({ ...opts, transport: { target: "pino-pretty", options: { colorize: true } } });
  }
  return pino(opts);
}
