import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LocalBus, type BusMessage, type StreamPosition } from "@herald/bus";
import { MemoryHistory } from "@herald/history";
import { DurableCursor, MAX_STARTS_PER_OWNER, decodeCursor, encodeCursor } from "../src/delivery/cursor-store.js";
import { MemoryCursorStore } from "../src/delivery/memory-cursor-store.js";
import { DeliveryHeaderError, parseDurableName, parseSincePosition } from "../src/delivery/delivery-headers.js";
import { GapFillingBus } from "../src/delivery/gap-filling-bus.js";
import { SubscriptionStream, type StreamSink } from "../src/delivery/subscription-stream.js";
import { deliveryConfigFromEnv } from "../src/delivery/delivery-config.js";

const OPTIONS = { maxMessages: 1000, ttlSeconds: 600 };
let seq = 0;
function msg(destination: string, body = `b${++seq}`): BusMessage {
  return { destination, id: `m${++seq}`, headers: {}, body: Buffer.from(body), publishedAt: Date.now() };
}

async function filled(history: MemoryHistory, destination: string, n: number, options = OPTIONS): Promise<BusMessage[]> {
  const out: BusMessage[] = [];
  for (let i = 0; i < n; i++) out.push(await history.publish(msg(destination, `n${i + 1}`), options));
  return out;
}

class Collector implements StreamSink {
  readonly sent: Array<{ offset: number; extra: string }> = [];
  open = true;
  send(message: BusMessage, extraHeaders: string): void {
    this.sent.push({ offset: message.position?.offset ?? -1, extra: extraHeaders });
  }
  bufferedAmount(): number {
    return 0;
  }
  get offsets(): number[] {
    return this.sent.map((s) => s.offset);
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function stream(history: MemoryHistory, sink: Collector, destination: string, since: StreamPosition | undefined, extra: Partial<ConstructorParameters<typeof SubscriptionStream>[0]> = {}) {
  return new SubscriptionStream({
    busDestination: destination,
    history,
    sink,
    ...(since ? { since } : {}),
    replayRetainedWhenNew: false,
    retainedMax: OPTIONS.maxMessages,
    recoveryMax: 10_000,
    pageSize: 7,
    highWaterBytes: 1 << 20,
    autoAck: true,
    ...extra,
  });
}

describe("recovery headers", () => {
  test("herald-since-offset and herald-since-epoch", () => {
    const h = (o: Record<string, string>) => (name: string) => o[name];
    assert.equal(parseSincePosition(h({})), undefined);
    assert.deepEqual(parseSincePosition(h({ "herald-since-offset": "42", "herald-since-epoch": "abc" })), { offset: 42, epoch: "abc" });
    assert.throws(() => parseSincePosition(h({ "herald-since-offset": "1" })), (e: Error) => e instanceof DeliveryHeaderError && /go together/.test(e.message));
    assert.throws(() => parseSincePosition(h({ "herald-since-offset": "-1", "herald-since-epoch": "e" })), /whole number/);
    assert.throws(() => parseSincePosition(h({ "herald-since-offset": "1", "herald-since-epoch": "" })), /herald-since-epoch/);
  });

  test("durable-name, or activemq.subscriptionName with a client-id", () => {
    const h = (o: Record<string, string>) => (name: string) => o[name];
    assert.equal(parseDurableName(h({}), undefined), undefined);
    assert.equal(parseDurableName(h({ "durable-name": "jobs" }), undefined), "jobs");
    assert.equal(parseDurableName(h({ "activemq.subscriptionName": "p" }), "client-1"), "p");
    assert.throws(() => parseDurableName(h({ "activemq.subscriptionName": "p" }), undefined), /client-id/);
    assert.throws(() => parseDurableName(h({ "durable-name": "" }), undefined), /1 to 200/);
  });

  test("settings from the environment name the variable when wrong", () => {
    assert.equal(deliveryConfigFromEnv({}).recoveryMax, 10_000);
    assert.equal(deliveryConfigFromEnv({}).maxRedeliveries, 5);
    assert.equal(deliveryConfigFromEnv({ HERALD_RECOVERY_MAX: "50" }).recoveryMax, 50);
    assert.throws(() => deliveryConfigFromEnv({ HERALD_MAX_REDELIVERIES: "many" }), /HERALD_MAX_REDELIVERIES/);
  });
});

/** A user owner, for cursors. */
const user = (name: string) => ({ kind: "user", name }) as const;

describe("durable cursor", () => {
  test("acks out of order advance the contiguous offset; the state round-trips through the store", async () => {
    const store = new MemoryCursorStore();
    const c = new DurableCursor(store, user("alice"), "/user/alice/queue/x|", 10_000, (err) => assert.fail(String(err)));
    for (const o of [2, 4, 1]) c.ack({ epoch: "E", offset: o });
    assert.ok(c.isAcked({ epoch: "E", offset: 1 }) && c.isAcked({ epoch: "E", offset: 2 }) && c.isAcked({ epoch: "E", offset: 4 }));
    assert.ok(!c.isAcked({ epoch: "E", offset: 3 }));
    assert.ok(!c.isAcked({ epoch: "other", offset: 1 }));
    await c.flush();
    assert.deepEqual(await store.load(user("alice"), "/user/alice/queue/x|"), { epoch: "E", offset: 2, acked: [4] });
    const again = new DurableCursor(store, user("alice"), "/user/alice/queue/x|", 10_000, () => undefined);
    assert.deepEqual(await again.load(), { epoch: "E", offset: 2 });
    assert.ok(again.isAcked({ epoch: "E", offset: 4 }));
    again.ack({ epoch: "E", offset: 3 });
    await again.flush();
    assert.deepEqual(await store.load(user("alice"), "/user/alice/queue/x|"), { epoch: "E", offset: 4, acked: [] });
  });

  test("an ack of a new epoch starts the cursor over", () => {
    const c = new DurableCursor(new MemoryCursorStore(), user("o"), "k", 10_000, () => undefined);
    c.ack({ epoch: "A", offset: 1 });
    c.ack({ epoch: "B", offset: 2 });
    assert.ok(!c.isAcked({ epoch: "B", offset: 1 }));
    assert.ok(c.isAcked({ epoch: "B", offset: 2 }));
  });

  test("NACK counts are kept in the store: a later cursor of the same subscription continues them; settling forgets them", async () => {
    const store = new MemoryCursorStore();
    const p = { epoch: "E", offset: 3 };
    const first = new DurableCursor(store, user("bob"), "/user/bob/queue/x|", 10_000, (err) => assert.fail(String(err)));
    await first.load();
    assert.equal(first.nackCount(p), 0);
    assert.equal(await first.countNack(p), 1);
    assert.equal(await first.countNack(p), 2);
    const second = new DurableCursor(store, user("bob"), "/user/bob/queue/x|", 10_000, (err) => assert.fail(String(err)));
    await second.load();
    assert.equal(second.nackCount(p), 2, "a new session (or node) sees the count");
    assert.equal(second.nackCount({ epoch: "E", offset: 4 }), 0);
    assert.equal(await second.countNack(p), 3);
    assert.equal((await store.nackCounts(user("bob"), "/user/bob/queue/x|")).size, 1);
    assert.equal((await store.nackCounts(user("bob"), "other|")).size, 0, "per subscription");
    second.ack(p);
    assert.equal(second.nackCount(p), 0);
    assert.equal((await store.nackCounts(user("bob"), "/user/bob/queue/x|")).size, 0, "a settled message's count is forgotten");
  });

  test("users and client-ids are separate namespaces: client-id alice reaches nothing of user alice", async () => {
    const store = new MemoryCursorStore();
    await store.save(user("alice"), "k", { epoch: "E", offset: 5, acked: [] });
    await store.countNack(user("alice"), "k", { epoch: "E", offset: 6 });
    const client = { kind: "client-id", name: "alice" } as const;
    assert.equal(await store.load(client, "k"), undefined);
    assert.equal((await store.nackCounts(client, "k")).size, 0);
    assert.equal((await store.load(user("alice"), "k"))?.offset, 5);
  });

  test("a subscription nothing reached writes no cursor: only a start, kept for a while and capped per owner; the first delivery stores the cursor", async () => {
    const store = new MemoryCursorStore();
    const quiet = new DurableCursor(store, user("q"), "never", 0, (err) => assert.fail(String(err)));
    await quiet.load();
    quiet.begin({ epoch: "", offset: 0 }, undefined);
    await quiet.flush();
    assert.equal(await store.load(user("q"), "never"), undefined);
    assert.equal(await store.loadStart(user("q"), "never"), undefined, "nothing remembered without rememberMs");

    const c = new DurableCursor(store, user("q"), "k", 0, (err) => assert.fail(String(err)));
    assert.equal(await c.load(), undefined);
    c.begin({ epoch: "", offset: 0 }, 60_000);
    await c.flush();
    assert.equal(await store.load(user("q"), "k"), undefined, "no cursor before a delivery");
    assert.deepEqual(await store.loadStart(user("q"), "k"), { epoch: "", offset: 0, acked: [] });
    // Coming back: the start is where it resumes.
    const back = new DurableCursor(store, user("q"), "k", 0, (err) => assert.fail(String(err)));
    assert.deepEqual(await back.load(), { epoch: "", offset: 0 });
    back.delivered();
    back.ack({ epoch: "E", offset: 1 });
    await back.flush();
    assert.deepEqual(await store.load(user("q"), "k"), { epoch: "E", offset: 1, acked: [] });
    assert.equal(await store.loadStart(user("q"), "k"), undefined, "the start is forgotten once the cursor is stored");

    await store.saveStart(user("q"), "brief", { epoch: "E", offset: 1, acked: [] }, 30);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(await store.loadStart(user("q"), "brief"), undefined, "expired");
    for (let i = 0; i <= MAX_STARTS_PER_OWNER; i++) await store.saveStart(user("churner"), `n${i}`, { epoch: "", offset: 0, acked: [] }, 60_000);
    assert.equal(await store.loadStart(user("churner"), "n0"), undefined, "the oldest start is dropped past the cap");
    assert.ok(await store.loadStart(user("churner"), `n${MAX_STARTS_PER_OWNER}`));
  });

  test("stored form", () => {
    assert.equal(encodeCursor({ epoch: "E1", offset: 7, acked: [9, 12] }), "E1:7:9,12");
    assert.deepEqual(decodeCursor("E1:7"), { epoch: "E1", offset: 7, acked: [] });
    assert.equal(decodeCursor("garbage"), undefined);
    assert.equal(decodeCursor(null), undefined);
    assert.deepEqual(decodeCursor(encodeCursor({ epoch: "", offset: 0, acked: [] })), { epoch: "", offset: 0, acked: [] }, "a start before the stream existed");
  });
});

describe("gap filling on the bus", () => {
  test("a hole in a destination's stream is re-read from history before later messages; duplicates are dropped", async () => {
    const origin = new LocalBus();
    const history = new MemoryHistory(origin);
    const transport = new LocalBus();
    const gate = new GapFillingBus(transport, history, { maxGap: 100 });
    const D = "/user/ann/queue/x";
    const out: number[] = [];
    gate.on("message", (m) => out.push(m.position!.offset));
    gate.subscribe(D);
    origin.subscribe(D);
    // The transport loses 3, 4 and 7 and repeats 5: what a blipping link does.
    origin.on("message", (m) => {
      const o = m.position!.offset;
      if (o === 3 || o === 4 || o === 7) return;
      void transport.publish(m);
      if (o === 5) void transport.publish(m);
    });
    await filled(history, D, 10);
    await waitUntil(() => out.length >= 10);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(out, range(1, 10));
    assert.deepEqual(gate.position(D), { epoch: (await history.latest(D)).epoch, offset: 10 });
    await history.close();
  });

  test("messages without a position pass straight through", async () => {
    const transport = new LocalBus();
    const gate = new GapFillingBus(transport, new MemoryHistory(new LocalBus()), { maxGap: 10 });
    const got: string[] = [];
    gate.on("message", (m) => got.push(m.id));
    gate.subscribe("/topic/t");
    await transport.publish({ ...msg("/topic/t"), id: "plain" });
    await waitUntil(() => got.length === 1);
    assert.deepEqual(got, ["plain"]);
  });
});

describe("subscription stream", () => {
  test("subscribed before the stream existed: a first message with offset > 1 is a hole, re-read from history", async () => {
    const history = new MemoryHistory(new LocalBus());
    const D = "/topic/not-yet";
    const sink = new Collector();
    const store = new MemoryCursorStore();
    const s = stream(history, sink, D, undefined, { cursor: new DurableCursor(store, user("early"), "k", 0, () => undefined), rememberStartMs: 60_000 });
    assert.equal(await s.start(), undefined);
    assert.equal(history.size, 0, "subscribing created no stream");
    // Message 1 raced past the fresh subscription; 2 arrives live.
    const [, second] = await filled(history, D, 2);
    assert.equal(s.admit(second!), null, "held while 1 is re-read");
    await waitUntil(() => sink.offsets.length === 2);
    assert.deepEqual(sink.offsets, [1, 2]);
  });

  test("replay then live, with live messages that arrive during the replay neither lost nor repeated", async () => {
    const history = new MemoryHistory(new LocalBus());
    const D = "/user/bo/queue/x";
    const all = await filled(history, D, 100);
    const sink = new Collector();
    const s = stream(history, sink, D, { epoch: all[0]!.position!.epoch, offset: 10 });
    const started = s.start();
    // 95..100 are both in history and on the bus; 101..105 only on the bus.
    for (const m of all.slice(94)) assert.equal(s.admit(m), null, "held while replaying");
    const more = await filled(history, D, 5);
    for (const m of more) s.admit(m);
    assert.equal(await started, "complete");
    assert.deepEqual(sink.offsets, range(11, 105));
    assert.equal(sink.sent[0]!.extra, "herald-recovered:complete\n");
    assert.ok(sink.sent.slice(1).every((x) => x.extra === ""));
    // Later duplicates are dropped; the next message goes out.
    assert.equal(s.admit(more[4]!), null);
    const next = await history.publish(msg(D), OPTIONS);
    assert.equal(s.admit(next), "");
  });

  test("a position older than history says too-old and replays what is left", async () => {
    const history = new MemoryHistory(new LocalBus());
    const D = "/user/cy/queue/x";
    const small = { maxMessages: 20, ttlSeconds: 600 };
    const all = await filled(history, D, 50, small);
    const sink = new Collector();
    const s = stream(history, sink, D, { epoch: all[0]!.position!.epoch, offset: 3 }, { retainedMax: 20 });
    assert.equal(await s.start(), "too-old");
    assert.deepEqual(sink.offsets, range(31, 50));
    assert.equal(sink.sent[0]!.extra, "herald-recovered:too-old\n");
  });

  test("recovery is bounded: over HERALD_RECOVERY_MAX it says limit", async () => {
    const history = new MemoryHistory(new LocalBus());
    const D = "/user/di/queue/x";
    const all = await filled(history, D, 30);
    const sink = new Collector();
    const s = stream(history, sink, D, { epoch: all[0]!.position!.epoch, offset: 0 }, { recoveryMax: 12 });
    assert.equal(await s.start(), "limit");
    assert.deepEqual(sink.offsets, range(1, 12));
    assert.equal(sink.sent[0]!.extra, "herald-recovered:limit\n");
    // What was over the limit is skipped, not read after all: the next live message goes straight out.
    const next = await history.publish(msg(D), OPTIONS);
    assert.equal(s.admit(next), "");
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(sink.offsets, range(1, 12));
  });

  test("a hole in the live stream of one subscription is re-read for it", async () => {
    const history = new MemoryHistory(new LocalBus());
    const D = "/user/ed/queue/x";
    const all = await filled(history, D, 3);
    const sink = new Collector();
    const s = stream(history, sink, D, { epoch: all[0]!.position!.epoch, offset: 3 });
    assert.equal(await s.start(), "complete");
    const more = await filled(history, D, 4);
    // As the session does: a message admitted with headers is sent by the caller.
    const extra = s.admit(more[0]!);
    assert.equal(extra, "herald-recovered:complete\n", "nothing was missed: the header rides on the first live frame");
    sink.send(more[0]!, extra!);
    assert.equal(s.admit(more[3]!), null, "7 after 4 waits for 5 and 6");
    await waitUntil(() => sink.offsets.length === 4);
    assert.deepEqual(sink.offsets, [4, 5, 6, 7]);
  });

  test("a durable stream replays from its stored cursor and skips what was acknowledged out of order", async () => {
    const history = new MemoryHistory(new LocalBus());
    const D = "/user/fy/queue/x";
    const all = await filled(history, D, 6);
    const store = new MemoryCursorStore();
    const epoch = all[0]!.position!.epoch;
    await store.save(user("fy"), "k", { epoch, offset: 2, acked: [4, 5] });
    const sink = new Collector();
    const cursor = new DurableCursor(store, user("fy"), "k", 10_000, () => undefined);
    const s = stream(history, sink, D, undefined, { cursor, autoAck: false });
    assert.equal(await s.start(), "complete");
    assert.deepEqual(sink.offsets, [3, 6]);
  });

  test("an explicit position wins over the cursor: what another session acknowledged is still replayed to this one", async () => {
    const history = new MemoryHistory(new LocalBus());
    const D = "/user/ha/queue/x";
    const all = await filled(history, D, 6);
    const epoch = all[0]!.position!.epoch;
    const store = new MemoryCursorStore();
    await store.save(user("ha"), "k", { epoch, offset: 6, acked: [] });
    const sink = new Collector();
    const cursor = new DurableCursor(store, user("ha"), "k", 10_000, () => undefined);
    const s = stream(history, sink, D, { epoch, offset: 2 }, { cursor });
    assert.equal(await s.start(), "complete");
    assert.deepEqual(sink.offsets, [3, 4, 5, 6]);
    // The stored cursor goes on from where it was, never back.
    const next = await history.publish(msg(D), OPTIONS);
    assert.equal(s.admit(next), "");
    await s.close();
    assert.deepEqual(await store.load(user("ha"), "k"), { epoch, offset: 7, acked: [] });
  });

  test("a new user cursor replays what is retained (the offline user); a new topic cursor starts now", async () => {
    const history = new MemoryHistory(new LocalBus());
    const D = "/user/gu/queue/x";
    await filled(history, D, 4);
    const sink = new Collector();
    const store = new MemoryCursorStore();
    const s = stream(history, sink, D, undefined, { cursor: new DurableCursor(store, user("gu"), "k", 10_000, () => undefined), replayRetainedWhenNew: true });
    assert.equal(await s.start(), "complete");
    assert.deepEqual(sink.offsets, [1, 2, 3, 4]);
    await s.close();
    assert.equal((await store.load(user("gu"), "k"))?.offset, 4, "auto-ack: the replay moved the cursor");

    const T = "/topic/t";
    await filled(history, T, 4);
    const sink2 = new Collector();
    const s2 = stream(history, sink2, T, undefined, { cursor: new DurableCursor(new MemoryCursorStore(), user("x"), "k", 10_000, () => undefined) });
    assert.equal(await s2.start(), undefined);
    assert.deepEqual(sink2.offsets, []);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 2));
  }
}
