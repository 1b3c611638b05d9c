#!/usr/bin/env node
// `npm start`: compile what changed (tsc -b), saying so, then run Herald in this process.
// The first build of a fresh clone takes 20 s on a quiet machine (minutes on a busy one)
// and tsc prints nothing while it works, so this does. Messages go to stderr: stdout
// carries Herald's logs (JSON lines when it is not a terminal).
import { spawn } from "node:child_process";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const say = (text) => process.stderr.write(`herald: ${text}\n`);
const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

say("compiling the TypeScript sources (tsc -b): the first build takes a while, later ones only what changed…");
const ticker = process.stderr.isTTY ? setInterval(() => say(`still compiling (${seconds()} s)…`), 10_000) : undefined;
const tsc = spawn(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-b"], { cwd: root, stdio: "inherit" });
tsc.on("exit", (code, signal) => {
  clearInterval(ticker);
  if (code !== 0) {
    say(`the build failed (${signal ?? `exit ${code}`}): see tsc's errors above`);
    process.exit(code ?? 1);
  }
  say(`compiled in ${seconds()} s; starting Herald (services/cli/dist/src/main.js)`);
  import(join(root, "services/cli/dist/src/main.js"));
});
