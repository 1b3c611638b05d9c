import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CLIENT_COMMANDS,
  DEFAULT_LIMITS,
  SERVER_COMMANDS,
  StompCodecError,
  StompParser,
  header,
  type Command,
  type Frame,
} from "../src/index.js";
import { assertCodecError, bytes, concat, text } from "./helpers.js";

function pushAll<C extends Command>(parser: StompParser<C>, input: Uint8Array): Frame<C>[] {
  return parser.push(input);
}

function pushBytewise<C extends Command>(parser: StompParser<C>, input: Uint8Array): Frame<C>[] {
  const out: Frame<C>[] = [];
  for (let i = 0; i < input.length; i++) out.push(...parser.push(input.subarray(i, i + 1)));
  return out;
}

/** Parses `wire` whole and byte by byte; both must agree; returns the frames. */
function parseBothWays(wire: string | Uint8Array, make: () => StompParser = () => StompParser.forServer()): Frame[] {
  const input = typeof wire === "string" ? bytes(wire) : wire;
  const whole = pushAll(make(), input);
  const bytewise = pushBytewise(make(), input);
  assert.deepEqual(bytewise, whole);
  return whole;
}

describe("commands", () => {
  test("a server parser accepts every client command", () => {
    for (const c of CLIENT_COMMANDS) {
      const [f] = parseBothWays(`${c}\nk:v\n\n\0`);
      assert.equal(f.command, c);
      assert.deepEqual(f.headers, [["k", "v"]]);
      assert.equal(f.body.length, 0);
    }
  });

  test("a client parser accepts every server command", () => {
    for (const c of SERVER_COMMANDS) {
      const [f] = parseBothWays(`${c}\nk:v\n\n\0`, () => StompParser.forClient());
      assert.equal(f.command, c);
    }
  });

  test("a server parser rejects server commands, naming the command", () => {
    assertCodecError(() => StompParser.forServer().push(bytes("MESSAGE\n\n\0")), "invalid-command", /MESSAGE is a server command/);
  });

  test("a client parser rejects client commands", () => {
    assertCodecError(() => StompParser.forClient().push(bytes("SEND\n\n\0")), "invalid-command", /SEND is a client command/);
  });

  test("unknown and lower-case commands are rejected with a quote of what was seen", () => {
    assertCodecError(() => StompParser.forServer().push(bytes("send\n\n\0")), "invalid-command", /"send"/, /not a STOMP command/);
    assertCodecError(() => StompParser.forServer().push(bytes("GET / HTTP/1.1\r\n")), "invalid-command", /"GET \/ HTTP/);
  });

  test("a leading UTF-8 byte-order mark is an invalid command and the message says so", () => {
    assertCodecError(
      () => StompParser.forServer().push(concat(new Uint8Array([0xef, 0xbb, 0xbf]), bytes("SEND\n\n\0"))),
      "invalid-command",
      /byte-order mark/,
      /SEND/,
    );
  });

  test("a garbage command line is rejected before its end of line arrives, quoted and truncated", () => {
    const p = StompParser.forServer();
    p.push(bytes("XXXXXXXX")); // could still be… nothing, but 8 bytes is within the longest command
    const err = assertCodecError(() => p.push(bytes("X".repeat(5000))), "invalid-command", /longer than any STOMP command/, /"XXXX/, /…/);
    assert.ok(err.message.length < 200, "message is truncated");
  });

  test("a NUL inside the command line is rejected", () => {
    assertCodecError(() => StompParser.forServer().push(bytes("SE\0ND\n")), "invalid-command", /NUL/);
  });
});

describe("line ends and heart-beats", () => {
  test("CRLF line ends are accepted and stripped", () => {
    const [f] = parseBothWays("SEND\r\ndestination:/topic/a\r\nx:y\r\n\r\nbody\0");
    assert.equal(f.command, "SEND");
    assert.deepEqual(f.headers, [["destination", "/topic/a"], ["x", "y"]]);
    assert.equal(text(f.body), "body");
  });

  test("mixed LF and CRLF lines in one frame", () => {
    const [f] = parseBothWays("SEND\nа:б\r\nc:d\n\r\n\0");
    assert.deepEqual(f.headers, [["а", "б"], ["c", "d"]]);
  });

  test("LF and CRLF heart-beats before, between and after frames are counted and skipped", () => {
    const wire = "\n\r\nSEND\n\n\0\n\n\r\nSUBSCRIBE\nid:1\n\n\0\r\n";
    for (const split of [pushAll, pushBytewise]) {
      const p = StompParser.forServer();
      const frames = split(p, bytes(wire));
      assert.deepEqual(frames.map((f) => f.command), ["SEND", "SUBSCRIBE"]);
      assert.equal(p.heartbeats, 6);
    }
  });

  test("a heart-beat CR and its LF may arrive in different chunks", () => {
    const p = StompParser.forServer();
    assert.deepEqual(p.push(bytes("\r")), []);
    assert.equal(p.heartbeats, 0);
    assert.deepEqual(p.push(bytes("\n")), []);
    assert.equal(p.heartbeats, 1);
  });

  test("a CR between frames that is not followed by LF is an error", () => {
    assertCodecError(() => StompParser.forServer().push(bytes("\rSEND\n\n\0")), "invalid-command", /carriage return between frames/, /0x53/);
  });
});

describe("frames and chunks", () => {
  test("several frames in one chunk, and the same frames one byte at a time", () => {
    const wire = "SUBSCRIBE\nid:0\ndestination:/topic/x\n\n\0SEND\ndestination:/topic/x\ncontent-length:2\n\nhi\0DISCONNECT\nreceipt:7\n\n\0";
    const frames = parseBothWays(wire);
    assert.deepEqual(frames.map((f) => f.command), ["SUBSCRIBE", "SEND", "DISCONNECT"]);
    assert.equal(text(frames[1].body), "hi");
    assert.equal(header(frames[2], "receipt"), "7");
  });

  test("a frame split across two chunks at every position", () => {
    const wire = bytes("SEND\ndestination:/q\ncontent-length:3\n\na\0b\0\nSEND\n\nxyz\0");
    for (let cut = 0; cut <= wire.length; cut++) {
      const p = StompParser.forServer();
      const frames = [...p.push(wire.subarray(0, cut)), ...p.push(wire.subarray(cut))];
      assert.equal(frames.length, 2, `cut at ${cut}`);
      assert.deepEqual([...frames[0].body], [0x61, 0, 0x62]);
      assert.equal(text(frames[1].body), "xyz");
    }
  });

  test("repeated headers are kept in order and header() returns the first", () => {
    const [f] = parseBothWays("SEND\nfoo:1\nbar:x\nfoo:2\n\n\0");
    assert.deepEqual(f.headers, [["foo", "1"], ["bar", "x"], ["foo", "2"]]);
    assert.equal(header(f, "foo"), "1");
    assert.equal(header(f, "missing"), undefined);
  });

  test("the first content-length wins", () => {
    const [f] = parseBothWays("SEND\ncontent-length:3\ncontent-length:1\n\na\0b\0");
    assert.deepEqual([...f.body], [0x61, 0, 0x62]);
  });

  test("a content-length body may contain NUL bytes", () => {
    const body = new Uint8Array([0, 1, 0, 255, 0]);
    const [f] = parseBothWays(concat(bytes("SEND\ncontent-length:5\n\n"), body, new Uint8Array([0])));
    assert.deepEqual(f.body, body);
  });

  test("content-length:0 gives an empty body", () => {
    const [f] = parseBothWays("SEND\ncontent-length:0\n\n\0");
    assert.equal(f.body.length, 0);
  });

  test("without content-length the body runs to the first NUL", () => {
    const frames = parseBothWays("SEND\n\nhello world\0SEND\n\n\0");
    assert.equal(text(frames[0].body), "hello world");
    assert.equal(frames[1].body.length, 0);
    // a NUL where a frame should start is not a frame
    assertCodecError(() => StompParser.forServer().push(bytes("SEND\n\nx\0\0")), "invalid-command", /NUL/);
  });

  test("a body spread over many chunks is assembled in order", () => {
    const p = StompParser.forServer();
    const frames = [
      ...p.push(bytes("SEND\n\nab")),
      ...p.push(bytes("cd")),
      ...p.push(bytes("ef\0")),
    ];
    assert.equal(text(frames[0].body), "abcdef");
  });

  test("the body is a copy: reusing the pushed chunk does not change frames", () => {
    for (const wire of ["SEND\n\nabc\0", "SEND\ncontent-length:3\n\nabc\0"]) {
      const chunk = bytes(wire);
      const [f] = StompParser.forServer().push(chunk);
      chunk.fill(0x7a);
      assert.equal(text(f.body), "abc");
    }
  });

  test("a Node Buffer chunk (as ws delivers) gives plain Uint8Array bodies that do not alias it", () => {
    for (const wire of ["SEND\n\nabc\0", "SEND\ncontent-length:3\n\nabc\0"]) {
      const chunk = Buffer.from(wire);
      const [f] = StompParser.forServer().push(chunk);
      chunk.fill(0x7a);
      assert.equal(f.body.constructor, Uint8Array);
      assert.equal(text(f.body), "abc");
    }
  });

  test("header values keep colons and surrounding white space", () => {
    const [f] = parseBothWays("SEND\ndestination: /a:b \n\n\0");
    assert.deepEqual(f.headers, [["destination", " /a:b "]]);
  });

  test("UTF-8 header names and values, including a BOM inside a value", () => {
    const [f] = parseBothWays("SEND\nnäme:välue 😀\nk:\uFEFFx\n\n\0");
    assert.deepEqual(f.headers, [["näme", "välue 😀"], ["k", "\uFEFFx"]]);
  });
});

describe("header escaping per version", () => {
  const escaped = "SEND\na\\cb:x\\ny\\\\z\\cw\n\n\0";

  test("1.2 and 1.1 unescape names and values", () => {
    for (const version of ["1.1", "1.2"] as const) {
      const [f] = parseBothWays(escaped, () => StompParser.forServer({ version }));
      assert.deepEqual(f.headers, [["a:b", "x\ny\\z:w"]]);
    }
  });

  test("1.0 leaves backslashes alone", () => {
    const [f] = parseBothWays(escaped, () => StompParser.forServer({ version: "1.0" }));
    assert.deepEqual(f.headers, [["a\\cb", "x\\ny\\\\z\\cw"]]);
  });

  test("\\r is accepted in 1.2 and fatal in 1.1", () => {
    const [f] = parseBothWays("SEND\nk:a\\rb\n\n\0");
    assert.deepEqual(f.headers, [["k", "a\rb"]]);
    assertCodecError(() => StompParser.forServer({ version: "1.1" }).push(bytes("SEND\nk:a\\rb\n\n\0")), "invalid-escape", /header line 1/, /\\r/);
  });

  test("an undefined escape is fatal and named, in the value or the name", () => {
    assertCodecError(() => StompParser.forServer().push(bytes("SEND\nok:1\nk:a\\tb\n\n\0")), "invalid-escape", /header line 2 \("k"\) value/, /\\\\t/);
    assertCodecError(() => StompParser.forServer().push(bytes("SEND\nk\\x:v\n\n\0")), "invalid-escape", /header line 1 name/);
  });

  test("CONNECT, STOMP and CONNECTED headers are never unescaped", () => {
    for (const c of ["CONNECT", "STOMP"]) {
      const [f] = parseBothWays(`${c}\nlogin:a\\tb\npasscode:x\\n\n\n\0`);
      assert.deepEqual(f.headers, [["login", "a\\tb"], ["passcode", "x\\n"]]);
    }
    const [f] = parseBothWays("CONNECTED\nserver:s\\c1\n\n\0", () => StompParser.forClient());
    assert.deepEqual(f.headers, [["server", "s\\c1"]]);
  });

  test("the version can change between frames of one chunk through pushEach", () => {
    const p = StompParser.forServer({ version: "1.2" });
    const seen: Frame[] = [];
    p.pushEach(bytes("CONNECT\naccept-version:1.0\n\n\0SEND\nk:a\\tb\n\n\0"), (f) => {
      seen.push(f);
      if (f.command === "CONNECT") p.version = "1.0";
    });
    assert.deepEqual(seen[1].headers, [["k", "a\\tb"]]);
  });
});

describe("malformed headers", () => {
  test("a header line without a colon is invalid in every version", () => {
    for (const version of ["1.0", "1.1", "1.2"] as const) {
      assertCodecError(() => StompParser.forServer({ version }).push(bytes("SEND\nk:v\nnocolon\n\n\0")), "invalid-header", /header line 2 has no colon/, /"nocolon"/);
    }
  });

  test("an empty header name is invalid", () => {
    assertCodecError(() => StompParser.forServer().push(bytes("SEND\n:v\n\n\0")), "invalid-header", /header line 1 has an empty name/);
  });

  test("a NUL before the blank line is an invalid header, whole or split", () => {
    assertCodecError(() => StompParser.forServer().push(bytes("SEND\nk:v\n\0")), "invalid-header", /header line 2 contains a NUL/);
    assertCodecError(() => StompParser.forServer().push(bytes("DISCONNECT\nk:v\0\n")), "invalid-header", /header line 1 contains a NUL/);
  });

  test("a header that is not UTF-8 is invalid-encoding", () => {
    const wire = concat(bytes("SEND\nk:"), new Uint8Array([0xff, 0xfe, 0x41]), bytes("\n\n\0"));
    assertCodecError(() => StompParser.forServer().push(wire), "invalid-encoding", /header line 1 is not valid UTF-8/);
    const p = StompParser.forServer();
    assertCodecError(() => pushBytewise(p, wire), "invalid-encoding", /header line 1/);
  });
});

describe("content-length", () => {
  test("anything but a non-negative integer is invalid-content-length", () => {
    for (const bad of ["-1", "abc", "1.5", "", " 5", "5 ", "+5", "0x10"]) {
      assertCodecError(
        () => StompParser.forServer().push(bytes(`SEND\ncontent-length:${bad}\n\n\0`)),
        "invalid-content-length",
        new RegExp(`content-length ${JSON.stringify(bad).replace(/[.+]/g, "\\$&")} is not a non-negative integer`),
      );
    }
  });

  test("a byte other than NUL after the body is missing-nul", () => {
    assertCodecError(() => StompParser.forServer().push(bytes("SEND\ncontent-length:2\n\nabc\0")), "missing-nul", /2-byte body/, /0x63/);
    const p = StompParser.forServer();
    p.push(bytes("SEND\ncontent-length:2\n\nab"));
    assertCodecError(() => p.push(bytes("\n")), "missing-nul", /0x0a/);
  });
});

describe("limits", () => {
  test("defaults are 64 KiB frames, 64 headers, 8 KiB header lines", () => {
    assert.deepEqual({ ...DEFAULT_LIMITS }, { maxFrameBytes: 65536, maxHeaders: 64, maxHeaderLineBytes: 8192 });
    assert.deepEqual({ ...StompParser.forServer().limits }, { ...DEFAULT_LIMITS });
  });

  test("a content-length beyond the limit fails as soon as the headers end", () => {
    const p = StompParser.forServer({ maxFrameBytes: 100 });
    assertCodecError(() => p.push(bytes("SEND\ncontent-length:1000\n\n")), "frame-too-large", /content-length 1000/, /limit 100/);
  });

  test("a frame without content-length that streams forever is stopped as soon as it passes the limit", () => {
    const p = StompParser.forServer({ maxFrameBytes: 1000 });
    p.push(bytes("SEND\n\n")); // 6 bytes
    let pushed = 6;
    const chunk = new Uint8Array(10).fill(0x61);
    let err: unknown;
    try {
      while (pushed < 5000) {
        p.push(chunk);
        pushed += chunk.length;
      }
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof StompCodecError && err.code === "frame-too-large", String(err));
    assert.match(err.message, /exceeds 1000 bytes/);
    assert.equal(pushed, 996, "failed on the first chunk that crossed the limit");
  });

  test("a frame exactly at the limit is accepted", () => {
    const frame = bytes(`SEND\n\n${"a".repeat(94)}\0`); // 100 bytes before the NUL
    assert.equal(StompParser.forServer({ maxFrameBytes: 100 }).push(frame).length, 1);
    assertCodecError(() => StompParser.forServer({ maxFrameBytes: 99 }).push(frame), "frame-too-large", /99/);
  });

  test("headers alone can exceed the frame limit", () => {
    const p = StompParser.forServer({ maxFrameBytes: 200 });
    assertCodecError(() => pushBytewise(p, bytes(`SEND\n${"k:vvvvvvvvvv\n".repeat(30)}\n\0`)), "frame-too-large", /200 bytes/);
  });

  test("more than maxHeaders headers is too-many-headers", () => {
    const p = StompParser.forServer({ maxHeaders: 3 });
    assert.equal(p.push(bytes("SEND\na:1\nb:2\nc:3\n\n\0")).length, 1);
    assertCodecError(() => p.push(bytes("SEND\na:1\nb:2\nc:3\nd:4\n\n\0")), "too-many-headers", /more than 3 headers/);
  });

  test("a complete header line over the limit names its number and size", () => {
    const line = "k:" + "v".repeat(8998); // 9000 bytes
    assertCodecError(
      () => StompParser.forServer({ maxFrameBytes: 100_000 }).push(bytes(`SEND\na:1\nb:2\n${line}\n\n\0`)),
      "header-line-too-long",
      /header line 3 is 9000 bytes, limit 8192/,
    );
  });

  test("a header line over the limit fails before its end of line arrives", () => {
    const p = StompParser.forServer({ maxHeaderLineBytes: 50 });
    p.push(bytes("SEND\nk:"));
    p.push(bytes("v".repeat(49))); // 51 bytes so far: could still be 50 + CR
    assertCodecError(() => p.push(bytes("v")), "header-line-too-long", /header line 1 exceeds 50 bytes/);
  });

  test("a header line exactly at the limit with CRLF is accepted", () => {
    const p = StompParser.forServer({ maxHeaderLineBytes: 10 });
    const frames = pushBytewise(p, bytes("SEND\r\nk:12345678\r\n\r\n\0"));
    assert.deepEqual(frames[0].headers, [["k", "12345678"]]);
  });

  test("limits must be positive integers", () => {
    assert.throws(() => StompParser.forServer({ maxFrameBytes: 0 }), /maxFrameBytes must be a positive integer, got 0/);
    assert.throws(() => StompParser.forClient({ maxHeaders: 1.5 }), /maxHeaders must be a positive integer/);
  });
});

describe("failure is sticky", () => {
  test("after a throw every push throws the same error", () => {
    const p = StompParser.forServer();
    const err = assertCodecError(() => p.push(bytes("BAD\n\n\0")), "invalid-command");
    assert.ok(p.isFailed);
    assert.throws(() => p.push(bytes("SEND\n\n\0")), (e) => e === err);
    assert.throws(() => p.push(new Uint8Array(0)), (e) => e === err);
  });
});
