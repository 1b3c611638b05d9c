import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { startApi, post, get, tick, type ApiHarness } from "./harness.js";

let h: ApiHarness;
let N: string;
before(async () => {
  h = await startApi({ maxBodyBytes: 1024 });
  N = `${h.url}/v1/notifications`;
  for (const d of ["/topic/prices.AAPL", "/topic/x", "/user/alice/queue/notifications", "/queue/jobs"]) h.subscribe(d);
});
after(() => h.close());

/** Runs fn and asserts that nothing reached the queue's processor meanwhile. */
async function nothingEnqueued(fn: () => Promise<void>): Promise<void> {
  const before = h.processed();
  await fn();
  await tick();
  assert.equal(h.processed(), before, "the request enqueued something");
}

test("POST a topic notification: 202 with id and Location; delivered on the bus with body, type and headers", async () => {
  const r = await post(N, { destination: "/topic/prices.AAPL", body: { price: 189.5 }, headers: { "x-source": "pricing" } });
  assert.equal(r.status, 202);
  const id = r.json.id as string;
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(r.headers.get("location"), `/v1/notifications/${id}`);
  await tick();
  const m = h.delivered.find((d) => d.id === id)!;
  assert.equal(m.destination, "/topic/prices.AAPL");
  assert.equal(Buffer.from(m.body).toString(), '{"price":189.5}');
  assert.equal(m.contentType, "application/json");
  assert.deepEqual(m.headers, { "x-source": "pricing" });
  const s = await get(`${N}/${id}`);
  assert.equal(s.status, 200);
  assert.deepEqual(s.json, { id, state: "delivered", attempts: 1 });
});

test("POST a user notification goes to that user's bus destination; string bodies are text/plain, contentType overrides", async () => {
  const r = await post(N, { user: "alice", destination: "/queue/notifications", body: "hello" });
  assert.equal(r.status, 202);
  const r2 = await post(N, { destination: "/queue/jobs", body: "<b>x</b>", contentType: "text/html" });
  assert.equal(r2.status, 202);
  await tick();
  const m = h.delivered.find((d) => d.id === r.json.id)!;
  assert.equal(m.destination, "/user/alice/queue/notifications");
  assert.equal(Buffer.from(m.body).toString(), "hello");
  assert.equal(m.contentType, "text/plain");
  assert.equal(h.delivered.find((d) => d.id === r2.json.id)!.contentType, "text/html");
});

test("Idempotency-Key: the same id, a replay header, delivered once", async () => {
  const body = { destination: "/topic/x", body: "once" };
  const a = await post(N, body, { "idempotency-key": "order-42-shipped" });
  const b = await post(N, body, { "idempotency-key": "order-42-shipped" });
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  assert.equal(b.json.id, a.json.id);
  assert.equal(a.headers.get("idempotent-replayed"), null);
  assert.equal(b.headers.get("idempotent-replayed"), "true");
  await tick();
  assert.equal(h.delivered.filter((d) => d.id === a.json.id).length, 1);
  const c = await post(N, { ...body, idempotencyKey: "other" }, { "idempotency-key": "order-42-shipped" });
  assert.equal(c.status, 400);
  assert.equal(c.json.field, "idempotencyKey");
});

test("batch: all valid → 202 with ids in order, enqueued once each", async () => {
  const r = await post(`${N}/batch`, { notifications: [{ destination: "/topic/x", body: "1" }, { user: "alice", destination: "/queue/notifications", body: { n: 2 } }] });
  assert.equal(r.status, 202);
  const results = r.json.results as Array<{ id: string }>;
  assert.equal(results.length, 2);
  await tick();
  assert.equal(Buffer.from(h.delivered.find((d) => d.id === results[0]!.id)!.body).toString(), "1");
  assert.equal(h.delivered.find((d) => d.id === results[1]!.id)!.destination, "/user/alice/queue/notifications");
});

test("batch: some invalid → 207, each rejected item names its field; duplicates say replayed, a reused key with another notification is rejected", async () => {
  const r = await post(`${N}/batch`, {
    notifications: [
      { destination: "/topic/x", body: "ok", idempotencyKey: "b1" },
      { destination: "/app/x", body: "no" },
      { destination: "/topic/x", body: "ok", idempotencyKey: "b1" },
      { destination: "/topic/x", body: "x", headers: { "message-id": "forged" } },
      { destination: "/topic/x", body: "not ok", idempotencyKey: "b1" },
    ],
  });
  assert.equal(r.status, 207);
  const results = r.json.results as Array<Record<string, unknown>>;
  assert.ok(typeof results[0]!.id === "string");
  assert.equal(results[1]!.field, "notifications[1].destination");
  assert.deepEqual(results[2], { id: results[0]!.id, replayed: true });
  assert.equal(results[3]!.field, "notifications[3].headers.message-id");
  assert.equal(results[4]!.field, "notifications[4].idempotencyKey");
});

test("batch: every item invalid → 400 with results; empty, missing, over the limit and unknown fields refused", async () => {
  await nothingEnqueued(async () => {
    const all = await post(`${N}/batch`, { notifications: [{ destination: "nope", body: "" }, { body: "" }] });
    assert.equal(all.status, 400);
    assert.equal(all.json.field, "notifications");
    assert.equal((all.json.results as unknown[]).length, 2);
    assert.equal((await post(`${N}/batch`, { notifications: [] })).json.field, "notifications");
    assert.equal((await post(`${N}/batch`, {})).status, 400);
    const extra = await post(`${N}/batch`, { notifications: [{ destination: "/topic/x", body: "" }], mode: "fast" });
    assert.deepEqual([extra.status, extra.json.field], [400, "mode"]);
    const many = await post(`${N}/batch`, { notifications: Array.from({ length: 501 }, () => ({ destination: "/topic/x", body: "" })) });
    assert.equal(many.status, 413);
    assert.equal(many.json.field, "notifications");
    assert.match(many.json.error as string, /at most 500/);
    const keyed = await post(`${N}/batch`, { notifications: [{ destination: "/topic/x", body: "" }] }, { "idempotency-key": "k" });
    assert.deepEqual([keyed.status, keyed.json.field], [400, "Idempotency-Key"]);
  });
});

test("GET an unknown id → 404 JSON", async () => {
  const r = await get(`${N}/not-a-real-id`);
  assert.equal(r.status, 404);
  assert.equal(r.json.field, "id");
  assert.match(r.json.error as string, /not-a-real-id/);
});

test("bad requests answer 4xx JSON {error, field} and enqueue nothing", async () => {
  await nothingEnqueued(async () => {
    const cases: Array<[unknown, number, string | null]> = [
      ["{not json", 400, null],
      ["[1,2", 400, null],
      [{ destination: "/topic/x", body: "", priority: 1 }, 400, "priority"],
      [{ body: "x" }, 400, "destination"],
      [{ destination: 42, body: "x" }, 400, "destination"],
      [{ destination: "/app/chat", body: "x" }, 400, "destination"],
      [{ destination: "/user/alice/queue/x", body: "x" }, 400, "destination"],
      [{ user: "alice", destination: "/topic/x", body: "x" }, 400, "destination"],
      [{ destination: "/topic/x" }, 400, "body"],
      [{ destination: "/topic/x", body: "x", headers: { "content-type": "a/b" } }, 400, "headers.content-type"],
      [{ destination: "/topic/x", body: "x", headers: { "x-a": "a\r\nb" } }, 400, "headers.x-a"],
      [{ destination: "/topic/x", body: "x", contentType: null }, 400, "contentType"],
      ["[]", 400, "notification"],
      ["", 400, null],
    ];
    for (const [body, status, field] of cases) {
      const r = await post(N, body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(r.json.field, field, JSON.stringify(body));
      assert.equal(typeof r.json.error, "string");
    }
    const invalidUtf8 = await fetch(N, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.from([0x7b, 0xff, 0x7d]) });
    assert.equal(invalidUtf8.status, 400);
  });
});

test("wrong content type → 415; body over the limit → 413 (declared length or while reading)", async () => {
  await nothingEnqueued(async () => {
    const text = await fetch(N, { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" });
    assert.equal(text.status, 415);
    assert.deepEqual(await text.json(), { error: 'Content-Type must be application/json, got "text/plain"', field: null });
    const none = await fetch(N, { method: "POST", body: new Uint8Array([123, 125]) });
    assert.equal(none.status, 415);
    const big = await post(N, { destination: "/topic/x", body: "x".repeat(2000) });
    assert.equal(big.status, 413);
    assert.equal(big.json.field, null);
  });
  assert.equal((await post(N, { destination: "/topic/x", body: "x" }, { "content-type": "application/json; charset=utf-8" })).status, 202);
});

/**
 * Opens a raw connection, lets `write` send on it, and waits up to 3 s for the
 * server to close it; returns what the server answered and whether it closed.
 */
async function rawExchange(write: (sock: Socket) => Promise<void>): Promise<{ reply: string; closed: boolean }> {
  const sock = connect(h.port, "127.0.0.1");
  let reply = "";
  const closed = new Promise<void>((resolve) => sock.on("close", () => resolve()));
  sock.on("data", (d) => (reply += d.toString()));
  sock.on("error", () => {});
  await new Promise((r) => sock.once("connect", r));
  await write(sock);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, 3000)))]);
  clearTimeout(timer);
  const result = { reply, closed: sock.destroyed || sock.readableEnded };
  sock.destroy();
  return result;
}

test("a declared body beyond what is worth reading (64 MiB) is refused at once, without reading it", async () => {
  await nothingEnqueued(async () => {
    const { reply, closed } = await rawExchange(async (sock) => {
      sock.write(`POST /v1/notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n{"destination":`);
    });
    assert.match(reply, /^HTTP\/1\.1 413/);
    assert.ok(closed, "connection still open");
  });
});

test("a chunked body over the limit is answered 413 and the connection closed before the client finishes sending", async () => {
  await nothingEnqueued(async () => {
    const { reply, closed } = await rawExchange(async (sock) => {
      sock.write("POST /v1/notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
      const chunk = "x".repeat(600);
      for (let i = 0; i < 3 && !sock.destroyed; i++) {
        sock.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
        await tick(30);
      }
      // Never sends the terminating 0-chunk: the server must not wait for it.
    });
    assert.match(reply, /^HTTP\/1\.1 413/);
    assert.ok(closed, "connection still open");
  });
});

test("unknown route → 404 JSON, wrong method → 405 JSON with Allow", async () => {
  const r = await get(`${h.url}/v1/nothing/here`);
  assert.equal(r.status, 404);
  assert.equal(r.json.field, null);
  const m = await fetch(N, { method: "DELETE" });
  assert.equal(m.status, 405);
  assert.equal(m.headers.get("allow"), "POST");
  assert.equal(((await m.json()) as { field: unknown }).field, null);
  const g = await fetch(`${N}/batch`);
  assert.equal(g.status, 405);
});

test("HTTP metrics are labelled by route pattern, never the raw URL", async () => {
  await get(`${N}/some-id-123`);
  const text = await h.registry.metrics();
  assert.match(text, /herald_http_requests_total\{route="\/v1\/notifications",status="202"\} \d+/);
  assert.match(text, /herald_http_requests_total\{route="\/v1\/notifications\/:id",status="404"\} \d+/);
  assert.match(text, /herald_http_requests_total\{route="unmatched",status="404"\} \d+/);
  assert.match(text, /herald_http_request_duration_seconds_count\{route="\/v1\/notifications"\} \d+/);
  assert.doesNotMatch(text, /some-id-123|nothing\/here/);
});

test("a client that disconnects in the middle of its body is dropped quietly (499) and the API keeps serving", async () => {
  await nothingEnqueued(async () => {
    const sock = connect(h.port, "127.0.0.1");
    sock.on("error", () => {});
    await new Promise((r) => sock.once("connect", r));
    sock.write('POST /v1/notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"destination":"/topic/x",');
    await tick(30);
    sock.destroy();
    await tick(30);
  });
  assert.match(await h.registry.metrics(), /herald_http_requests_total\{route="\/v1\/notifications",status="499"\} 1/);
  assert.equal((await post(N, { destination: "/topic/x", body: "still here" })).status, 202);
});

test("a batch body over HERALD_API_MAX_BATCH_BYTES is 413", async () => {
  const small = await startApi({ maxBatchBytes: 2048 });
  try {
    const r = await post(`${small.url}/v1/notifications/batch`, { notifications: Array.from({ length: 80 }, () => ({ destination: "/topic/x", body: "0123456789" })) });
    assert.equal(r.status, 413);
    assert.match(r.json.error as string, /larger than 2048 bytes/);
    assert.equal(small.processed(), 0);
  } finally {
    await small.close();
  }
});
