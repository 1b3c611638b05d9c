/**
 * How each HTTP transport wraps SockJS frames on the wire, and what it sends
 * before the first frame (preludes exist to defeat browser buffering quirks).
 */
export interface Framing {
  readonly transport: "xhr-streaming" | "xhr" | "eventsource" | "htmlfile" | "jsonp-polling";
  readonly contentType: string;
  /** One response carries one frame (polling) or many (streaming). */
  readonly streaming: boolean;
  /** Bytes sent before the first frame (streaming only; "" for none). */
  readonly prelude: string;
  wrap(frame: string): string;
}

export const xhrPolling: Framing = {
  transport: "xhr",
  contentType: "application/javascript;charset=UTF-8",
  streaming: false,
  prelude: "",
  wrap: (frame) => frame + "\n",
};

// 2 KiB of "h" so that browsers start delivering the chunked body (IE, old WebKit).
export const xhrStreaming: Framing = {
  transport: "xhr-streaming",
  contentType: "application/javascript;charset=UTF-8",
  streaming: true,
  prelude: "h".repeat(2048) + "\n",
  wrap: (frame) => frame + "\n",
};

// The leading CRLF works around an old Opera EventSource bug.
export const eventSource: Framing = {
  transport: "eventsource",
  contentType: "text/event-stream;charset=UTF-8",
  streaming: true,
  prelude: "\r\n",
  wrap: (frame) => "data: " + frame + "\r\n\r\n",
};

/** Callback names the htmlfile and JSONP transports accept (they end up in a script). */
export const CALLBACK_PATTERN = /^[a-zA-Z0-9_.]{1,64}$/;

function htmlfilePrelude(callback: string): string {
  const head =
    "<!doctype html>\n" +
    "<html><head>\n" +
    '  <meta http-equiv="X-UA-Compatible" content="IE=edge" />\n' +
    '  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n' +
    "</head><body><h2>Don't panic!</h2>\n" +
    "  <script>\n" +
    "    document.domain = document.domain;\n" +
    `    var c = parent.${callback};\n` +
    "    c.start();\n" +
    "    function p(d) {c.message(d);};\n" +
    "    window.onload = function() {c.stop();};\n" +
    "  </script>\n";
  // Safari renders nothing of a streamed page before 1 KiB has arrived.
  return head + " ".repeat(Math.max(0, 1024 - head.length)) + "\r\n\r\n";
}

export function htmlFile(callback: string): Framing {
  return {
    transport: "htmlfile",
    contentType: "text/html;charset=UTF-8",
    streaming: true,
    prelude: htmlfilePrelude(callback),
    wrap: (frame) => "<script>\np(" + JSON.stringify(frame) + ");\n</script>\r\n",
  };
}

export function jsonpPolling(callback: string): Framing {
  return {
    transport: "jsonp-polling",
    contentType: "application/javascript;charset=UTF-8",
    streaming: false,
    prelude: "",
    wrap: (frame) => callback + "(" + JSON.stringify(frame) + ");\r\n",
  };
}
