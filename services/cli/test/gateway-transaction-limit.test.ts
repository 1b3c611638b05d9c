import { test } from "node:test";
import assert from "node:assert/strict";
import { RawStomp, frameText } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";

test("open transactions are bounded per connection: frames and SEND bytes, with an ERROR and a metric; COMMIT frees the budget", async (t) => {
  const herald = await HeraldProcess.start({ env: { HERALD_MAX_TRANSACTION_FRAMES: "4", HERALD_MAX_TRANSACTION_BYTES: "100" } });
  t.after(() => herald.stop());
  const watcher = await RawStomp.connected(herald.wsUrl);
  watcher.send(frameText("SUBSCRIBE", { destination: "/topic/tx", id: "0", receipt: "s" }));
  assert.equal((await watcher.next()).command, "RECEIPT");

  // Within the budget, again and again: each COMMIT gives its frames back.
  const ok = await RawStomp.connected(herald.wsUrl);
  for (let round = 0; round < 3; round++) {
    ok.send(frameText("BEGIN", { transaction: "t" }));
    ok.send(frameText("SEND", { destination: "/topic/tx", transaction: "t" }, `a${round}`));
    ok.send(frameText("SEND", { destination: "/topic/tx", transaction: "t" }, `b${round}`));
    ok.send(frameText("COMMIT", { transaction: "t", receipt: `c${round}` }));
    assert.equal(header(await ok.next(), "receipt-id"), `c${round}`);
    assert.equal(Buffer.from((await watcher.next()).body).toString(), `a${round}`);
    assert.equal(Buffer.from((await watcher.next()).body).toString(), `b${round}`);
  }
  // ABORT frees it too.
  ok.send(frameText("BEGIN", { transaction: "u" }));
  ok.send(frameText("SEND", { destination: "/topic/tx", transaction: "u" }, "x".repeat(90)));
  ok.send(frameText("ABORT", { transaction: "u" }));
  ok.send(frameText("BEGIN", { transaction: "v" }));
  ok.send(frameText("SEND", { destination: "/topic/tx", transaction: "v" }, "y".repeat(90)));
  ok.send(frameText("COMMIT", { transaction: "v", receipt: "cv" }));
  assert.equal(header(await ok.next(), "receipt-id"), "cv");
  assert.equal(Buffer.from((await watcher.next()).body).toString(), "y".repeat(90));

  // Too many frames: empty BEGINs count too, so a client cannot open transactions without end.
  const opener = await RawStomp.connected(herald.wsUrl);
  for (let i = 0; i < 5; i++) opener.send(frameText("BEGIN", { transaction: `t${i}` }));
  const tooMany = await opener.next();
  assert.equal(tooMany.command, "ERROR");
  assert.equal(header(tooMany, "message"), "transaction too large");
  assert.match(Buffer.from(tooMany.body).toString(), /at most 4 frames .* and 100 bytes/);
  await opener.whenClosed();

  // Too many bytes, across two open transactions; nothing of them is published.
  const big = await RawStomp.connected(herald.wsUrl);
  big.send(frameText("BEGIN", { transaction: "p" }));
  big.send(frameText("BEGIN", { transaction: "q" }));
  big.send(frameText("SEND", { destination: "/topic/tx", transaction: "p" }, "z".repeat(60)));
  big.send(frameText("SEND", { destination: "/topic/tx", transaction: "q" }, "z".repeat(60)));
  const tooBig = await big.next();
  assert.equal(header(tooBig, "message"), "transaction too large");
  await big.whenClosed();

  ok.send(frameText("SEND", { destination: "/topic/tx", receipt: "last" }, "after"));
  assert.equal(header(await ok.next(), "receipt-id"), "last");
  assert.equal(Buffer.from((await watcher.next()).body).toString(), "after", "the refused transactions published nothing");
  const metrics = await (await fetch(`${herald.httpUrl}/metrics`)).text();
  assert.match(metrics, /^herald_limit_rejections_total\{limit="transaction"\} 2$/m);
});
