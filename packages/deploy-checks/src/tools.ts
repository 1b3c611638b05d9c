import { spawnSync } from "node:child_process";

/** Absolute path of an installed program, or undefined. */
export function findTool(name: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  const path = r.stdout.trim();
  return r.status === 0 && path !== "" ? path : undefined;
}

/** Like findTool, but a missing program is a test failure that says how to install it. */
export function requireTool(name: string, debianPackage: string): string {
  const path = findTool(name);
  if (!path) {
    throw new Error(`${name} is not installed: these checks need it. Install Debian's package: apt-get install -y ${debianPackage} (scripts/ensure-test-deps.sh does this in CI)`);
  }
  return path;
}

export interface ToolResult {
  readonly status: number | null;
  readonly output: string;
}

/** Runs a program to completion (bounded in time) and returns its exit status and combined output. */
export function runTool(path: string, args: readonly string[], opts: { cwd?: string; timeoutMs?: number } = {}): ToolResult {
  const r = spawnSync(path, args, { encoding: "utf8", cwd: opts.cwd, timeout: opts.timeoutMs ?? 30_000 });
  if (r.error) throw new Error(`${path} ${args.join(" ")}: ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
