import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ROUTES, openApiPath } from "../src/index.js";
import { startApi, type ApiHarness } from "./harness.js";

let h: ApiHarness;
let doc: { openapi: string; paths: Record<string, Record<string, unknown>> };
before(async () => {
  h = await startApi();
  const r = await fetch(`${h.url}/v1/openapi.json`);
  assert.equal(r.status, 200);
  doc = (await r.json()) as typeof doc;
});
after(() => h.close());

const METHODS = ["get", "post", "put", "patch", "delete"];

test("the document is OpenAPI 3.1 with the API's schemas", () => {
  assert.equal(doc.openapi, "3.1.0");
  assert.ok(Object.keys(doc.paths).length > 0);
});

test("every documented operation answers something other than 404 or 405", async () => {
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops).filter((m) => METHODS.includes(m))) {
      const url = h.url + path.replace(/\{[^}]+\}/g, "example");
      const r = await fetch(url, { method: method.toUpperCase(), ...(method === "post" ? { headers: { "content-type": "application/json" }, body: "{}" } : {}) });
      assert.notEqual(r.status, 405, `${method} ${path} → 405`);
      if (r.status === 404) {
        // The route exists; only the made-up id is unknown (a missing route says field null).
        assert.ok(path.includes("{"), `${method} ${path} → 404`);
        assert.equal(((await r.json()) as { field: unknown }).field, "id", `${method} ${path} → 404 for the route, not the id`);
      }
    }
  }
});

test("every route the API serves is documented, and nothing else is", () => {
  const served = ROUTES.map((r) => `${r.method} ${openApiPath(r.pattern)}`).sort();
  const documented = Object.entries(doc.paths)
    .flatMap(([p, ops]) => Object.keys(ops).filter((m) => METHODS.includes(m)).map((m) => `${m} ${p}`))
    .sort();
  assert.deepEqual(documented, served);
});

test("the router mounted every route of the table (other methods on it get 405, not 404)", async () => {
  for (const r of ROUTES) {
    const other = r.method === "get" ? "DELETE" : "PUT";
    const res = await fetch(h.url + r.pattern.replace(/:[a-z]+/g, "x"), { method: other });
    assert.equal(res.status, 405, `${other} ${r.pattern}`);
  }
});
