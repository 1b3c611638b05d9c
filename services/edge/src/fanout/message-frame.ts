import { isUtf8 } from "node:buffer";
import { canCarryHeader, escapeHeaderValue, type StompVersion } from "@herald/stomp";
import type { BusMessage } from "@herald/bus";

const RESERVED = new Set(["destination", "subscription", "message-id", "content-length", "content-type", "ack"]);

/**
 * The parts of a MESSAGE frame that every subscriber of a destination shares:
 * everything but the `subscription` (and `ack`) header. Built once per message
 * and STOMP version, then prefixed per subscription group: the fan-out never
 * re-serializes headers or copies the body more than once per group.
 */
export class MessageParts {
  readonly binary: boolean;
  private readonly byVersion: Partial<Record<StompVersion, Buffer>> = {};

  constructor(
    readonly message: BusMessage,
    readonly clientDestination: string,
  ) {
    this.binary = !isUtf8(message.body);
  }

  /**
   * Header lines after `subscription`, ending with the blank line, for `version`. A header that
   * `version` cannot carry (a line feed for STOMP 1.0, a carriage return for 1.0 and 1.1, …) is
   * left out of that version's frame, never written raw: client SENDs with such headers are
   * refused, but messages also come from the API, handlers and the queue.
   */
  headers(version: StompVersion): Buffer {
    const cached = this.byVersion[version];
    if (cached) return cached;
    const m = this.message;
    let s = `destination:${escapeHeaderValue(this.clientDestination, version)}\nmessage-id:${escapeHeaderValue(m.id, version)}\n`;
    if (m.contentType && canCarryHeader("content-type", m.contentType, version)) s += `content-type:${escapeHeaderValue(m.contentType, version)}\n`;
    if (m.position) s += `herald-offset:${m.position.offset}\nherald-epoch:${escapeHeaderValue(m.position.epoch, version)}\n`;
    for (const k in m.headers) {
      const v = m.headers[k]!;
      if (!RESERVED.has(k) && canCarryHeader(k, v, version)) s += `${escapeHeaderValue(k, version)}:${escapeHeaderValue(v, version)}\n`;
    }
    s += `content-length:${m.body.length}\n\n`;
    const buf = Buffer.from(s, "utf8");
    this.byVersion[version] = buf;
    return buf;
  }

  /**
   * The complete frame for one subscription group (or one subscriber with extra headers):
   * one allocation, prefix + extra headers + shared headers + body + NUL copied into it.
   */
  frame(prefix: Buffer, version: StompVersion, extraHeaders = ""): Buffer {
    const headers = this.headers(version);
    const body = this.message.body;
    const extraBytes = extraHeaders === "" ? 0 : Buffer.byteLength(extraHeaders, "utf8");
    const out = Buffer.allocUnsafe(prefix.length + extraBytes + headers.length + body.length + 1);
    let at = prefix.copy(out, 0);
    if (extraBytes > 0) at += out.write(extraHeaders, at, extraBytes, "utf8");
    at += headers.copy(out, at);
    out.set(body, at);
    out[at + body.length] = 0;
    return out;
  }
}

/** "MESSAGE\nsubscription:<id>\n", the per-group head of the frame. */
export function messagePrefix(subscriptionId: string, version: StompVersion): Buffer {
  return Buffer.from(`MESSAGE\nsubscription:${escapeHeaderValue(subscriptionId, version)}\n`, "utf8");
}
