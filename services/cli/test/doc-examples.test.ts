// Every example a reader would paste, run exactly as written.
//
// README.md, services/*/README.md, packages/*/README.md and docs/*.md: each js, ts and sh
// block is marked `<!-- run: name -->` (run here; `EXAMPLES` below says how and what it
// must print) or `<!-- not run: reason -->`. The examples use the literal URLs a newcomer
// has after `npm start` (http://localhost:8080, ws://localhost:8080/ws), so they run
// against a real Herald listening on port 8080. To do that whatever else uses 8080 on
// this machine, the runs happen in a private network namespace (`unshare --user --net`:
// its own loopback, where 8080 and 6379 are free); where namespaces are not allowed and
// 8080 is free, they run directly. Settings an example needs (an API key, insecure login,
// Redis) must be named in the text next to it, and Herald is started with exactly those.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RedisServer, waitFor } from "@herald/testkit";
import { chromium, type Browser } from "playwright-core";
import { allDocBlocks, type DocBlock } from "./doc-blocks.js";
import { HeraldProcess } from "./herald-process.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);
const INSIDE = process.env["HERALD_DOC_EXAMPLES_INSIDE"] === "1";
const PORT = 8080;
const BASE = `http://localhost:${PORT}`;

interface Context {
  /** REDIS_URL of the Redis the examples that need one use (started on demand). */
  redisUrl(): Promise<string>;
  browser(): Promise<Browser>;
}

interface Run {
  stdout: string;
  stderr: string;
  status: number | null;
}

interface Example {
  /** sh: bash; node: a .mjs file in the repository (imports resolve from its node_modules);
   *  console: pasted into the browser console on the demo page; module: a browser module. */
  how: "sh" | "node" | "console" | "module";
  /**
   * Herald's settings for it (default: none, as `npm start`). The text next to the block
   * must name each: `NAME=value`, or `NAME` for a value only known when the test runs.
   */
  settings?: Record<string, string | ((ctx: Context) => Promise<string>)>;
  /** Environment of the example's own process (sh, node). */
  env?: (ctx: Context) => Promise<Record<string, string>>;
  /** Runs the block (with `run`) and checks what it did. */
  check(run: () => Promise<Run>, ctx: Context, block: DocBlock): Promise<void>;
}

const ok = (r: Run) => assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
const ids = (s: string) => [...s.matchAll(/"id":"([^"]+)"/g)].map((m) => m[1]!);

async function postJson(body: object, headers: Record<string, string> = {}): Promise<void> {
  const r = await fetch(`${BASE}/v1/notifications`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  assert.equal(r.status, 202, await r.text());
}

const EXAMPLES: Record<string, Example> = {
  "node-client": {
    how: "node",
    async check(run) {
      const r = await run();
      ok(r);
      assert.match(r.stdout, /^received: Hello, WebSocket!$/m);
    },
  },
  "curl-publish": {
    how: "sh",
    async check(run) {
      const r = await run();
      ok(r);
      assert.equal(ids(r.stdout).length, 2, r.stdout);
      assert.doesNotMatch(r.stdout, /"error"/);
    },
  },
  "recovery-client": {
    how: "module",
    settings: { HERALD_INSECURE_LOGIN_AS_USER: "true" },
    async check(_run, ctx, block) {
      // What alice missed while no page was open, then (the page closed, its position kept
      // in localStorage) only what came after: exactly once across runs.
      const page = await modulePage(ctx, block.text);
      for (const body of ["a0", "a1", "a2"]) await postJson({ user: "alice", destination: "/queue/notifications", body });
      assert.deepEqual(await page.run(3), ["a0", "a1", "a2"]);
      for (const body of ["b0", "b1"]) await postJson({ user: "alice", destination: "/queue/notifications", body });
      assert.deepEqual(await page.run(2), ["b0", "b1"], "the second run resumes after the stored position");
      await page.close();
    },
  },
  "sockjs-snippet": {
    how: "console",
    async check(_run, ctx, block) {
      const browser = await ctx.browser();
      const page = await browser.newPage();
      const logged: string[] = [];
      page.on("console", (m) => logged.push(m.text()));
      try {
        await page.goto(`${BASE}/`);
        await page.addScriptTag({ content: block.text }); // as pasted into the console: a classic script, global scope
        await waitFor(() => logged.includes("Hello, WebSocket!"), { timeoutMs: 10_000, what: `"Hello, WebSocket!" in the console (got ${JSON.stringify(logged)})` });
      } finally {
        await page.close();
      }
    },
  },
  "queue-add-job": {
    how: "node",
    settings: { REDIS_URL: (ctx) => ctx.redisUrl() },
    env: async (ctx) => ({ REDIS_URL: await ctx.redisUrl() }),
    async check(run) {
      const r = await run();
      ok(r);
      const id = r.stdout.trim();
      assert.match(id, /^\S+$/, "the example prints the job id");
      // Herald's worker takes the job from BullMQ and delivers it.
      await waitFor(
        async () => {
          const s = await fetch(`${BASE}/v1/notifications/${encodeURIComponent(id)}`);
          return s.status === 200 && ((await s.json()) as { state: string }).state === "delivered";
        },
        { timeoutMs: 15_000, what: `job ${id} delivered` },
      );
    },
  },
  "api-topic": { how: "sh", check: expectIds(1) },
  "api-user-idempotent": {
    how: "sh",
    async check(run) {
      const [first, again] = [await run(), await run()];
      ok(first);
      ok(again);
      assert.equal(ids(first.stdout).length, 1, first.stdout);
      assert.deepEqual(ids(again.stdout), ids(first.stdout), "sent again, the same key answers the first id");
    },
  },
  "api-batch": {
    how: "sh",
    async check(run) {
      const r = await run();
      ok(r);
      assert.match(r.stdout, /^\{"results":\[\{"id":"[^"]+"\},\{"id":"[^"]+"\}\]\}$/m);
    },
  },
  "api-state": {
    how: "sh",
    async check(run) {
      const r = await run();
      ok(r);
      assert.match(r.stdout, /"state":"(delivered|queued)"/);
    },
  },
  "api-bad-request": {
    how: "sh",
    async check(run) {
      const r = await run();
      ok(r);
      const body = JSON.parse(r.stdout) as { error: string; field: string };
      assert.equal(body.field, "destination");
      assert.equal(typeof body.error, "string");
    },
  },
  "api-openapi": {
    how: "sh",
    async check(run) {
      const r = await run();
      ok(r);
      assert.match((JSON.parse(r.stdout) as { openapi: string }).openapi, /^3\.1/);
    },
  },
  "api-with-key": { how: "sh", settings: { HERALD_API_KEYS: "backend-key-1" }, check: expectIds(1) },
  "compose-publish": { how: "sh", settings: { HERALD_API_KEYS: "dev-key-change-me" }, check: expectIds(1) },
};

/** What the text next to an example must name: `NAME=value`, or `NAME` for a value known only at run time. */
function mentions(e: Example): string[] {
  return Object.entries(e.settings ?? {}).map(([k, v]) => (typeof v === "string" ? `${k}=${v}` : k));
}

/** Examples that share these settings share one Herald. */
function groupKey(e: Example): string {
  return mentions(e).sort().join(" ");
}

async function resolveSettings(e: Example, ctx: Context): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.settings ?? {})) out[k] = typeof v === "string" ? v : await v(ctx);
  return out;
}

function expectIds(n: number): Example["check"] {
  return async (run) => {
    const r = await run();
    ok(r);
    assert.equal(ids(r.stdout).length, n, r.stdout);
    assert.doesNotMatch(r.stdout, /"error"/);
  };
}

const blocks = allDocBlocks(root);
const runBlocks = blocks.filter((b): b is DocBlock & { mark: { kind: "run"; name: string } } => b.mark?.kind === "run");

if (!INSIDE) {
  test("every js, ts and sh block of the docs is marked run or not run (with a reason)", () => {
    const unmarked = blocks.filter((b) => b.mark === undefined).map((b) => `${b.file}:${b.line} (${b.lang})`);
    assert.deepEqual(unmarked, [], "mark each block <!-- run: name --> (and add it to EXAMPLES) or <!-- not run: why -->");
    const noReason = blocks.filter((b) => b.mark?.kind === "not run" && b.mark.reason.length < 8).map((b) => `${b.file}:${b.line}`);
    assert.deepEqual(noReason, [], "a not-run mark says why");
    const unknown = runBlocks.filter((b) => !(b.mark.name in EXAMPLES)).map((b) => `${b.file}:${b.line} ${b.mark.name}`);
    assert.deepEqual(unknown, [], "EXAMPLES has no entry for these");
    const unused = Object.keys(EXAMPLES).filter((n) => !runBlocks.some((b) => b.mark.name === n));
    assert.deepEqual(unused, [], "EXAMPLES entries no document uses");
    assert.ok(runBlocks.length >= 14, `only ${runBlocks.length} blocks run`);
  });

  test("an example that needs a setting says so next to it", () => {
    for (const b of runBlocks) {
      for (const m of mentions(EXAMPLES[b.mark.name]!)) assert.ok(b.prose.includes(m), `${b.file}:${b.line} (${b.mark.name}) needs ${m}: say so in the text before it`);
    }
  });

  test("the runnable examples use the URLs of `npm start`, not variables a reader never set", () => {
    for (const b of runBlocks) {
      assert.doesNotMatch(b.text, /\$\{?HERALD_(HTTP|WS|URL)\b/, `${b.file}:${b.line}`);
      const key = /Idempotency-Key: ([^'"\s]+)/.exec(b.text)?.[1];
      if (key) assert.equal(runBlocks.filter((o) => o.text.includes(`Idempotency-Key: ${key}`)).length, 1, `${b.file}:${b.line}: Idempotency-Key ${key} is used by another example`);
    }
  });

  test("every run block runs as written against Herald on localhost:8080", { timeout: 600_000 }, async () => {
    // A test run of its own (NODE_TEST_CONTEXT would make it report to this runner instead).
    const { NODE_TEST_CONTEXT: _child, ...inherited } = process.env;
    const env = { ...inherited, HERALD_DOC_EXAMPLES_INSIDE: "1" };
    const args = [process.execPath, "--test", "--test-reporter=spec", THIS_FILE];
    let command: string[];
    if (spawnSync("unshare", ["--user", "--map-root-user", "--net", "--", "sh", "-c", "ip link set lo up"], { stdio: "ignore" }).status === 0) {
      command = ["unshare", "--user", "--map-root-user", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", ...args];
    } else if (await portFree(PORT)) {
      console.log("no network namespace here (unshare --user --net): running on this machine's port 8080, which is free");
      command = args;
    } else {
      assert.fail("port 8080 is in use and this machine cannot make a private network namespace (unshare --user --net, ip): free port 8080 or allow unprivileged user namespaces to run the docs' examples");
    }
    const { status, output } = await new Promise<{ status: number | null; output: string }>((resolve) => {
      const child = spawn(command[0]!, command.slice(1), { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      child.on("exit", (code) => resolve({ status: code, output }));
    });
    const summary = output.split("\n").filter((l) => /^\s*(✔|✖|ℹ (tests|pass|fail) )/.test(l));
    console.log(summary.join("\n"));
    assert.equal(status, 0, output);
    const passed = Number(/ℹ pass (\d+)/.exec(output)?.[1]);
    assert.equal(passed, runBlocks.length, `every run block ran:\n${output}`);
  });
} else {
  // --- inside the namespace: Herald on 8080 per group of settings, each example as written ---
  const scratch = join(root, "services/cli/dist/doc-examples");
  let redis: RedisServer | undefined;
  let browser: Browser | undefined;
  const ctx: Context = {
    async redisUrl() {
      // In the namespace 6379 is free, so the URL is the one the docs show.
      redis ??= await RedisServer.start(inPrivateNetwork() ? { port: 6379 } : {});
      return redis.url;
    },
    async browser() {
      browser ??= await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
      return browser;
    },
  };
  before(() => mkdirSync(scratch, { recursive: true }));
  after(async () => {
    await browser?.close();
    await redis?.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  // Examples grouped by the settings Herald needs, in document order within a group.
  const groups = new Map<string, typeof runBlocks>();
  for (const b of runBlocks) {
    const key = groupKey(EXAMPLES[b.mark.name]!);
    groups.set(key, [...(groups.get(key) ?? []), b]);
  }

  for (const [key, group] of groups) {
    describe(`Herald on localhost:8080, ${key === "" ? "as npm start runs it" : `with ${key}`}`, () => {
      let herald: HeraldProcess;
      before(async () => {
        const settings = await resolveSettings(EXAMPLES[group[0]!.mark.name]!, ctx);
        // As `npm start` runs it: every address, built-in rules, the default log format.
        herald = await HeraldProcess.start({ port: PORT, env: { HOST: "0.0.0.0", NODE_ENV: "", LOG_LEVEL: "warn", HERALD_ACL_FILE: "", HERALD_DRAIN_WINDOW_MS: "0", ...settings } });
      });
      after(() => herald?.stop());
      for (const b of group) {
        test(`${b.file}:${b.line} ${b.mark.name}`, { timeout: 60_000 }, async () => {
          const e = EXAMPLES[b.mark.name]!;
          const env = { ...process.env, ...((await e.env?.(ctx)) ?? {}) };
          await e.check(() => runBlock(b, e.how, env, scratch), ctx, b);
        });
      }
    });
  }
}

/** True inside `unshare --net` (set by the outer test through the command it runs). */
function inPrivateNetwork(): boolean {
  // A fresh network namespace has only the loopback interface.
  const dev = readFileSync("/proc/net/dev", "utf8").split("\n").slice(2).filter((l) => l.trim() !== "");
  return dev.length === 1 && dev[0]!.trim().startsWith("lo:");
}

function runBlock(b: DocBlock, how: Example["how"], env: NodeJS.ProcessEnv, scratch: string): Promise<Run> {
  let cmd: string;
  let args: string[];
  if (how === "sh") {
    cmd = "bash";
    args = ["-e", "-o", "pipefail", "-c", b.text];
  } else if (how === "node") {
    // In the repository, so that the example's imports resolve as in a project that installed them.
    const file = join(scratch, `${b.file.replace(/\W+/g, "_")}_${b.line}.mjs`);
    writeFileSync(file, b.text);
    cmd = process.execPath;
    args = [file];
  } else {
    throw new Error(`${how} examples run in the browser, not as a process`);
  }
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: scratch, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (status) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, status });
    });
  });
}

/**
 * A browser module as an app would ship it: the block verbatim as `<script type="module">`
 * (its bare import mapped to @stomp/stompjs's ES build), on a page that defines the app's own
 * `show` and `reloadFromBackend`. `run(n)` opens the page, waits for n notifications shown and
 * closes it; localStorage stays, as in a browser.
 */
async function modulePage(ctx: Context, code: string): Promise<{ run(n: number): Promise<string[]>; close(): Promise<void> }> {
  const stompDir = join(root, "node_modules/@stomp/stompjs");
  const page = `<!doctype html>
<script type="importmap">{ "imports": { "@stomp/stompjs": "/@stomp/stompjs/esm6/index.js" } }</script>
<script>
  window.shown = [];
  window.reloads = 0;
  function show(body) { window.shown.push(body); }
  function reloadFromBackend() { window.reloads++; }
</script>
<script type="module" src="/example.js"></script>`;
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const file = path.startsWith("/@stomp/stompjs/") ? join(stompDir, path.slice("/@stomp/stompjs/".length)) : undefined;
    if (path === "/") res.writeHead(200, { "content-type": "text/html" }).end(page);
    else if (path === "/example.js") res.writeHead(200, { "content-type": "text/javascript" }).end(code);
    else if (file && file.startsWith(stompDir) && existsSync(file)) res.writeHead(200, { "content-type": extname(file) === ".js" ? "text/javascript" : "application/octet-stream" }).end(readFileSync(file));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const context = await (await ctx.browser()).newContext();
  return {
    async run(n) {
      const p = await context.newPage();
      const errors: string[] = [];
      p.on("pageerror", (e) => errors.push(e.message));
      await p.goto(`http://127.0.0.1:${port}/`);
      await p.waitForFunction((k) => (globalThis as unknown as { shown: string[] }).shown.length >= k, n, { timeout: 10_000 });
      // Give a duplicate every chance to arrive before counting.
      await new Promise((r) => setTimeout(r, 300));
      const shown = await p.evaluate(() => (globalThis as unknown as { shown: string[] }).shown);
      const reloads = await p.evaluate(() => (globalThis as unknown as { reloads: number }).reloads);
      await p.close();
      assert.deepEqual(errors, []);
      assert.equal(reloads, 0, "nothing was missing");
      return shown;
    },
    async close() {
      await context.close();
      server.close();
    },
  };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createTcpServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, () => srv.close(() => resolve(true)));
  });
}
