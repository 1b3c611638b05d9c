import { RawStomp, frameText, waitFor } from "@herald/testkit";
import { header, type Frame, type ServerCommand } from "@herald/stomp";

/** A STOMP 1.2 client speaking raw frames, logged in as `login`, for delivery tests that read every header. */
export async function stompAs(url: string, login: string, extra: Record<string, string> = {}): Promise<RawStomp> {
  return RawStomp.connected(url, { login, passcode: "x", ...extra });
}

/** SUBSCRIBE and wait for its RECEIPT (sent after any replay); returns the RECEIPT frame. */
export async function subscribe(c: RawStomp, id: string, destination: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<Frame<ServerCommand>> {
  const receipt = `r-${id}-${Math.random().toString(36).slice(2)}`;
  c.send(frameText("SUBSCRIBE", { id, destination, receipt, ...headers }));
  return receiptFrame(c, receipt, timeoutMs);
}

export async function receiptFrame(c: RawStomp, receipt: string, timeoutMs = 10_000): Promise<Frame<ServerCommand>> {
  await c.until(() => c.frames.some((f) => isReceipt(f, receipt)) || c.closeCode !== undefined, timeoutMs, `RECEIPT ${receipt}`);
  const f = c.frames.find((x) => isReceipt(x, receipt));
  if (!f) throw new Error(`connection closed before RECEIPT ${receipt}: ${errorsOf(c)}`);
  return f;
}

function isReceipt(f: Frame<ServerCommand>, receipt: string): boolean {
  return f.command === "RECEIPT" && header(f, "receipt-id") === receipt;
}

export function errorsOf(c: RawStomp): string {
  return c.frames
    .filter((f) => f.command === "ERROR")
    .map((f) => `${header(f, "message") ?? ""}: ${Buffer.from(f.body).toString()}`)
    .join("; ");
}

/** MESSAGE frames of one subscription, in arrival order. */
export function messages(c: RawStomp, subscription: string): Array<Frame<ServerCommand>> {
  return c.frames.filter((f) => f.command === "MESSAGE" && header(f, "subscription") === subscription);
}

export function offsets(frames: Array<Frame<ServerCommand>>): number[] {
  return frames.map((f) => Number(header(f, "herald-offset")));
}

export function bodyOf(f: Frame<ServerCommand>): string {
  return Buffer.from(f.body).toString("utf8");
}

export async function waitForMessages(c: RawStomp, subscription: string, n: number, timeoutMs = 10_000): Promise<Array<Frame<ServerCommand>>> {
  await c.until(() => messages(c, subscription).length >= n || c.closeCode !== undefined, timeoutMs, `${n} messages on ${subscription} (have ${messages(c, subscription).length})`);
  const got = messages(c, subscription);
  if (got.length < n) throw new Error(`connection closed with ${got.length} of ${n} messages on ${subscription}: ${errorsOf(c)}`);
  return got;
}

/** Nothing more arrives on `subscription` within `ms`. */
export async function quietFor(c: RawStomp, subscription: string, ms: number): Promise<number> {
  const before = messages(c, subscription).length;
  await new Promise((r) => setTimeout(r, ms));
  return messages(c, subscription).length - before;
}

export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

export { header, frameText, waitFor };
