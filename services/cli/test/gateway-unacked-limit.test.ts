import { test } from "node:test";
import assert from "node:assert/strict";
import { RawStomp, frameText } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";

test("a client that never ACKs is closed at HERALD_MAX_UNACKED instead of growing the node; one that ACKs is not", async (t) => {
  const herald = await HeraldProcess.start({ env: { HERALD_MAX_UNACKED: "3" } });
  t.after(() => herald.stop());
  const hoarder = await RawStomp.connected(herald.wsUrl);
  const acker = await RawStomp.connected(herald.wsUrl);
  for (const [c, ack] of [[hoarder, "client-individual"], [acker, "client-individual"]] as const) {
    c.send(frameText("SUBSCRIBE", { destination: "/topic/work", id: "0", ack, receipt: "s" }));
    assert.equal((await c.next()).command, "RECEIPT");
  }
  const publisher = await RawStomp.connected(herald.wsUrl);
  // One job at a time: the acker settles each before the next arrives, the hoarder never does.
  const hoarded: string[] = [];
  for (let i = 0; i < 5; i++) {
    publisher.send(frameText("SEND", { destination: "/topic/work" }, `job ${i}`));
    const m = await acker.next();
    assert.equal(Buffer.from(m.body).toString(), `job ${i}`);
    acker.send(frameText("ACK", { id: header(m, "ack")!, receipt: `a${i}` }));
    assert.equal(header(await acker.next(), "receipt-id"), `a${i}`);
    if (hoarder.closeCode === undefined) {
      const f = await hoarder.next();
      if (f.command === "MESSAGE") hoarded.push(Buffer.from(f.body).toString());
      else {
        assert.equal(header(f, "message"), "too many unacknowledged messages");
        assert.match(Buffer.from(f.body).toString(), /at most 3 messages/);
        await hoarder.whenClosed();
      }
    }
  }
  assert.deepEqual(hoarded, ["job 0", "job 1", "job 2"]);
  assert.notEqual(hoarder.closeCode, undefined, "the hoarder was closed");
  acker.close();
  publisher.close();
  const metrics = await (await fetch(`${herald.httpUrl}/metrics`)).text();
  assert.match(metrics, /^herald_limit_rejections_total\{limit="unacked"\} 1$/m);
});
