import { test } from "node:test";
import assert from "node:assert/strict";
import { IdempotencyConflictError, InlineNotificationQueue, NotificationValidationError, type NotificationJob } from "../src/index.js";

const job = (over: Partial<NotificationJob> = {}): NotificationJob => ({ destination: "/topic/x", body: "b", contentType: "text/plain", headers: {}, createdAt: 1, ...over });
const tick = () => new Promise((r) => setImmediate(r));

test("jobs reach the processor on the next tick, not synchronously, and end delivered", async () => {
  const seen: Array<[NotificationJob, string]> = [];
  const q = new InlineNotificationQueue(async (j, id) => void seen.push([j, id]));
  const { id, duplicate } = await q.enqueue(job());
  assert.equal(duplicate, false);
  assert.equal(seen.length, 0);
  assert.deepEqual(await q.getState(id), { id, state: "queued", attempts: 0 });
  await tick();
  assert.equal(seen.length, 1);
  assert.equal(seen[0]![1], id);
  assert.deepEqual(await q.getState(id), { id, state: "delivered", attempts: 1 });
  assert.equal(await q.getState("nope"), undefined);
  await q.close();
});

test("the same idempotency key returns the same id and processes once; for another notification it is refused", async () => {
  let calls = 0;
  const q = new InlineNotificationQueue(async () => void calls++);
  const a = await q.enqueue(job(), { idempotencyKey: "k" });
  const b = await q.enqueue(job({ createdAt: 2 }), { idempotencyKey: "k" });
  const c = await q.enqueue(job({ idempotencyKey: "k" }));
  assert.equal(b.id, a.id);
  assert.equal(c.id, a.id);
  assert.deepEqual([a.duplicate, b.duplicate, c.duplicate], [false, true, true]);
  await assert.rejects(q.enqueue(job({ body: "other" }), { idempotencyKey: "k" }), IdempotencyConflictError);
  await assert.rejects(q.enqueue(job({ user: "alice", destination: "/queue/x" }), { idempotencyKey: "k" }), IdempotencyConflictError);
  await tick();
  assert.equal(calls, 1);
  await q.close();
});

test("idempotency scopes keep two callers' keys apart; concurrent duplicates process once", async () => {
  let calls = 0;
  const q = new InlineNotificationQueue(async () => void calls++);
  const a = await q.enqueue(job(), { idempotencyKey: "k", idempotencyScope: "a" });
  const b = await q.enqueue(job({ body: "other" }), { idempotencyKey: "k", idempotencyScope: "b" });
  const shared = await q.enqueue(job(), { idempotencyKey: "k" });
  assert.equal(new Set([a.id, b.id, shared.id]).size, 3);
  const [again] = await q.enqueueBatch([job({ idempotencyKey: "k" })], { idempotencyScope: "a" });
  assert.deepEqual(again, { id: a.id, duplicate: true });
  const race = await Promise.all(Array.from({ length: 5 }, () => q.enqueue(job(), { idempotencyKey: "race" })));
  assert.equal(new Set(race.map((r) => r.id)).size, 1);
  await assert.rejects(q.enqueue(job(), { idempotencyKey: "k", idempotencyScope: "bad scope" }), RangeError);
  await tick();
  assert.equal(calls, 4);
  await q.close();
});

test("invalid jobs are refused with the field; batches answer per item", async () => {
  const q = new InlineNotificationQueue(async () => {});
  await assert.rejects(q.enqueue(job({ destination: "/app/x" })), (e: unknown) => e instanceof NotificationValidationError && e.field === "destination");
  const r = await q.enqueueBatch([job(), job({ headers: { "message-id": "x" } }), job({ idempotencyKey: "b" }), job({ idempotencyKey: "b" }), job({ idempotencyKey: "b", body: "other" })]);
  assert.ok("id" in r[0]!);
  assert.deepEqual(r[1], { error: 'header "message-id" is set by the gateway and cannot be overridden', field: "headers.message-id" });
  assert.ok("id" in r[2]! && "id" in r[3]! && r[2].id === r[3].id && r[3].duplicate);
  assert.equal("field" in r[4]! && r[4].field, "idempotencyKey");
  await q.close();
});

test("a failing processor is retried with backoff, then the job fails with the reason", async () => {
  let calls = 0;
  const q = new InlineNotificationQueue(
    async () => {
      calls++;
      throw new Error("bus down");
    },
    { retry: { attempts: 3, backoffMs: 10 } },
  );
  const { id } = await q.enqueue(job());
  await tick();
  assert.deepEqual(await q.getState(id), { id, state: "queued", reason: "bus down", attempts: 1 });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(calls, 3);
  assert.deepEqual(await q.getState(id), { id, state: "failed", reason: "bus down", attempts: 3 });
  await q.close();
});

test("states are bounded: the oldest are forgotten", async () => {
  const q = new InlineNotificationQueue(async () => {}, { maxStates: 3 });
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await q.enqueue(job())).id);
  await tick();
  assert.equal(await q.getState(ids[0]!), undefined);
  assert.equal((await q.getState(ids[4]!))?.state, "delivered");
  await q.close();
});

test("close() waits for jobs in flight, cancels retries and refuses new jobs", async () => {
  let done = 0;
  const q = new InlineNotificationQueue(async (j) => {
    if (j.body === "fail") throw new Error("no");
    await new Promise((r) => setTimeout(r, 50));
    done++;
  }, { retry: { backoffMs: 60_000 } });
  await q.enqueue(job());
  await q.enqueue(job({ body: "fail" }));
  await tick();
  await q.close();
  assert.equal(done, 1);
  await assert.rejects(q.enqueue(job()), /closed/);
});
