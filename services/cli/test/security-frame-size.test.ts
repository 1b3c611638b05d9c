import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { RawStomp, frameText, waitFor } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";
import { metric } from "./security-helpers.js";

// Oversized frames over a raw WebSocket, at the default HERALD_MAX_FRAME_BYTES (64 KiB), against
// a real Herald: STOMP 1.2 ("Size Limits") wants an ERROR, and the node must stay small meanwhile.
let herald: HeraldProcess;
before(async () => {
  herald = await HeraldProcess.start({ env: { LOG_LEVEL: "info" } });
});
after(async () => {
  await herald?.stop();
});

const LIMIT = 64 * 1024;
const rssMb = (pid: number) => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

async function tooLarge(send: (c: RawStomp) => void): Promise<void> {
  const before = await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "frame-too-large" });
  const c = await RawStomp.connected(herald.wsUrl);
  send(c);
  const err = await c.next(5000);
  assert.equal(err.command, "ERROR");
  assert.equal(header(err, "message"), "frame too large");
  assert.match(Buffer.from(err.body).toString(), new RegExp(`at most ${LIMIT} bytes \\(HERALD_MAX_FRAME_BYTES\\)`));
  assert.equal(await c.whenClosed(), 1009, "closed with 1009 (message too big)");
  assert.equal(await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "frame-too-large" }), before + 1);
}

test("a 70 KB SEND in one WebSocket message: ERROR 'frame too large' naming the limit, counted, closed", async () => {
  await tooLarge((c) => c.send(frameText("SEND", { destination: "/app/sendMessage" }, "x".repeat(70_000))));
});

test("a 1 MiB SEND in one WebSocket message: the same", async () => {
  await tooLarge((c) => c.send(frameText("SEND", { destination: "/app/sendMessage" }, "x".repeat(1024 * 1024))));
});

test("an oversized frame spread over several WebSocket messages: the same", async () => {
  await tooLarge((c) => {
    c.send("SEND\ndestination:/app/sendMessage\n\n");
    for (let i = 0; i < 10; i++) c.send("y".repeat(10_000));
  });
});

test("a message too large for the WebSocket layer to read at all (16 MiB) closes the socket, counted and logged; memory stays bounded", async () => {
  const before = await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "frame-too-large" });
  const disconnects = await metric(herald.httpUrl, "herald_disconnects_total", { reason: "limit" });
  const rssBefore = rssMb(herald.pid);
  const huge = "z".repeat(16 * 1024 * 1024);
  const clients = await Promise.all(Array.from({ length: 8 }, () => RawStomp.connected(herald.wsUrl)));
  for (const c of clients) c.send(frameText("SEND", { destination: "/app/sendMessage" }, huge));
  for (const c of clients) assert.equal(await c.whenClosed(10_000), 1006);
  await waitFor(async () => (await metric(herald.httpUrl, "herald_limit_rejections_total", { limit: "frame-too-large" })) === before + 8, { what: "8 refusals counted" });
  assert.equal(await metric(herald.httpUrl, "herald_disconnects_total", { reason: "limit" }), disconnects + 8);
  await waitFor(() => /a WebSocket message over \d+ bytes, closed by the transport/.test(herald.output), { what: "the refusal in the log" });
  const grown = rssMb(herald.pid) - rssBefore;
  assert.ok(grown < 40, `RSS grew by ${grown.toFixed(0)} MB while refusing 8 × 16 MiB`);
  // The node still serves others.
  const ok = await RawStomp.connected(herald.wsUrl);
  ok.send(frameText("SUBSCRIBE", { destination: "/topic/x", id: "1", receipt: "r" }));
  assert.equal((await ok.next()).command, "RECEIPT");
  ok.close();
});
