import { Client, type IFrame, type IMessage, type StompConfig } from "@stomp/stompjs";
import WebSocket from "ws";

export type { IMessage, IFrame } from "@stomp/stompjs";

/**
 * A connected @stomp/stompjs client over `ws`, as a Node backend or test would use it.
 * Resolves on CONNECTED; rejects on the first ERROR frame or socket close before it.
 */
export function connectStomp(url: string, config: Partial<StompConfig> & { protocols?: string[] } = {}): Promise<Client> {
  const { protocols, ...rest } = config;
  return new Promise((resolve, reject) => {
    const client = new Client({
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      ...rest,
      webSocketFactory: () => new WebSocket(url, protocols ?? ["v12.stomp", "v11.stomp", "v10.stomp"]),
    });
    client.onConnect = () => resolve(client);
    client.onStompError = (f: IFrame) => reject(new Error(`STOMP ERROR: ${f.headers["message"] ?? ""} ${f.body}`));
    client.onWebSocketClose = () => reject(new Error("socket closed before CONNECTED"));
    client.activate();
  });
}

/** Collects MESSAGE frames of one subscription for later assertions. */
export class Inbox {
  readonly messages: IMessage[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  push = (m: IMessage): void => {
    this.messages.push(m);
    this.waiters = this.waiters.filter((w) => {
      if (this.messages.length >= w.n) {
        w.resolve();
        return false;
      }
      return true;
    });
  };

  /** Resolves when at least n messages arrived; rejects after timeoutMs. */
  waitFor(n: number, timeoutMs = 5000): Promise<IMessage[]> {
    if (this.messages.length >= n) return Promise.resolve(this.messages);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`expected ${n} messages, got ${this.messages.length}`)), timeoutMs);
      this.waiters.push({ n, resolve: () => (clearTimeout(t), resolve(this.messages)) });
    });
  }
}
