import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDir {
  readonly dir: string;
  /** Writes `content` to `name` inside the directory and returns its path. */
  file(name: string, content: string | Buffer): string;
  dispose(): void;
}

/** A temporary directory for a test's files (keys, certificates, rules), removed by dispose(). */
export function tempDir(prefix = "herald-test-"): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file(name, content) {
      const p = join(dir, name);
      writeFileSync(p, content);
      return p;
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
