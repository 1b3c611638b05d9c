// JWT over SockJS, with the clients Spring apps use (sockjs-client + classic stompjs):
// the token in the CONNECT passcode, or in the SockJS URL for transports that cannot set headers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";
import SockJS from "sockjs-client";
import { HeraldProcess } from "./herald-process.js";
import { nowSec, signJwt } from "./security-helpers.js";

interface ClassicFrame {
  command: string;
  headers: Record<string, string>;
  body: string;
}
interface ClassicClient {
  debug: ((msg: string) => void) | null;
  heartbeat: { outgoing: number; incoming: number };
  connect(headers: Record<string, string>, onConnect: (frame: ClassicFrame) => void, onError?: (error: ClassicFrame | string) => void): void;
  subscribe(destination: string, callback: (message: ClassicFrame) => void, headers?: Record<string, string>): { id: string; unsubscribe(): void };
  disconnect(callback?: () => void): void;
}
const Stomp = createRequire(import.meta.url)("stompjs") as { over(socket: unknown): ClassicClient };

const SECRET = randomBytes(32).toString("hex");
let herald: HeraldProcess;
before(async () => {
  herald = await HeraldProcess.start({ env: { HERALD_JWT_SECRET: SECRET, HERALD_ACL_FILE: "" } });
});
after(async () => {
  await herald?.stop();
});

/** Resolves with CONNECTED or the ERROR frame, whichever comes first. */
function connect(url: string, transport: string, headers: Record<string, string>): Promise<{ client: ClassicClient; sock: { close(): void }; frame: ClassicFrame }> {
  const sock = new SockJS(url, undefined, { transports: [transport] }) as unknown as { close(): void };
  const client = Stomp.over(sock);
  client.debug = null;
  client.heartbeat = { outgoing: 0, incoming: 0 };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to CONNECT over ${transport}`)), 8000);
    client.connect(
      headers,
      (frame) => (clearTimeout(timer), resolve({ client, sock, frame })),
      (err) => {
        clearTimeout(timer);
        if (typeof err === "string") reject(new Error(err));
        else resolve({ client, sock, frame: err });
      },
    );
  });
}

const token = (sub: string) => signJwt({ sub, exp: nowSec() + 60 }, SECRET);

for (const transport of ["websocket", "xhr-streaming"]) {
  test(`SockJS ${transport}: token as the CONNECT passcode`, async () => {
    const { sock, frame } = await connect(`${herald.httpUrl}/ws`, transport, { login: "x", passcode: await token("sally") });
    assert.equal(frame.command, "CONNECTED");
    assert.equal(frame.headers["user-name"], "sally");
    sock.close();
  });
}

test("SockJS xhr-streaming: token in the URL (access_token)", async () => {
  const { sock, frame } = await connect(`${herald.httpUrl}/ws?access_token=${await token("quentin")}`, "xhr-streaming", {});
  assert.equal(frame.command, "CONNECTED");
  assert.equal(frame.headers["user-name"], "quentin");
  sock.close();
});

test("SockJS: a token signed with another key is refused with ERROR", async () => {
  const { sock, frame } = await connect(`${herald.httpUrl}/ws`, "xhr-streaming", { passcode: await signJwt({ sub: "mallory", exp: nowSec() + 60 }, randomBytes(32).toString("hex")) });
  assert.equal(frame.command, "ERROR");
  assert.equal(frame.headers["message"], "authentication failed");
  sock.close();
});
