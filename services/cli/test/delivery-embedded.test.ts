import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { type RawStomp } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { bodyOf, header, offsets, quietFor, stompAs, subscribe, waitForMessages } from "./delivery-helpers.js";

/** The embedded default (no REDIS_URL): memory history and cursors give the same guarantees in one process. */
let herald: HeraldProcess;
const clients: RawStomp[] = [];

before(async () => {
  herald = await HeraldProcess.start({ env: { HERALD_INSECURE_LOGIN_AS_USER: "true" } });
});

after(async () => {
  for (const c of clients) c.close();
  await herald.stop("SIGKILL");
});

async function notify(user: string, body: string): Promise<void> {
  const res = await fetch(`${herald.httpUrl}/v1/notifications`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user, destination: "/queue/news", body }),
  });
  assert.equal(res.status, 202, await res.text());
}

test("embedded: an offline user's notifications wait; a resubscription with a position replays after it", async () => {
  for (const b of ["n1", "n2", "n3"]) await notify("olga", b);
  const first = await stompAs(herald.wsUrl, "olga");
  clients.push(first);
  await subscribe(first, "s", "/user/queue/news");
  const got = await waitForMessages(first, "s", 3);
  assert.deepEqual(got.map(bodyOf), ["n1", "n2", "n3"]);
  assert.deepEqual(offsets(got), [1, 2, 3]);
  const epoch = header(got[0]!, "herald-epoch")!;
  first.close();

  for (const b of ["n4", "n5"]) await notify("olga", b);
  const second = await stompAs(herald.wsUrl, "olga");
  clients.push(second);
  const r = await subscribe(second, "s", "/user/queue/news", { "herald-since-offset": "1", "herald-since-epoch": epoch });
  assert.equal(header(r, "herald-recovered"), "complete");
  const again = await waitForMessages(second, "s", 4);
  assert.deepEqual(again.map(bodyOf), ["n2", "n3", "n4", "n5"]);
  assert.equal(await quietFor(second, "s", 200), 0);
});
