import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Versions, type Client, type IMessage } from "@stomp/stompjs";
import { createBus, whenBusUp, type Bus } from "@herald/bus";
import { Inbox, RawStomp, RedisServer, connectStomp, frameText } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { header } from "@herald/stomp";

// Header injection across STOMP versions, with real @stomp/stompjs clients speaking 1.0, 1.1
// and 1.2. The attack: a 1.2 client SENDs `\n` (or `\r`) escapes in a custom header or in
// content-type; written raw to a 1.0 subscriber they forge header lines, a content-length and
// a body (1.1 has no escape for CR). Such SENDs are refused; and a message that reaches the
// fan-out with such headers from elsewhere (here: published on the Redis bus directly, as
// another node or a backend could) reaches each subscriber without what its version cannot carry.
let redis: RedisServer;
let herald: HeraldProcess;
let bus: Bus;
const subscribers: Array<{ version: string; client: Client; inbox: Inbox }> = [];

before(async () => {
  redis = await RedisServer.start();
  herald = await HeraldProcess.start({ env: { REDIS_URL: redis.url, LOG_LEVEL: "info" } });
  bus = createBus({ redisUrl: redis.url, redis: { name: "test-publisher" } });
  await whenBusUp(bus);
  for (const version of ["1.0", "1.1", "1.2"]) {
    const client = await connectStomp(herald.wsUrl, { stompVersions: new Versions([version]), protocols: [`v${version.replace(".", "")}.stomp`] });
    const inbox = new Inbox();
    await new Promise<void>((resolve) => {
      client.watchForReceipt(`r-${version}`, () => resolve());
      client.subscribe("/topic/inject", inbox.push, { receipt: `r-${version}` });
    });
    subscribers.push({ version, client, inbox });
  }
});

after(async () => {
  for (const s of subscribers) await s.client.deactivate();
  await bus?.close();
  await herald?.stop();
  await redis?.dispose();
});

const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("each client negotiated the version it speaks", () => {
  assert.deepEqual(subscribers.map((s) => s.client.connectedVersion), ["1.0", "1.1", "1.2"]);
});

test("a 1.2 SEND with \\n or \\r escapes in a custom header or content-type is refused with ERROR 'invalid header'; no subscriber of any version gets anything", async () => {
  const attacks: Array<Record<string, string>> = [
    { "x-note": "hi\\ncontent-length\\c6\\n\\nPWNED!" },
    { "content-type": "text/plain\\nforged\\cyes" },
    { "x-cr": "a\\rb" },
    { "x\\nforged": "yes" },
    { "x\\cy": "colon in a name" },
    { "herald-redelivery-count": "3" },
  ];
  for (const extra of attacks) {
    const attacker = await RawStomp.connected(herald.wsUrl);
    attacker.send(frameText("SEND", { destination: "/topic/inject", receipt: "s", ...extra }, "PWNED!"));
    const err = await attacker.next();
    assert.equal(err.command, "ERROR", JSON.stringify(extra));
    assert.equal(header(err, "message"), "invalid header");
    assert.match(Buffer.from(err.body).toString(), /refused: (its (name|value) contains a (line feed|carriage return|colon)|headers starting with herald- are set by the server)/);
    await attacker.whenClosed();
  }
  await quiet(300);
  for (const s of subscribers) assert.deepEqual(s.inbox.messages.map((m) => m.body), [], `STOMP ${s.version} subscriber`);
});

test("headers every version can carry reach every subscriber; the body and content-length stay intact", async () => {
  const sender = await RawStomp.connected(herald.wsUrl);
  sender.send(frameText("SEND", { destination: "/topic/inject", receipt: "s", "content-type": "text/plain;charset=utf-8", "x-plain": "hello world", "x-colon": "a\\cb" }, "body\nwith\nlines"));
  assert.equal((await sender.next()).command, "RECEIPT");
  for (const s of subscribers) {
    const [m] = await s.inbox.waitFor(1);
    assert.equal(m!.body, "body\nwith\nlines", `STOMP ${s.version}`);
    assert.equal(m!.headers["x-plain"], "hello world");
    assert.equal(m!.headers["content-type"], "text/plain;charset=utf-8");
    // stompjs decodes escapes only in 1.2; 1.0 has none, so the colon arrives as it is there.
    if (s.version !== "1.1") assert.equal(m!.headers["x-colon"], "a:b", `STOMP ${s.version}`);
  }
  for (const s of subscribers) s.inbox.messages.length = 0;
  sender.close();
});

test("a message with such headers from elsewhere: each version gets what it can carry, nothing forged", async () => {
  await bus.publish({
    destination: "/topic/inject",
    id: "from-the-bus",
    headers: { "x-safe": "ok", "x-lf": "line1\ncontent-length:6\n\nPWNED!", "x-cr": "a\rb", "x\nforged": "yes" },
    contentType: "text/plain\nforged-type:yes",
    body: Buffer.from("the real body"),
    publishedAt: Date.now(),
  });
  const got = new Map<string, IMessage>();
  for (const s of subscribers) {
    const [m] = await s.inbox.waitFor(1);
    got.set(s.version, m!);
    assert.equal(m!.body, "the real body", `STOMP ${s.version}`);
    assert.equal(m!.headers["x-safe"], "ok");
    // A forged line would be a header of its own (stompjs 1.1 shows escapes undecoded: "x\\nforged" is the escaped name).
    for (const name of ["forged", "forged-type"]) assert.equal(m!.headers[name], undefined, `STOMP ${s.version} got a forged header ${name}`);
    assert.equal(m!.headers["content-length"], String("the real body".length));
  }
  const v10 = got.get("1.0")!.headers;
  assert.equal(v10["x-lf"], undefined, "1.0 cannot carry a line feed: left out");
  assert.equal(v10["x-cr"], undefined);
  assert.equal(v10["content-type"], undefined);
  const v11 = got.get("1.1")!.headers;
  assert.equal(v11["x-cr"], undefined, "1.1 cannot carry a carriage return: left out");
  assert.ok(v11["x-lf"] !== undefined, "1.1 escapes a line feed");
  const v12 = got.get("1.2")!.headers;
  assert.equal(v12["x-lf"], "line1\ncontent-length:6\n\nPWNED!");
  assert.equal(v12["x-cr"], "a\rb");
  assert.equal(v12["content-type"], "text/plain\nforged-type:yes");
  await quiet(200);
  for (const s of subscribers) assert.equal(s.inbox.messages.length, 1, `STOMP ${s.version}: exactly one frame`);
});
