import { connectStomp, Inbox, type IMessage } from "./stomp-client.js";

export interface RoundTrip {
  /** The subscriber's edge: ws://host:port/ws. */
  wsUrl: string;
  /** The publish API's process: http://host:port. */
  apiUrl: string;
  destination?: string;
  body?: string;
  timeoutMs?: number;
}

/**
 * What a newcomer checks first: a STOMP client subscribes (and waits for the RECEIPT, so
 * the subscription is in place everywhere), a backend POSTs a notification to the publish
 * API, and the MESSAGE arrives. Resolves with it; rejects on a non-202 answer or no MESSAGE.
 */
export async function postReachesSubscriber(opts: RoundTrip): Promise<IMessage> {
  const destination = opts.destination ?? `/topic/round-trip.${Math.random().toString(36).slice(2)}`;
  const body = opts.body ?? `round trip ${new Date().toISOString()}`;
  const client = await connectStomp(opts.wsUrl);
  try {
    const inbox = new Inbox();
    const receipt = `sub-${Math.random().toString(36).slice(2)}`;
    const subscribed = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
    client.subscribe(destination, inbox.push, { receipt });
    await subscribed;
    const r = await fetch(`${opts.apiUrl}/v1/notifications`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ destination, body }),
    });
    if (r.status !== 202) throw new Error(`POST /v1/notifications answered ${r.status}: ${await r.text()}`);
    const [m] = await inbox.waitFor(1, opts.timeoutMs ?? 10_000);
    if (m!.body !== body) throw new Error(`expected "${body}" on ${destination}, got "${m!.body}"`);
    return m!;
  } finally {
    await client.deactivate();
  }
}
