import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { RawStomp, frameText } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";
import { errorsOf, receiptFrame } from "./delivery-helpers.js";
import { metric } from "./security-helpers.js";

// Memory one client can make a node hold, measured on real embedded Herald processes:
// SUBSCRIBE churn to new user destinations and durable-names, and unacknowledged messages.
// Before the fixes, the churn below grew a node by hundreds of MB for good and the unacked
// scenario by about 200 MB; the bounds here leave room for the heap's own slack.

/** Resident set size of a process, in MB (Linux). */
function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(m, "VmRSS in /proc/<pid>/status");
  return Number(m[1]) / 1024;
}

/** `n` SUBSCRIBE/UNSUBSCRIBE pairs to new user destinations and as many to new durable-names; resolves when all are done. */
async function churn(c: RawStomp, from: number, n: number): Promise<void> {
  const receipt = `churned-${from}`;
  const frames: string[] = [];
  for (let i = from; i < from + n; i++) {
    frames.push(frameText("SUBSCRIBE", { id: "c", destination: `/user/queue/churn-${i}` }), frameText("UNSUBSCRIBE", { id: "c" }));
    frames.push(frameText("SUBSCRIBE", { id: "c", destination: "/topic/durable/x", "durable-name": `n-${i}` }));
    frames.push(frameText("UNSUBSCRIBE", { id: "c", ...(i === from + n - 1 ? { receipt } : {}) }));
  }
  for (let i = 0; i < frames.length; i += 400) c.send(frames.slice(i, i + 400).join(""));
  await receiptFrame(c, receipt, 120_000);
  assert.equal(errorsOf(c), "");
  c.close();
}

test("SUBSCRIBE/UNSUBSCRIBE churn to new user destinations and durable-names keeps the node's RSS flat", async (t) => {
  const herald = await HeraldProcess.start({
    env: { HERALD_INSECURE_LOGIN_AS_USER: "true", HERALD_HISTORY_TOPICS: "/topic/durable/**:100:600", HERALD_SUBSCRIBE_RATE: "1000000", HERALD_SUBSCRIBE_BURST: "1000000" },
  });
  t.after(() => herald.stop());
  // Warm up (JIT, pools), then measure what the churn leaves behind.
  await churn(await RawStomp.connected(herald.wsUrl, { login: "warm" }), 0, 3000);
  const before = rssMb(herald.pid);
  for (let round = 0; round < 4; round++) await churn(await RawStomp.connected(herald.wsUrl, { login: `churner-${round}` }), 10_000 + round * 15_000, 15_000);
  await new Promise((r) => setTimeout(r, 500));
  const after = rssMb(herald.pid);
  console.log(`churn: RSS ${before.toFixed(0)} → ${after.toFixed(0)} MB`);
  assert.ok(after - before < 60, `RSS grew from ${before.toFixed(0)} to ${after.toFixed(0)} MB over 120,000 subscribes`);
});

test("a SUBSCRIBE rate limit like SEND's: churn beyond the burst gets ERROR 'subscribe rate exceeded', counted", async (t) => {
  const herald = await HeraldProcess.start({ env: { HERALD_SUBSCRIBE_RATE: "20", HERALD_SUBSCRIBE_BURST: "50", LOG_LEVEL: "info" } });
  t.after(() => herald.stop());
  const before = await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "subscribe-rate" });
  const c = await RawStomp.connected(herald.wsUrl);
  let frames = "";
  for (let i = 0; i < 200; i++) frames += frameText("SUBSCRIBE", { id: "c", destination: `/topic/t${i}` }) + frameText("UNSUBSCRIBE", { id: "c" });
  c.send(frames);
  await c.whenClosed(5000);
  const err = c.frames.find((f) => f.command === "ERROR");
  assert.ok(err, "an ERROR");
  assert.equal(header(err, "message"), "subscribe rate exceeded");
  assert.match(Buffer.from(err.body).toString(), /more than 20 SUBSCRIBE frames per second \(burst 50\)/);
  assert.equal(await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "subscribe-rate" }), before + 1);
  assert.match(herald.output, /SUBSCRIBE refused: over the rate limit/);
  // A client that resubscribes its 100 subscriptions at once (a reconnect) is within the default burst.
  const defaults = await HeraldProcess.start();
  t.after(() => defaults.stop());
  const reconnect = await RawStomp.connected(defaults.wsUrl);
  let subs = "";
  for (let i = 0; i < 100; i++) subs += frameText("SUBSCRIBE", { id: `s${i}`, destination: `/topic/t${i}`, ...(i === 99 ? { receipt: "all" } : {}) });
  reconnect.send(subs);
  await receiptFrame(reconnect, "all");
  assert.equal(errorsOf(reconnect), "");
});

test("HERALD_MAX_UNACKED_BYTES: connections holding large unacknowledged messages are closed before the node grows", async (t) => {
  const herald = await HeraldProcess.start({ env: { HERALD_MAX_UNACKED_BYTES: "1MiB", HERALD_SEND_RATE: "100000", HERALD_SEND_BURST: "100000", LOG_LEVEL: "info" } });
  t.after(() => herald.stop());
  const body = "x".repeat(60_000);
  const hoarders = await Promise.all(Array.from({ length: 8 }, () => RawStomp.connected(herald.wsUrl)));
  for (const [i, c] of hoarders.entries()) {
    c.send(frameText("SUBSCRIBE", { id: "w", destination: `/topic/work-${i}`, ack: "client-individual", receipt: "s" }));
    await receiptFrame(c, "s");
  }
  const before = rssMb(herald.pid);
  const perConnection = 400;
  await Promise.all(
    hoarders.map(async (c, i) => {
      for (let n = 0; n < perConnection && c.closeCode === undefined; n += 50) {
        // One WebSocket message per frame: a message may carry at most one frame's worth of bytes.
        for (let k = 0; k < 50; k++) c.send(frameText("SEND", { destination: `/topic/work-${i}` }, body));
        // Wait for these to come back (or the close) before sending more.
        await c.until(() => c.closeCode !== undefined || c.frames.filter((f) => f.command === "MESSAGE").length >= n + 50, 20_000, "messages");
      }
    }),
  );
  const peak = rssMb(herald.pid);
  console.log(`unacked: RSS ${before.toFixed(0)} → ${peak.toFixed(0)} MB`);
  assert.ok(peak - before < 60, `RSS grew from ${before.toFixed(0)} to ${peak.toFixed(0)} MB`);
  for (const c of hoarders) {
    const err = c.frames.find((f) => f.command === "ERROR");
    assert.ok(err, `each hoarder is closed (this one holds ${c.frames.filter((f) => f.command === "MESSAGE").length} messages)`);
    assert.equal(header(err, "message"), "too many unacknowledged bytes");
    assert.match(Buffer.from(err.body).toString(), /at most 1048576 bytes/);
    assert.ok(c.frames.filter((f) => f.command === "MESSAGE").length <= 18, "about 1 MiB of 60 KB messages");
  }
  assert.equal(await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "unacked-bytes" }), 8);
});
