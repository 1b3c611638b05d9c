import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "./ports.js";
import { ping } from "./redis-server.js";

/** A real redis-sentinel (redis-server --sentinel) watching the master on `masterPort` as "mymaster". */
export class Sentinel {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(masterPort: number, masterName = "mymaster"): Promise<Sentinel> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "herald-sentinel-"));
    const conf = join(dir, "sentinel.conf");
    // Sentinel rewrites its config file, so it must be a writable file of its own.
    writeFileSync(conf, [`port ${port}`, "bind 127.0.0.1", `dir ${dir}`, `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`, ""].join("\n"));
    const child = spawn("redis-server", [conf, "--sentinel"], { stdio: "ignore" });
    const s = new Sentinel(port, child, dir);
    try {
      await waitFor(() => ping(port), { timeoutMs: 10_000, what: `sentinel on ${port}` });
    } catch (err) {
      await s.dispose();
      throw err;
    }
    return s;
  }

  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise<void>((resolve) => {
        this.child.once("exit", () => resolve());
        this.child.kill("SIGTERM");
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
