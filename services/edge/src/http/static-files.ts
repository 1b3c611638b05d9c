import { readFileSync } from "node:fs";
import type { TemplatedApp } from "@herald/uws";

export interface StaticFile {
  readonly route: string;
  readonly file: string;
  readonly contentType: string;
}

/** Serves a few files read once at start-up (the demo page and the client bundles it loads). */
export function serveStatic(app: TemplatedApp, files: readonly StaticFile[]): void {
  for (const f of files) {
    const body = readFileSync(f.file);
    app.get(f.route, (res) => {
      res.cork(() => {
        res.writeHeader("content-type", f.contentType).writeHeader("cache-control", "no-cache").end(body);
      });
    });
  }
}
