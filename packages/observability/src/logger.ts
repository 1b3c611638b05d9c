import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { textLogDestination } from "./text-log.js";

export type { Logger } from "pino";

/**
 * How log records are written: `json`, one JSON object per line (production, log
 * shippers); `text`, one readable line per record (a person at a terminal); `pretty`,
 * pino-pretty's colourful blocks (a development dependency: only where it is installed).
 */
export type LogFormat = "json" | "text" | "pretty";

export interface LoggerSettings {
  name?: string;
  /** pino level; default "info". */
  level?: string;
  /** Default "json". */
  format?: LogFormat;
  /** Where `text` lines go (default stdout); colours when it is a terminal. */
  output?: NodeJS.WriteStream;
}

/** The process logger. The composition root picks level and format (from LOG_LEVEL, LOG_FORMAT, NODE_ENV). */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const opts: LoggerOptions = {
    name: settings.name ?? "herald",
    level: settings.level ?? "info",
    base: { pid: process.pid },
  };
  switch (settings.format ?? "json") {
    case "pretty":
      return pino({ ...opts, transport: { target: "pino-pretty", options: { colorize: true } } });
    case "text": {
      const out = settings.output ?? process.stdout;
      const destination: DestinationStream = textLogDestination(out, { color: out.isTTY === true });
      return pino(opts, destination);
    }
    case "json":
      return pino(opts);
  }
}
