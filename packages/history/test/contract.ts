import { test } from "node:test";
import assert from "node:assert/strict";
import type { Bus, BusMessage } from "@herald/bus";
import { EMPTY_EPOCH, HistoryError, type History, type HistoryOptions } from "../src/index.js";

/** One implementation under test: the history, and a bus on which a subscriber sees what it publishes. */
export interface Subject {
  history: History;
  /** The bus the subscriber listens on (the same LocalBus, or a RedisBus of another "node"). */
  bus: Bus;
  /** Resolves once a subscribe on `bus` is in effect (a remote bus subscribes asynchronously). */
  subscribed?: (destination: string) => Promise<void>;
}

let seq = 0;
/** A destination no other test (or earlier run on a shared server) uses. */
export function uniqueDestination(kind = "/topic/t"): string {
  return `${kind}.${process.pid}.${Date.now().toString(36)}.${++seq}`;
}

export function msg(destination: string, body: string, extra: Partial<BusMessage> = {}): BusMessage {
  return { destination, id: `m-${++seq}`, headers: {}, body: Buffer.from(body), publishedAt: Date.now(), ...extra };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const text = (m: BusMessage) => Buffer.from(m.body).toString("utf8");
const big: HistoryOptions = { maxMessages: 1000, ttlSeconds: 60 };

/** Collects the bus messages of a destination while `act` runs, until `count` arrived, with a time bound. */
export async function collect(subject: Subject, destination: string, count: number, act: () => Promise<unknown>, timeoutMs = 5000): Promise<BusMessage[]> {
  const bus = subject.bus;
  const got: BusMessage[] = [];
  let wake: (() => void) | undefined;
  const listener = (m: BusMessage) => {
    if (m.destination !== destination) return;
    got.push(m);
    if (got.length >= count) wake?.();
  };
  bus.on("message", listener);
  bus.subscribe(destination);
  try {
    await subject.subscribed?.(destination);
    await act();
    if (got.length < count) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`bus delivered ${got.length} of ${count} messages on ${destination} within ${timeoutMs} ms`)), timeoutMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return got;
  } finally {
    bus.off("message", listener);
    bus.unsubscribe(destination);
  }
}

/**
 * The behaviour every History must have. `make` is called once per test file run; tests use
 * distinct destinations, so they share one history.
 */
export function historyContract(name: string, make: () => Promise<Subject>, cleanup: () => Promise<void>): void {
  let s: Subject;
  test.before(async () => {
    s = await make();
  });
  test.after(cleanup);

  test(`${name}: reading a stream that does not exist creates nothing; from its position { 0, "" } everything published later is recovered`, async () => {
    const d = uniqueDestination();
    const start = await s.history.latest(d);
    assert.deepEqual(start, { offset: 0, epoch: EMPTY_EPOCH });
    assert.deepEqual(await s.history.readSince(d, start, 10), { messages: [], complete: true, latest: start });
    assert.deepEqual(await s.history.readSince(d, { offset: 3, epoch: "gone" }, 10), { messages: [], complete: false, reason: "epoch-changed", latest: start });
    assert.deepEqual(await s.history.latest(d), start, "still nothing: reads created no stream");
    const a = await s.history.publish(msg(d, "a"), big);
    const b = await s.history.publish(msg(d, "b"), big);
    const epoch = a.position!.epoch;
    assert.ok(epoch.length > 0);
    assert.deepEqual(a.position, { offset: 1, epoch });
    assert.deepEqual(b.position, { offset: 2, epoch });
    assert.deepEqual(await s.history.latest(d), { offset: 2, epoch });

    const r = await s.history.readSince(d, start, 10);
    assert.equal(r.complete, true);
    assert.equal(r.reason, undefined);
    assert.deepEqual(r.latest, { offset: 2, epoch });
    assert.deepEqual(r.messages.map(text), ["a", "b"]);
    assert.deepEqual(r.messages.map((m) => m.position), [a.position, b.position]);
    // { 0, "" } is only "before the first message": with another offset it is no position of this stream.
    assert.equal((await s.history.readSince(d, { offset: 1, epoch: EMPTY_EPOCH }, 10)).reason, "epoch-changed");
  });

  test(`${name}: readSince returns the messages after the position, whole and in order`, async () => {
    const d = uniqueDestination("/user/ann/queue/n");
    const body = new Uint8Array([0, 1, 2, 0xff, 0xfe, 10, 13]);
    const sent: BusMessage[] = [];
    for (let i = 0; i < 5; i++) {
      sent.push(
        await s.history.publish(
          { destination: d, id: `id-${i}`, headers: { "x-n": String(i), "é": "ü\n:" }, contentType: "application/octet-stream", body, publishedAt: 1_700_000_000_000 + i },
          big,
        ),
      );
    }
    const epoch = sent[0]!.position!.epoch;
    const r = await s.history.readSince(d, { offset: 2, epoch }, 100);
    assert.equal(r.complete, true);
    assert.deepEqual(
      r.messages.map((m) => ({ ...m, body: [...m.body] })),
      sent.slice(2).map((m) => ({ ...m, body: [...body] })),
    );
    const top = await s.history.readSince(d, { offset: 5, epoch }, 100);
    assert.deepEqual(top, { messages: [], complete: true, latest: { offset: 5, epoch } });
  });

  test(`${name}: the cap trims the oldest messages; a position before them is too old`, async () => {
    const d = uniqueDestination();
    let epoch = "";
    for (let i = 1; i <= 10; i++) epoch = (await s.history.publish(msg(d, `m${i}`), { maxMessages: 3, ttlSeconds: 60 })).position!.epoch;
    const ok = await s.history.readSince(d, { offset: 7, epoch }, 100);
    assert.equal(ok.complete, true);
    assert.deepEqual(ok.messages.map(text), ["m8", "m9", "m10"]);
    for (const offset of [0, 5, 6]) {
      const r = await s.history.readSince(d, { offset, epoch }, 100);
      assert.deepEqual(r, { messages: [], complete: false, reason: "too-old", latest: { offset: 10, epoch } }, `since ${offset}`);
    }
    // A larger cap later keeps more from then on.
    for (let i = 11; i <= 15; i++) await s.history.publish(msg(d, `m${i}`), { maxMessages: 100, ttlSeconds: 60 });
    const grown = await s.history.readSince(d, { offset: 7, epoch }, 100);
    assert.deepEqual(grown.messages.map(text), ["m8", "m9", "m10", "m11", "m12", "m13", "m14", "m15"]);
  });

  test(`${name}: more than limit messages → the first limit of them and reason "limit"; reading on continues`, async () => {
    const d = uniqueDestination();
    let epoch = "";
    for (let i = 1; i <= 5; i++) epoch = (await s.history.publish(msg(d, `m${i}`), big)).position!.epoch;
    const first = await s.history.readSince(d, { offset: 0, epoch }, 2);
    assert.equal(first.complete, false);
    assert.equal(first.reason, "limit");
    assert.deepEqual(first.messages.map(text), ["m1", "m2"]);
    const rest = await s.history.readSince(d, first.messages[1]!.position!, 3);
    assert.equal(rest.complete, true);
    assert.deepEqual(rest.messages.map(text), ["m3", "m4", "m5"]);
  });

  test(`${name}: another epoch, or a position past the top, is "epoch-changed"`, async () => {
    const d = uniqueDestination();
    const p = (await s.history.publish(msg(d, "x"), big)).position!;
    assert.deepEqual(await s.history.readSince(d, { offset: 0, epoch: "not-the-epoch" }, 10), { messages: [], complete: false, reason: "epoch-changed", latest: p });
    assert.deepEqual(await s.history.readSince(d, { offset: 2, epoch: p.epoch }, 10), { messages: [], complete: false, reason: "epoch-changed", latest: p });
  });

  test(`${name}: a stream expires after its TTL; the next one has a new epoch and starts at 1`, async () => {
    const d = uniqueDestination();
    const short: HistoryOptions = { maxMessages: 10, ttlSeconds: 0.6 };
    const old = (await s.history.publish(msg(d, "old"), short)).position!;
    await sleep(300);
    // Appending refreshes the TTL.
    await s.history.publish(msg(d, "old2"), short);
    await sleep(400);
    assert.equal((await s.history.latest(d)).epoch, old.epoch, "still alive 700 ms after the first append");
    await sleep(700);
    assert.deepEqual(await s.history.latest(d), { offset: 0, epoch: EMPTY_EPOCH }, "expired: as if it never existed");
    const fresh = (await s.history.publish(msg(d, "new"), short)).position!;
    assert.equal(fresh.offset, 1);
    assert.notEqual(fresh.epoch, old.epoch);
    const r = await s.history.readSince(d, { offset: 2, epoch: old.epoch }, 10);
    assert.deepEqual(r, { messages: [], complete: false, reason: "epoch-changed", latest: fresh });
  });

  test(`${name}: destinations have their own offsets and epochs`, async () => {
    const a = uniqueDestination();
    const b = uniqueDestination();
    await s.history.publish(msg(a, "a1"), big);
    await s.history.publish(msg(a, "a2"), big);
    const b1 = (await s.history.publish(msg(b, "b1"), big)).position!;
    assert.equal(b1.offset, 1);
    assert.notEqual(b1.epoch, (await s.history.latest(a)).epoch);
    assert.deepEqual((await s.history.readSince(b, { offset: 0, epoch: b1.epoch }, 10)).messages.map(text), ["b1"]);
  });

  test(`${name}: concurrent publishes get strictly increasing offsets; the bus delivers them in offset order with positions`, async () => {
    const d = uniqueDestination("/user/bob/queue/n");
    const n = 300;
    let results: BusMessage[] = [];
    const delivered = await collect(s, d, n, async () => {
      results = await Promise.all(Array.from({ length: n }, (_, i) => s.history.publish(msg(d, String(i)), big)));
    });
    const offsets = results.map((m) => m.position!.offset).sort((x, y) => x - y);
    assert.deepEqual(offsets, Array.from({ length: n }, (_, i) => i + 1));
    assert.equal(new Set(results.map((m) => m.position!.epoch)).size, 1);
    assert.deepEqual(
      delivered.map((m) => m.position!.offset),
      Array.from({ length: n }, (_, i) => i + 1),
      "delivery order is offset order",
    );
    // What was delivered with offset k is what history holds at k.
    const stored = await s.history.readSince(d, { offset: 0, epoch: results[0]!.position!.epoch }, n);
    assert.deepEqual(stored.messages.map(text), delivered.map(text));
    assert.deepEqual(stored.messages.map((m) => m.id), delivered.map((m) => m.id));
  });

  test(`${name}: publishing a message id again (a retry) returns the original position and delivers nothing new`, async () => {
    const d = uniqueDestination("/user/dee/queue/n");
    let first: BusMessage | undefined;
    let again: BusMessage | undefined;
    const delivered = await collect(s, d, 3, async () => {
      first = await s.history.publish(msg(d, "once", { id: "retried-id" }), big);
      await s.history.publish(msg(d, "other1"), big);
      await s.history.publish(msg(d, "other2"), big);
      again = await s.history.publish(msg(d, "once", { id: "retried-id" }), big);
    });
    assert.deepEqual(again!.position, first!.position);
    await sleep(100);
    assert.deepEqual(delivered.map(text), ["once", "other1", "other2"], "the retry is not delivered again");
    assert.equal((await s.history.latest(d)).offset, 3, "nor appended again");
  });

  test(`${name}: publishAll delivers a batch whole: kept messages positioned and stored, the others only published`, async () => {
    // One hash tag: on Redis Cluster a batch must stay in one slot.
    const tag = `{batch-${process.pid}-${++seq}}`;
    const d1 = uniqueDestination(`/topic/${tag}/kept1`);
    const d2 = uniqueDestination(`/user/ann/queue/${tag}/kept2`);
    const plain = uniqueDestination(`/topic/${tag}/plain`);
    await s.history.publish(msg(d1, "before"), big);
    let result: BusMessage[] = [];
    let kept: BusMessage[] = [];
    const plainDelivered = await collect(s, plain, 1, async () => {
      kept = await collect(s, d1, 2, async () => {
        result = await s.history.publishAll([
          { message: msg(d1, "a"), options: big },
          { message: msg(plain, "p"), options: undefined },
          { message: msg(d2, "b"), options: big },
          { message: msg(d1, "c"), options: big },
        ]);
      });
    });
    assert.deepEqual(result.map(text), ["a", "p", "b", "c"]);
    assert.deepEqual(result.map((m) => m.position?.offset), [2, undefined, 1, 3]);
    assert.deepEqual(kept.map((m) => [text(m), m.position?.offset]), [["a", 2], ["c", 3]], "delivered in order, positioned");
    assert.deepEqual(plainDelivered.map((m) => [text(m), m.position]), [["p", undefined]]);
    const r2 = await s.history.readSince(d2, { offset: 0, epoch: result[2]!.position!.epoch }, 10);
    assert.deepEqual(r2.messages.map(text), ["b"]);
    assert.equal((await s.history.latest(plain)).offset, 0, "the plain destination keeps nothing");
    assert.deepEqual(await s.history.publishAll([]), []);
    await assert.rejects(s.history.publishAll([{ message: msg(d1, "x"), options: { maxMessages: 0, ttlSeconds: 1 } }]), /maxMessages/);
    assert.equal((await s.history.latest(d1)).offset, 3, "a batch with a bad item publishes nothing");
  });

  test(`${name}: history keeps its own copy of the body`, async () => {
    const d = uniqueDestination();
    const slab = Buffer.from("hello world");
    const view = slab.subarray(0, 5);
    const p = (await s.history.publish({ destination: d, id: "c", headers: {}, body: view, publishedAt: 1 }, big)).position!;
    slab.fill(0x78);
    const r = await s.history.readSince(d, { offset: 0, epoch: p.epoch }, 1);
    assert.equal(text(r.messages[0]!), "hello");
    assert.equal(r.messages[0]!.body.byteLength, 5);
  });

  test(`${name}: bad input is rejected with an error that names it`, async () => {
    const d = uniqueDestination();
    await assert.rejects(s.history.publish(msg(d, "x"), { maxMessages: 0, ttlSeconds: 1 }), (e: Error) => e instanceof HistoryError && /maxMessages/.test(e.message));
    await assert.rejects(s.history.publish(msg(d, "x"), { maxMessages: 1.5, ttlSeconds: 1 }), /maxMessages/);
    await assert.rejects(s.history.publish(msg(d, "x"), { maxMessages: 5, ttlSeconds: -1 }), /ttlSeconds/);
    await assert.rejects(s.history.publish(msg("", "x"), big), /destination/);
    await assert.rejects(s.history.readSince(d, { offset: -1, epoch: "e" }, 5), /since\.offset/);
    await assert.rejects(s.history.readSince(d, { offset: 0, epoch: 5 as unknown as string }, 5), /since\.epoch/);
    await assert.rejects(s.history.readSince(d, { offset: 0, epoch: "e" }, 0), /limit/);
    await assert.rejects(s.history.latest(""), /destination/);
  });
}
