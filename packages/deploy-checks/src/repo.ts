import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, parse } from "yaml";

/** The repository root (this file is packages/deploy-checks/dist/src/repo.js once built). */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}

export function readRepoFile(path: string): string {
  const full = repoPath(path);
  if (!existsSync(full)) throw new Error(`${path} does not exist in the repository`);
  return readFileSync(full, "utf8");
}

/** Every YAML document of a file (empty documents dropped); a YAML error names the file. */
export function readYamlDocuments(fullPath: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(fullPath, "utf8"), { merge: true });
  const out: unknown[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`${relative(REPO_ROOT, fullPath)}: ${d.errors[0]!.message}`);
    const v: unknown = d.toJS({ maxAliasCount: 100 });
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

/** One YAML document, with `<<` merge keys resolved (docker compose uses them). */
export function readYaml(path: string): unknown {
  return parse(readRepoFile(path), { merge: true });
}

/** Non-test TypeScript sources of every library and service: what the running code is made of. */
export function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
    }
  };
  for (const top of ["packages", "services"]) {
    for (const project of readdirSync(repoPath(top))) {
      if (top === "packages" && (project === "deploy-checks" || project === "testkit")) continue;
      const src = repoPath(top, project, "src");
      if (existsSync(src)) walk(src);
    }
  }
  return out.sort();
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
