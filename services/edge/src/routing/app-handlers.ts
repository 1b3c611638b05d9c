import type { Principal } from "../session/principal.js";

/** A client SEND to an `/app/**` destination, as a handler sees it. */
export interface AppMessage {
  readonly destination: string;
  readonly body: Uint8Array;
  readonly contentType?: string;
  /** First value of a header of the SEND frame. */
  header(name: string): string | undefined;
  readonly principal?: Principal;
  readonly sessionId: string;
}

export interface OutgoingMessage {
  body: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

/** What a handler may do: Spring's @SendTo and @SendToUser. */
export interface AppContext {
  /** Publishes to a broker destination (/topic/**, /queue/**) cluster-wide. */
  sendTo(destination: string, message: OutgoingMessage): Promise<void>;
  /** Publishes to every session of `user` subscribed to `destination` (e.g. "/queue/replies"). */
  sendToUser(user: string, destination: string, message: OutgoingMessage): Promise<void>;
}

export type AppHandler = (message: AppMessage, ctx: AppContext) => void | Promise<void>;

/** The `@MessageMapping` table: exact `/app/...` destinations to handlers. */
export class AppHandlers {
  private readonly handlers = new Map<string, AppHandler>();

  register(destination: string, handler: AppHandler): this {
    if (!destination.startsWith("/app/")) throw new Error(`app handler destination must start with /app/, got ${destination}`);
    if (this.handlers.has(destination)) throw new Error(`an app handler for ${destination} is already registered`);
    this.handlers.set(destination, handler);
    return this;
  }

  get(destination: string): AppHandler | undefined {
    return this.handlers.get(destination);
  }

  destinations(): string[] {
    return [...this.handlers.keys()];
  }
}

/** Spring's guide: a SEND to /app/sendMessage is broadcast to /topic/messages. */
export function defaultAppHandlers(): AppHandlers {
  return new AppHandlers().register("/app/sendMessage", (msg, ctx) =>
    ctx.sendTo("/topic/messages", { body: msg.body, ...(msg.contentType ? { contentType: msg.contentType } : {}) }),
  );
}
