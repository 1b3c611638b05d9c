/** STOMP protocol versions Herald speaks. */
export type StompVersion = "1.0" | "1.1" | "1.2";
export const STOMP_VERSIONS: readonly StompVersion[] = ["1.0", "1.1", "1.2"];

/** Frames a client may send (STOMP 1.2 §"Client Frames"; STOMP is the 1.1+ alias of CONNECT). */
export type ClientCommand =
  | "CONNECT"
  | "STOMP"
  | "SEND"
  | "SUBSCRIBE"
  | "UNSUBSCRIBE"
  | "ACK"
  | "NACK"
  | "BEGIN"
  | "COMMIT"
  | "ABORT"
  | "DISCONNECT";

/** Frames a server may send. */
export type ServerCommand = "CONNECTED" | "MESSAGE" | "RECEIPT" | "ERROR";

export type Command = ClientCommand | ServerCommand;

export const CLIENT_COMMANDS: readonly ClientCommand[] = [
  "CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK", "BEGIN", "COMMIT", "ABORT", "DISCONNECT",
];
export const SERVER_COMMANDS: readonly ServerCommand[] = ["CONNECTED", "MESSAGE", "RECEIPT", "ERROR"];

/**
 * Headers in wire order. A header name may repeat on the wire; STOMP says the first
 * occurrence wins, so readers use `header()` below rather than scanning.
 */
export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

export interface Frame<C extends Command = Command> {
  readonly command: C;
  readonly headers: HeaderList;
  /**
   * Raw body bytes (may contain NUL when the frame carried content-length). A parsed body
   * may be a view into a larger shared ArrayBuffer: use byteOffset/byteLength, never `.buffer` alone.
   */
  readonly body: Uint8Array;
}

export type ClientFrame = Frame<ClientCommand>;
export type ServerFrame = Frame<ServerCommand>;

/** First value of a header, as the spec requires for repeated headers. */
export function header(frame: Frame, name: string): string | undefined {
  for (const [k, v] of frame.headers) if (k === name) return v;
  return undefined;
}

export function isClientCommand(c: string): c is ClientCommand {
  return (CLIENT_COMMANDS as readonly string[]).includes(c);
}
export function isServerCommand(c: string): c is ServerCommand {
  return (SERVER_COMMANDS as readonly string[]).includes(c);
}

/** CONNECT/CONNECTED headers are never escaped, in any version (STOMP 1.2 "Value Encoding"). */
export function escapesHeaders(command: Command, version: StompVersion): boolean {
  return version !== "1.0" && command !== "CONNECT" && command !== "CONNECTED" && command !== "STOMP";
}
