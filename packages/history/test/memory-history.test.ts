import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalBus } from "@herald/bus";
import { HistoryUnavailableError, MemoryHistory } from "../src/index.js";
import { historyContract, msg, sleep, uniqueDestination } from "./contract.js";

const bus = new LocalBus();
const history = new MemoryHistory(bus);
historyContract("MemoryHistory", async () => ({ history, bus }), () => history.close());

test("MemoryHistory: expired streams are swept from memory; reading one that does not exist keeps nothing", async () => {
  const h = new MemoryHistory(new LocalBus(), { sweepIntervalMs: 50 });
  try {
    await h.publish(msg(uniqueDestination(), "x"), { maxMessages: 5, ttlSeconds: 0.1 });
    for (let i = 0; i < 100; i++) {
      const d = uniqueDestination();
      await h.latest(d);
      await h.readSince(d, { offset: 0, epoch: "" }, 10);
    }
    assert.equal(h.size, 1);
    await sleep(300);
    assert.equal(h.size, 0);
  } finally {
    await h.close();
  }
});

test("MemoryHistory: publish hands the positioned message to the bus before the next publish appends", async () => {
  const seen: number[] = [];
  const order: string[] = [];
  const spy = new LocalBus();
  const original = spy.publish.bind(spy);
  // Wraps the real LocalBus only to record call order; delivery still goes through it.
  spy.publish = (m) => {
    order.push(`bus:${m.position!.offset}`);
    return original(m);
  };
  const h = new MemoryHistory(spy);
  try {
    const d = uniqueDestination();
    spy.on("message", (m) => seen.push(m.position!.offset));
    spy.subscribe(d);
    const all = [1, 2, 3].map((i) => h.publish(msg(d, String(i)), { maxMessages: 5, ttlSeconds: 5 }).then((m) => order.push(`done:${m.position!.offset}`)));
    await Promise.all(all);
    assert.deepEqual(order.slice(0, 3), ["bus:1", "bus:2", "bus:3"]);
    assert.deepEqual(seen, [1, 2, 3]);
  } finally {
    await h.close();
  }
});

test("MemoryHistory: a closed history refuses calls", async () => {
  const h = new MemoryHistory(new LocalBus());
  await h.close();
  await assert.rejects(h.publish(msg("/topic/x", "x"), { maxMessages: 1, ttlSeconds: 1 }), HistoryUnavailableError);
  await assert.rejects(h.latest("/topic/x"), HistoryUnavailableError);
});

test("MemoryHistory: the dedupe window is the last N appends; 0 turns it off", async () => {
  const windowed = new MemoryHistory(new LocalBus(), { dedupeWindow: 2 });
  const off = new MemoryHistory(new LocalBus(), { dedupeWindow: 0 });
  try {
    const opts = { maxMessages: 10, ttlSeconds: 10 };
    const d = uniqueDestination();
    assert.equal((await windowed.publish(msg(d, "x", { id: "X" }), opts)).position!.offset, 1);
    await windowed.publish(msg(d, "a"), opts);
    assert.equal((await windowed.publish(msg(d, "x", { id: "X" }), opts)).position!.offset, 1, "within the window");
    await windowed.publish(msg(d, "b"), opts);
    assert.equal((await windowed.publish(msg(d, "x", { id: "X" }), opts)).position!.offset, 4, "past the window: a new message");
    await off.publish(msg(d, "y", { id: "Y" }), opts);
    assert.equal((await off.publish(msg(d, "y", { id: "Y" }), opts)).position!.offset, 2);
    assert.throws(() => new MemoryHistory(new LocalBus(), { dedupeWindow: 1.5 }), /dedupeWindow/);
  } finally {
    await windowed.close();
    await off.close();
  }
});
