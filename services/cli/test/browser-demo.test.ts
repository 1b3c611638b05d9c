// The demo page in a real browser (headless Chromium driven by playwright-core):
// the Spring snippet — new SockJS("/ws") + classic stompjs Stomp.over — against the
// real gateway, over WebSocket and over the HTTP fallbacks.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { HeraldProcess } from "./herald-process.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** Written during the run for a human to look at; not part of the repository. */
const SCREENSHOT = "/tmp/herald-demo.png";

// The snippet runs inside the page, whose globals TypeScript (lib without DOM) does not know.
interface PageGlobals {
  SockJS: new (url: string, reserved?: null, options?: { transports?: string[] }) => { transport: string | null };
  Stomp: {
    over(socket: unknown): {
      debug: unknown;
      connect(headers: object, onConnect: () => void, onError: (e: unknown) => void): void;
      subscribe(destination: string, cb: (response: { body: string }) => void): void;
      send(destination: string, headers: object, body: string): void;
      disconnect(): void;
    };
  };
  sock?: { transport: string | null; _transport: { transportName: string } | null };
}

let herald: HeraldProcess;
let browser: Browser;

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: the browser tests need it. Install it with: apt-get update && apt-get install -y chromium`);
  }
  herald = await HeraldProcess.start({ env: { HERALD_SOCKJS_CLIENT_URL: "/vendor/sockjs.min.js", HERALD_DRAIN_WINDOW_MS: "0" } });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
});

after(async () => {
  await browser?.close();
  await herald?.stop();
});

async function openDemo(query = ""): Promise<Page> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("requestfailed", (r) => {
    // The page's own SockJS session is cut when the test closes the page; anything else is a failure.
    if (!r.url().includes("/ws/")) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`);
  });
  await page.goto(`${herald.httpUrl}/${query}`, { timeout: 10_000 });
  await page.waitForFunction(() => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById("status").textContent.startsWith("connected"), undefined, { timeout: 10_000 });
  assert.deepEqual(problems, []);
  return page;
}

/** The transport the page's own SockJS socket ended up using. */
function pageTransport(page: Page): Promise<{ transport: string | null; transportName: string | undefined }> {
  return page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    return { transport: g.sock?.transport ?? null, transportName: g.sock?._transport?.transportName };
  });
}

/** Types into the chat form and waits for the line to come back through /topic/messages. */
async function chat(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.click("button[type=submit]");
  await page.locator("#log p", { hasText: text }).first().waitFor({ timeout: 10_000 });
}

describe("the demo page in headless Chromium", () => {
  test("loads its scripts from the gateway and chats over SockJS's WebSocket transport", { timeout: 60_000 }, async () => {
    const page = await openDemo();
    assert.deepEqual(await pageTransport(page), { transport: "websocket", transportName: "websocket" });
    await chat(page, "typed into the demo page");
    await page.screenshot({ path: SCREENSHOT });

    // Spring's snippet verbatim, in a fresh connection of the page.
    const result = await page.evaluate(
      () =>
        new Promise<{ body: string; transport: string | null }>((resolve, reject) => {
          const { SockJS, Stomp } = globalThis as unknown as PageGlobals;
          const socket = new SockJS("/ws");
          const stompClient = Stomp.over(socket);
          stompClient.debug = null;
          setTimeout(() => reject(new Error("no message within 8 s")), 8000);
          stompClient.connect({}, () => {
            stompClient.subscribe("/topic/messages", (response) => {
              if (response.body === "Hello, WebSocket!") resolve({ body: response.body, transport: socket.transport });
            });
            stompClient.send("/app/sendMessage", {}, "Hello, WebSocket!");
          }, (e) => reject(new Error(`connect failed: ${String(e)}`)));
        }),
    );
    assert.deepEqual(result, { body: "Hello, WebSocket!", transport: "websocket" });
    // The page's own chat subscription saw the snippet's message too.
    await page.locator("#log p", { hasText: "Hello, WebSocket!" }).first().waitFor({ timeout: 5000 });
    await page.close();
  });

  for (const transport of ["xhr-streaming", "xhr-polling", "eventsource", "iframe-htmlfile"]) {
    test(`with ?transports=${transport} the page chats over ${transport}, not WebSocket`, { timeout: 60_000 }, async () => {
      const page = await openDemo(`?transports=${transport}`);
      assert.deepEqual(await pageTransport(page), { transport, transportName: transport });
      await chat(page, `hello over ${transport}`);
      await page.close();
    });
  }
});
