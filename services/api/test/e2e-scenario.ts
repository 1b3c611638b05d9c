import assert from "node:assert/strict";
import { connectStomp, Inbox } from "@herald/testkit";
import type { Client } from "@stomp/stompjs";

async function subscribed(client: Client, destination: string, inbox: Inbox): Promise<void> {
  const receipt = `sub-${Math.random().toString(36).slice(2)}`;
  const done = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.subscribe(destination, inbox.push, { receipt });
  await done;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; id: string; replayed: boolean }> {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const json = (await r.json()) as { id: string };
  return { status: r.status, id: json.id, replayed: r.headers.get("idempotent-replayed") === "true" };
}

/**
 * What a backend and its users see through a running gateway: a topic subscriber and
 * alice's session receive what was POSTed, with the right headers; bob receives
 * nothing of alice's; an idempotent retry delivers once.
 */
export async function publishScenario(httpUrl: string, wsUrl: string, authorization?: string): Promise<void> {
  const auth: Record<string, string> = authorization ? { authorization } : {};
  const clients: Client[] = [];
  try {
    const anon = await connectStomp(wsUrl);
    const alice = await connectStomp(wsUrl, { connectHeaders: { login: "alice", passcode: "x" } });
    const bob = await connectStomp(wsUrl, { connectHeaders: { login: "bob", passcode: "x" } });
    clients.push(anon, alice, bob);
    const topic = new Inbox();
    const aliceInbox = new Inbox();
    const bobInbox = new Inbox();
    await subscribed(anon, "/topic/x", topic);
    await subscribed(alice, "/user/queue/notifications", aliceInbox);
    await subscribed(bob, "/user/queue/notifications", bobInbox);

    const t = await post(`${httpUrl}/v1/notifications`, { destination: "/topic/x", body: { price: 1.5 }, headers: { "x-source": "pricing" } }, auth);
    assert.equal(t.status, 202);
    const [m] = await topic.waitFor(1);
    assert.equal(m!.body, '{"price":1.5}');
    assert.equal(m!.headers["destination"], "/topic/x");
    assert.equal(m!.headers["content-type"], "application/json");
    assert.equal(m!.headers["x-source"], "pricing");
    assert.equal(m!.headers["message-id"], t.id);

    const body = { user: "alice", destination: "/queue/notifications", body: "shipped" };
    const first = await post(`${httpUrl}/v1/notifications`, body, { ...auth, "idempotency-key": "e2e-order-1" });
    const retry = await post(`${httpUrl}/v1/notifications`, body, { ...auth, "idempotency-key": "e2e-order-1" });
    assert.deepEqual([first.status, retry.status, retry.id, retry.replayed], [202, 202, first.id, true]);
    const [a] = await aliceInbox.waitFor(1);
    assert.equal(a!.body, "shipped");
    assert.equal(a!.headers["destination"], "/user/queue/notifications");
    assert.equal(a!.headers["content-type"], "text/plain");
    // Give a duplicate every chance to show up before asserting there is none.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(aliceInbox.messages.length, 1, "the idempotent retry was delivered again");
    assert.equal(bobInbox.messages.length, 0, "bob received alice's notification");
    assert.equal(topic.messages.length, 1);

    const state = (await (await fetch(`${httpUrl}/v1/notifications/${first.id}`, { headers: auth })).json()) as { state: string };
    assert.equal(state.state, "delivered");
  } finally {
    for (const c of clients) await c.deactivate();
  }
}
