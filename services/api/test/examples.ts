import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface Example {
  name: string;
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  status: number;
}

export const EXAMPLES_FILE = fileURLToPath(new URL("../../examples.json", import.meta.url));
export const README_FILE = fileURLToPath(new URL("../../README.md", import.meta.url));

export function loadExamples(): Example[] {
  return JSON.parse(readFileSync(EXAMPLES_FILE, "utf8")) as Example[];
}

/** The curl command the README shows for an example ($HERALD_URL, $HERALD_API_KEY and $ID come from the shell). */
export function curlCommand(e: Example): string {
  const parts = [`curl -sS${e.method !== "GET" ? ` -X ${e.method}` : ""} "$HERALD_URL${e.path}"`, `-H "Authorization: Bearer $HERALD_API_KEY"`];
  for (const [k, v] of Object.entries(e.headers ?? {})) parts.push(`-H '${k}: ${v}'`);
  if (e.body !== undefined) parts.push(`-d '${JSON.stringify(e.body)}'`);
  return parts.join(" \\\n  ");
}
