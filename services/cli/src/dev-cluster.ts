#!/usr/bin/env node
/**
 * `npm run cluster`: a local multi-node Herald on one machine, as production runs it
 * with REDIS_URL set: N edge processes on consecutive ports plus one api+worker process,
 * all sharing one Redis. Each line of output is prefixed with the node's name. Ctrl-C or
 * SIGTERM stops every node (a second signal kills them at once).
 *
 *   npm run cluster -- --edges 3 --port 8080 [--redis-url redis://127.0.0.1:6379]
 *
 * Killing one edge by hand (its pid is printed) shows the point of the design: its clients
 * reconnect to another edge, the other nodes keep running.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseRedisUrl, redact } from "@herald/redis";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));
const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
const USAGE = `usage: npm run cluster -- [--edges N] [--port P] [--host H] [--redis-url URL]

  --edges N        edge processes (HERALD_ROLES=edge) on ports P, P+1, …, P+N-1   (default 3)
  --port P         first port                                                       (default 8080)
  --host H         address every node listens on                                    (default 127.0.0.1)
  --redis-url URL  Redis for the bus, history and queue (default $REDIS_URL or ${DEFAULT_REDIS_URL})

One more process with HERALD_ROLES=api,worker listens on port P+N.
Other environment variables (LOG_LEVEL, HERALD_* …) are passed to every node.`;

export interface ClusterPlan {
  readonly host: string;
  readonly redisUrl: string;
  readonly nodes: ReadonlyArray<{ name: string; roles: string; port: number }>;
}

/** The command line → which nodes to start where. Throws an Error naming the bad option. */
export function planCluster(argv: readonly string[], env: NodeJS.ProcessEnv): ClusterPlan {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      edges: { type: "string", default: "3" },
      port: { type: "string", default: "8080" },
      host: { type: "string", default: "127.0.0.1" },
      "redis-url": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new HelpRequested();
  const edges = integer("--edges", values.edges, 1, 64);
  const port = integer("--port", values.port, 1, 65535);
  if (port + edges > 65535) throw new Error(`--port ${port} with --edges ${edges} needs ports up to ${port + edges}, past 65535`);
  const redisUrl = values["redis-url"] ?? (env.REDIS_URL || DEFAULT_REDIS_URL);
  parseRedisUrl(redisUrl); // fail here, once, rather than in every node
  const nodes = Array.from({ length: edges }, (_, i) => ({ name: `edge-${i + 1}`, roles: "edge", port: port + i }));
  nodes.push({ name: "api-worker", roles: "api,worker", port: port + edges });
  return { host: values.host, redisUrl, nodes };
}

export class HelpRequested extends Error {}

function integer(option: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new Error(`${option} must be a whole number, got "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw new Error(`${option} must be between ${min} and ${max}, got ${n}`);
  return n;
}

const COLORS = [36, 33, 35, 32, 34, 91, 96, 93];

/** Copies a child's stream to ours line by line, each line prefixed with the node's name. */
function prefixLines(stream: NodeJS.ReadableStream, out: NodeJS.WritableStream, prefix: string): void {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    if (lines.length) out.write(lines.map((l) => `${prefix} ${l}\n`).join(""));
  });
  stream.on("end", () => {
    if (pending) out.write(`${prefix} ${pending}\n`);
    pending = "";
  });
}

async function run(): Promise<number> {
  let plan: ClusterPlan;
  try {
    plan = planCluster(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpRequested) {
      console.log(USAGE);
      return 0;
    }
    console.error(`dev-cluster: ${(err as Error).message}\n\n${USAGE}`);
    return 64;
  }

  const color = process.stdout.isTTY === true;
  const width = Math.max(...plan.nodes.map((n) => n.name.length));
  const say = (line: string) => process.stdout.write(`${"[cluster]".padEnd(width + 2)} ${line}\n`);
  say(`starting ${plan.nodes.length} nodes against ${redact(plan.redisUrl)}`);

  const children = new Map<string, ChildProcess>();
  let firstFailure = 0;
  let stopping = false;

  const exited = plan.nodes.map(
    (node, i) =>
      new Promise<void>((resolve) => {
        const child = spawn(process.execPath, [MAIN], {
          env: {
            // Readable logs and a short drain by default; anything set by the caller wins.
            NODE_ENV: "development",
            HERALD_DRAIN_WINDOW_MS: "2000",
            ...process.env,
            HERALD_ROLES: node.roles,
            HERALD_NODE_ID: node.name,
            HOST: plan.host,
            PORT: String(node.port),
            REDIS_URL: plan.redisUrl,
          },
          stdio: ["ignore", "pipe", "pipe"],
          // Own process group: a terminal's Ctrl-C reaches only us, and we send each node one
          // SIGTERM (a node treats a second signal as "skip the drain").
          detached: true,
        });
        children.set(node.name, child);
        const label = `[${node.name}]`.padEnd(width + 2);
        const prefix = color ? `\x1b[${COLORS[i % COLORS.length]}m${label}\x1b[0m` : label;
        prefixLines(child.stdout!, process.stdout, prefix);
        prefixLines(child.stderr!, process.stderr, prefix);
        say(`${node.name} (pid ${child.pid}, ${node.roles}) on http://${plan.host}:${node.port}${node.roles === "edge" ? `  ws://${plan.host}:${node.port}/ws` : ""}`);
        child.on("error", (err) => {
          say(`${node.name} could not start: ${err.message}`);
          firstFailure ||= 1;
          children.delete(node.name);
          resolve();
        });
        child.on("exit", (code, signal) => {
          children.delete(node.name);
          if (!stopping) {
            // Keep the others running: losing a node is something a cluster is meant to survive.
            say(`${node.name} exited (${signal ?? `code ${code}`}); ${children.size} node(s) still running`);
            if (code !== 0) firstFailure ||= code ?? 1;
          }
          resolve();
        });
      }),
  );

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      say(`${signal} again: killing ${children.size} node(s)`);
      for (const child of children.values()) child.kill("SIGKILL");
      return;
    }
    stopping = true;
    say(`${signal}: stopping ${children.size} node(s)`);
    for (const child of children.values()) child.kill("SIGTERM");
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  await Promise.all(exited);
  say(stopping ? "all nodes stopped" : "every node has exited");
  return stopping ? 0 : firstFailure || 1;
}

// Run only as the entry point, so planCluster can be imported by a test.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`dev-cluster: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
}
