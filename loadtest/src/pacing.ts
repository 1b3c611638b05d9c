/**
 * How the publisher is paced: a window ahead of the subscribers, or a fixed
 * rate; and how the end of a run waits for what is still in flight.
 */
import type { Publisher } from "./publishers.js";
import type { LoadPlan } from "./run.js";
import type { WorkerPool } from "./workers/pool.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The window stopped moving for this long: the server stopped delivering. */
const STALL_MS = 5_000;

/** Publishes for plan.durationMs under the plan's pacing rule. */
export async function drive(pub: Publisher, pool: WorkerPool, plan: LoadPlan): Promise<{ published: number; stalled: boolean }> {
  const start = Date.now();
  const deadline = start + plan.durationMs;
  let seq = 0;
  const pacing = plan.pacing;
  if (pacing.kind === "rate") {
    while (Date.now() < deadline) {
      const due = Math.floor(((Date.now() - start) / 1000) * pacing.perSecond);
      while (seq < due && pub.ready()) {
        seq++;
        pub.publish(seq, plan.publishTo(seq), plan.messageBytes);
      }
      pool.tick(); // surfaces a crashed worker
      await sleep(Math.max(1, Math.min(5, 1000 / pacing.perSecond)));
    }
    return { published: seq, stalled: false };
  }
  if (pacing.kind !== "window") return { published: 0, stalled: false };
  let lastAcked = -1;
  let lastProgress = Date.now();
  while (Date.now() < deadline) {
    const t = pool.tick();
    if (pacing.ack === "slowest" && t.live === 0) throw new Error("no live subscribers left to pace on");
    const acked = pacing.ack === "slowest" ? t.minSeq : t.delivered;
    if (acked !== lastAcked) {
      lastAcked = acked;
      lastProgress = Date.now();
    }
    let sent = 0;
    while (seq - acked < pacing.window && pub.ready() && sent < 256) {
      seq++;
      sent++;
      pub.publish(seq, plan.publishTo(seq), plan.messageBytes);
    }
    if (sent > 0) {
      await new Promise((r) => setImmediate(r));
      continue;
    }
    if (Date.now() - lastProgress > STALL_MS) return { published: seq, stalled: true };
    await sleep(1);
  }
  return { published: seq, stalled: false };
}

/** Waits until deliveries reach what was expected or stop growing. */
export async function drain(pool: WorkerPool, plan: LoadPlan, published: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  let last = -1;
  let still = Date.now();
  while (Date.now() < deadline) {
    await sleep(50);
    const t = pool.tick();
    const expected = plan.destinationMode === "shared" ? published * t.live : published;
    if (t.delivered >= expected) return;
    if (t.delivered !== last) {
      last = t.delivered;
      still = Date.now();
    } else if (Date.now() - still > 500) return;
  }
}
