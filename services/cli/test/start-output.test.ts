// What a person sees after `npm start`: what it is doing while it compiles, then on a
// terminal readable log lines and the URLs to open; JSON lines when the output is not a
// terminal or NODE_ENV=production. A terminal is a real pseudo-terminal (util-linux
// `script`), not a flag.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort, waitFor } from "@herald/testkit";
import { HERALD_MAIN } from "./herald-process.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));

interface Run {
  child: ChildProcess;
  out: () => string;
  /** The pid of Herald itself (inside `script`, the shell's pid that `exec` hands to node). */
  pid: () => number;
  stop(): Promise<void>;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs `command` (argv) with `env` added, on a pseudo-terminal when `terminal`. */
function start(command: string[], env: Record<string, string>, terminal: boolean): Run {
  let out = "";
  const { LOG_FORMAT: _ignored, ...inherited } = process.env;
  const fullEnv: NodeJS.ProcessEnv = { ...inherited, NODE_ENV: "", LOG_LEVEL: "info", HOST: "127.0.0.1", ...env };
  const child = terminal
    ? spawn("script", ["-qfec", `echo "pid=$$"; exec ${command.map(shellQuote).join(" ")}`, "/dev/null"], { cwd: root, env: fullEnv, stdio: ["pipe", "pipe", "pipe"] })
    : spawn(command[0]!, command.slice(1), { cwd: root, env: fullEnv, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    out: () => out,
    pid: () => (terminal ? Number(/pid=(\d+)/.exec(out)?.[1]) : child.pid!),
    async stop() {
      const pid = this.pid();
      if (pid > 0) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // already gone
        }
      }
      await exited;
    },
  };
}

const ready = (run: Run, text: string | RegExp) =>
  waitFor(() => (typeof text === "string" ? run.out().includes(text) : text.test(run.out())), { timeoutMs: 60_000, what: `${String(text)} in:\n${run.out()}` });

test("on a terminal: readable log lines and the URLs to open", { timeout: 60_000 }, async () => {
  const port = await freePort();
  const run = start([process.execPath, HERALD_MAIN], { PORT: String(port), HOST: "0.0.0.0" }, true);
  try {
    await ready(run, "Ctrl-C stops it");
    const out = run.out();
    assert.match(out, /Herald is ready \(embedded default: edge, api and worker in this process, no Redis\)/);
    assert.ok(out.includes(`demo         http://localhost:${port}/\r\n`), out);
    assert.ok(out.includes(`STOMP        ws://localhost:${port}/ws`), out);
    assert.ok(out.includes(`publish API  http://localhost:${port}/v1/notifications`), out);
    assert.match(out, /\d\d:\d\d:\d\d.*INFO.* herald listening .*port=\d+/);
    assert.ok(!/^\{"level"/m.test(out), `no JSON lines on a terminal:\n${out}`);
  } finally {
    await run.stop();
  }
});

test("not on a terminal, or with NODE_ENV=production: JSON lines only, no banner", { timeout: 60_000 }, async () => {
  for (const [terminal, env] of [[false, {}], [true, { NODE_ENV: "production" }]] as const) {
    const port = await freePort();
    const run = start([process.execPath, HERALD_MAIN], { PORT: String(port), ...env }, terminal);
    try {
      await ready(run, /"msg":"herald listening"/);
      // Let a banner that would follow the listening line arrive before looking for it.
      await new Promise((r) => setTimeout(r, 300));
      const lines = run.out().split(/\r?\n/).filter((l) => l.trim() !== "" && !l.startsWith("pid="));
      for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `not JSON (terminal: ${terminal}): ${l}`);
      assert.ok(!run.out().includes("Herald is ready"));
    } finally {
      await run.stop();
    }
  }
});

test("LOG_FORMAT overrides the choice, and a wrong value names the variable", { timeout: 60_000 }, async () => {
  const port = await freePort();
  const json = start([process.execPath, HERALD_MAIN], { PORT: String(port), LOG_FORMAT: "json" }, true);
  try {
    await ready(json, /"msg":"herald listening"/);
  } finally {
    await json.stop();
  }
  const bad = start([process.execPath, HERALD_MAIN], { PORT: String(port), LOG_FORMAT: "yaml" }, false);
  const code = await new Promise<number | null>((resolve) => bad.child.once("exit", resolve));
  assert.equal(code, 78);
  assert.match(bad.out(), /LOG_FORMAT/);
});

test("npm start says it is compiling before tsc runs, then how long it took, then Herald starts", { timeout: 180_000 }, async () => {
  const port = await freePort();
  const run = start([process.execPath, `${root}scripts/start.mjs`], { PORT: String(port) }, false);
  try {
    // The first line comes at once, not after the build.
    await waitFor(() => run.out().length > 0, { timeoutMs: 5_000, what: "the first line of npm start" });
    assert.match(run.out(), /^herald: compiling the TypeScript sources \(tsc -b\)/);
    await ready(run, /"msg":"herald listening"/);
    assert.match(run.out(), /herald: compiled in \d+\.\d s; starting Herald/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
  } finally {
    await run.stop();
  }
});
