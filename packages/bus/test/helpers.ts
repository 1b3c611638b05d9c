import type { TestContext } from "node:test";
import { RedisBus, whenBusUp, type Bus, type BusMessage, type BusState } from "../src/index.js";

/** Records what a bus delivers, and lets a test wait for it with a bound. */
export class Recorder {
  readonly messages: BusMessage[] = [];
  readonly states: BusState[] = [];
  private waiters: Array<() => void> = [];

  constructor(bus: Bus) {
    bus.on("message", (m) => {
      this.messages.push(m);
      this.wake();
    });
    bus.on("state", (s) => {
      this.states.push(s);
      this.wake();
    });
  }

  on(destination: string): BusMessage[] {
    return this.messages.filter((m) => m.destination === destination);
  }

  /** Resolves when `ok()` holds; rejects with `what` after timeoutMs. */
  until(ok: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (ok()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (have ${this.messages.length} messages, states ${this.states.join(",")})`));
      }, timeoutMs);
      const check = () => {
        if (!ok()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

let seq = 0;
export function msg(destination: string, body: Uint8Array | string, extra: Partial<BusMessage> = {}): BusMessage {
  return {
    destination,
    id: `m-${++seq}`,
    headers: {},
    body: typeof body === "string" ? Buffer.from(body) : body,
    publishedAt: Date.now(),
    ...extra,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Two RedisBus instances named "a" and "b" on `redisUrl`, both up; the test closes them when it
 * ends, then runs `dispose` (the server or cluster they were on), if given.
 */
export async function twoBuses(t: TestContext, redisUrl: string, dispose?: () => Promise<void>): Promise<[RedisBus, RedisBus]> {
  const a = new RedisBus({ redisUrl, name: "a" });
  const b = new RedisBus({ redisUrl, name: "b" });
  t.after(async () => {
    await a.close();
    await b.close();
    await dispose?.();
  });
  await Promise.all([whenBusUp(a, 10_000), whenBusUp(b, 10_000)]);
  return [a, b];
}
