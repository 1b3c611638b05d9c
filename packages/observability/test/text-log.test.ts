import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger, formatRecord } from "../src/index.js";

test("a record as one readable line: time, level, message, then the other fields", () => {
  const time = new Date(2026, 0, 2, 3, 4, 5).getTime();
  const line = formatRecord({ level: 30, time, pid: 1, name: "herald", msg: "herald listening", host: "0.0.0.0", port: 8080, roles: ["edge", "api"], bus: "in-process (embedded default)" }, false);
  assert.equal(line, '03:04:05 INFO  herald listening host=0.0.0.0 port=8080 roles=["edge","api"] bus="in-process (embedded default)"');
});

test("an error's stack follows the line at level error and above, its message only below", () => {
  const err = { type: "Error", message: "boom", stack: "Error: boom\n    at here" };
  assert.equal(formatRecord({ level: 50, time: 0, msg: "failed to start", err }, false).split("\n").slice(1).join("\n"), "Error: boom\n    at here");
  assert.match(formatRecord({ level: 40, time: 0, msg: "retrying", err }, false), /WARN  retrying err="boom"$/);
});

test("createLogger({ format: 'text' }) writes readable lines to its output, no JSON", () => {
  const written: string[] = [];
  const output = { write: (s: string) => (written.push(s), true), isTTY: false } as unknown as NodeJS.WriteStream;
  const logger = createLogger({ format: "text", output });
  logger.info({ port: 8080 }, "herald listening");
  assert.equal(written.length, 1);
  assert.match(written[0]!, /^\d\d:\d\d:\d\d INFO  herald listening port=8080\n$/);
});
