import type { DestinationStream } from "pino";

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: "TRACE", color: "\x1b[90m" },
  20: { name: "DEBUG", color: "\x1b[36m" },
  30: { name: "INFO ", color: "\x1b[32m" },
  40: { name: "WARN ", color: "\x1b[33m" },
  50: { name: "ERROR", color: "\x1b[31m" },
  60: { name: "FATAL", color: "\x1b[35m" },
};
const RESET = "\x1b[0m";
const DIM = "\x1b[2m";
/** Fields every record has, or that the line shows in its own place. */
const SHOWN = new Set(["level", "time", "pid", "hostname", "name", "msg"]);

/**
 * pino's JSON records as one readable line each, for a person at a terminal:
 * `12:04:05 INFO  herald listening host=0.0.0.0 port=8080 roles=["edge","api","worker"]`.
 * A line that is not a pino record is written as it came.
 */
export function textLogDestination(out: { write(s: string): unknown }, opts: { color: boolean }): DestinationStream {
  return {
    write(line: string): void {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      out.write(`${formatRecord(rec, opts.color)}\n`);
    },
  };
}

export function formatRecord(rec: Record<string, unknown>, color: boolean): string {
  const level = LEVELS[Number(rec["level"])] ?? { name: String(rec["level"]).padEnd(5), color: "" };
  const time = typeof rec["time"] === "number" ? new Date(rec["time"]).toTimeString().slice(0, 8) : "";
  const fields: string[] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (SHOWN.has(k)) continue;
    const value = typeof v === "string" ? (/[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v) : k === "err" && isError(v) ? JSON.stringify(v.message) : JSON.stringify(v);
    fields.push(`${k}=${value}`);
  }
  const msg = typeof rec["msg"] === "string" ? rec["msg"] : "";
  const head = color ? `${DIM}${time}${RESET} ${level.color}${level.name}${RESET}` : `${time} ${level.name}`;
  const tail = fields.length === 0 ? "" : color ? ` ${DIM}${fields.join(" ")}${RESET}` : ` ${fields.join(" ")}`;
  const stack = isError(rec["err"]) && typeof rec["err"].stack === "string" && Number(rec["level"]) >= 50 ? `\n${rec["err"].stack}` : "";
  return `${head} ${msg}${tail}${stack}`;
}

function isError(v: unknown): v is { message: string; stack?: string } {
  return typeof v === "object" && v !== null && typeof (v as { message?: unknown }).message === "string";
}
