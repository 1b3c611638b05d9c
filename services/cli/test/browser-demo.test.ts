// The demo page in a real browser (headless Chromium driven by playwright-core) against
// the real gateway: a notification center on the Spring pair, new SockJS("/ws") + classic
// stompjs Stomp.over. Assertions read the page's elements (state, transport, user, the
// feed's offsets, the recovery line); screenshots of each state go to a temporary folder
// whose path the test prints, for a person to look at.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
/** The demo as `HERALD_INSECURE_LOGIN_AS_USER=true npm start` serves it: built-in rules, scripts from the gateway. */
const DEMO_ENV = { HERALD_INSECURE_LOGIN_AS_USER: "true", HERALD_ACL_FILE: "", HERALD_SOCKJS_CLIENT_URL: "/vendor/sockjs.min.js", HERALD_DRAIN_WINDOW_MS: "0" };
const USER_QUEUE = "/user/queue/notifications";

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
let screenshots: string;

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: the browser tests need it. Install it with: apt-get update && apt-get install -y chromium`);
  }
  screenshots = mkdtempSync(join(tmpdir(), "herald-demo-screenshots-"));
  console.log(`screenshots of the demo: ${screenshots}`);
  herald = await HeraldProcess.start({ env: DEMO_ENV });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
});

after(async () => {
  await browser?.close();
  await herald?.stop();
});

interface OpenPage {
  page: Page;
  problems: string[];
}

async function openDemo(base: string, query = ""): Promise<OpenPage> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("requestfailed", (r) => {
    // SockJS requests die with the connections the tests drop or stop; anything else is a failure.
    if (!r.url().includes("/ws/")) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`);
  });
  await page.goto(`${base}/${query}`, { timeout: 10_000 });
  await connected(page);
  return { page, problems };
}

const connected = (page: Page) => page.waitForSelector('#state[data-state="connected"]', { timeout: 15_000 });
const text = (page: Page, selector: string) => page.locator(selector).first().innerText();
const attr = (page: Page, selector: string, name: string) => page.locator(selector).first().getAttribute(name);
const shot = (page: Page, name: string) => page.screenshot({ path: join(screenshots, name), fullPage: true });

/** The feed's entries for one destination, oldest first, as the page shows them. */
async function feed(page: Page, destination: string): Promise<Array<{ offset: string | null; body: string; fromHistory: boolean }>> {
  const items = page.locator(`#feed li[data-destination="${destination}"]`);
  const out: Array<{ offset: string | null; body: string; fromHistory: boolean }> = [];
  for (let i = (await items.count()) - 1; i >= 0; i--) {
    const li = items.nth(i);
    out.push({ offset: await li.getAttribute("data-offset"), body: (await li.locator(".body").innerText()).replace(/from history$/, "").trim(), fromHistory: (await li.getAttribute("class")) === "from-history" });
  }
  return out;
}

const entry = (page: Page, destination: string, body: string) => page.locator(`#feed li[data-destination="${destination}"]`, { hasText: body }).first().waitFor({ timeout: 10_000 });

async function notify(base: string, notification: object): Promise<void> {
  const r = await fetch(`${base}/v1/notifications`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(notification) });
  assert.equal(r.status, 202, await r.text());
}

describe("the demo notification center in headless Chromium", () => {
  test("as a user: connection state, transport, live notifications with offsets from the page's form and a backend, topic and chat", { timeout: 90_000 }, async () => {
    const { page, problems } = await openDemo(herald.httpUrl, "?user=ann");
    assert.equal(await text(page, "#state"), "connected");
    assert.equal(await text(page, "#transport"), "websocket");
    assert.equal(await text(page, "#user-name"), "ann");
    assert.equal(await page.locator("#login-note").isHidden(), true, "no note: the server honoured the login");
    await page.waitForSelector('#recovery[data-count="0"]');

    // The page's own form POSTs to the API; the notification comes back over STOMP with its offset.
    await page.fill("#publish-user", "ann");
    await page.fill("#publish-body", "Your order has shipped");
    await page.click("#publish-form button[type=submit]");
    await page.waitForSelector('#publish-result[data-status="202"]');
    assert.match(await text(page, "#publish-result"), /^202 \{"id":"[^"]+"\}$/);
    await entry(page, USER_QUEUE, "Your order has shipped");
    // A backend's POST arrives the same way, next in the user's history.
    await notify(herald.httpUrl, { user: "ann", destination: "/queue/notifications", body: "Your parcel is out for delivery" });
    await entry(page, USER_QUEUE, "Your parcel is out for delivery");
    const [first, second] = await feed(page, USER_QUEUE);
    assert.equal(first!.body, "Your order has shipped");
    assert.ok(first!.offset !== null && /^\d+$/.test(first!.offset), "a user notification carries its offset");
    assert.equal(Number(second!.offset), Number(first!.offset) + 1);
    assert.deepEqual([first!.fromHistory, second!.fromHistory], [false, false]);
    // Nobody else's: a notification for bob does not reach ann's page.
    await notify(herald.httpUrl, { user: "bob", destination: "/queue/notifications", body: "for bob only" });

    // To the topic through the form: no history there, so no offset.
    await page.check("input[name=target][value=topic]");
    await page.fill("#publish-body", "Markets open");
    await page.click("#publish-form button[type=submit]");
    await entry(page, "/topic/messages", "Markets open");
    assert.equal(await page.locator('#feed li[data-destination="/topic/messages"] .offset').first().innerText(), "no history");

    // The chat: SEND /app/sendMessage → /topic/messages.
    await page.fill("#text", "typed into the chat");
    await page.click("#chat-form button[type=submit]");
    await entry(page, "/topic/messages", "typed into the chat");
    assert.equal((await feed(page, USER_QUEUE)).some((e) => e.body === "for bob only"), false);
    await shot(page, "1-live-notifications.png");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("a dropped connection: offline state, then the missed notifications recovered by offset (herald-recovered: complete)", { timeout: 90_000 }, async () => {
    const { page, problems } = await openDemo(herald.httpUrl, "?user=cat");
    await page.waitForSelector('#recovery[data-count="0"]');
    await notify(herald.httpUrl, { user: "cat", destination: "/queue/notifications", body: "before the drop" });
    await entry(page, USER_QUEUE, "before the drop");
    const last = Number((await feed(page, USER_QUEUE))[0]!.offset);

    await page.click("#offline");
    await page.waitForSelector('#state[data-state="offline"]');
    assert.equal(await text(page, "#offline"), "Reconnect");
    await notify(herald.httpUrl, { user: "cat", destination: "/queue/notifications", body: "missed one" });
    await notify(herald.httpUrl, { user: "cat", destination: "/queue/notifications", body: "missed two" });
    await shot(page, "2-offline.png");
    assert.equal((await feed(page, USER_QUEUE)).length, 1, "nothing arrives while offline");

    await page.click("#offline");
    await connected(page);
    await page.waitForSelector('#recovery[data-outcome="complete"]');
    assert.equal(await attr(page, "#recovery", "data-since"), String(last));
    assert.equal(await attr(page, "#recovery", "data-count"), "2");
    assert.match(await text(page, "#recovery"), new RegExp(`after offset ${last}: 2 notifications missed`));
    assert.deepEqual(await feed(page, USER_QUEUE), [
      { offset: String(last), body: "before the drop", fromHistory: false },
      { offset: String(last + 1), body: "missed one", fromHistory: true },
      { offset: String(last + 2), body: "missed two", fromHistory: true },
    ]);
    // Live again after the replay.
    await notify(herald.httpUrl, { user: "cat", destination: "/queue/notifications", body: "live again" });
    await entry(page, USER_QUEUE, "live again");
    assert.deepEqual((await feed(page, USER_QUEUE)).pop(), { offset: String(last + 3), body: "live again", fromHistory: false });
    await shot(page, "3-recovered.png");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("the server goes away: the page says it is reconnecting, comes back, and says history could not fill the gap", { timeout: 90_000 }, async () => {
    // A Herald of its own: this test stops it. The embedded default keeps history in memory.
    let own = await HeraldProcess.start({ env: DEMO_ENV });
    try {
      const { page } = await openDemo(own.httpUrl, "?user=dan");
      await notify(own.httpUrl, { user: "dan", destination: "/queue/notifications", body: "before the restart" });
      await entry(page, USER_QUEUE, "before the restart");
      await own.stop();
      await page.waitForSelector('#state[data-state="reconnecting"]', { timeout: 10_000 });
      assert.match(await text(page, "#state"), /reconnecting in 2 s/);
      await shot(page, "4-server-gone.png");
      own = await HeraldProcess.start({ env: DEMO_ENV, port: own.port });
      await connected(page);
      await page.waitForSelector("#recovery[data-outcome]");
      assert.equal(await attr(page, "#recovery", "data-outcome"), "epoch-changed");
      assert.match(await text(page, "#recovery"), /could not fill the gap \(herald-recovered: epoch-changed\)/);
      await shot(page, "5-server-back.png");
      await page.close();
    } finally {
      await own.stop();
    }
  });

  test("the user switch reconnects as another user, who gets only their own notifications", { timeout: 60_000 }, async () => {
    const { page, problems } = await openDemo(herald.httpUrl, "?user=eve");
    assert.equal(await text(page, "#user-name"), "eve");
    await page.fill("#user-input", "fay");
    await page.click("#user-form button[type=submit]");
    await page.waitForSelector('#user-name[data-user="fay"]');
    await connected(page);
    assert.equal(await page.inputValue("#publish-user"), "fay", "the form now posts to the new user");
    await notify(herald.httpUrl, { user: "eve", destination: "/queue/notifications", body: "for eve" });
    await notify(herald.httpUrl, { user: "fay", destination: "/queue/notifications", body: "for fay" });
    await entry(page, USER_QUEUE, "for fay");
    assert.deepEqual((await feed(page, USER_QUEUE)).map((e) => e.body), ["for fay"]);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("without HERALD_INSECURE_LOGIN_AS_USER the page connects anonymously and says what to set", { timeout: 60_000 }, async () => {
    const plain = await HeraldProcess.start({ env: { ...DEMO_ENV, HERALD_INSECURE_LOGIN_AS_USER: "false" } });
    try {
      const { page, problems } = await openDemo(plain.httpUrl, "?user=gus");
      assert.equal(await text(page, "#user-name"), "anonymous");
      assert.equal(await page.locator("#login-note").isVisible(), true);
      assert.match(await text(page, "#login-note"), /HERALD_INSECURE_LOGIN_AS_USER=true/);
      await page.check("input[name=target][value=topic]");
      await page.fill("#publish-body", "topics work for everyone");
      await page.click("#publish-form button[type=submit]");
      await entry(page, "/topic/messages", "topics work for everyone");
      assert.equal(await page.locator("#feed li.error").count(), 0, "no ERROR: the page does not subscribe to a user queue without a user");
      await shot(page, "6-anonymous.png");
      assert.deepEqual(problems, []);
      await page.close();
    } finally {
      await plain.stop();
    }
  });
});

/** The transport the page's own SockJS socket ended up using. */
function pageTransport(page: Page): Promise<{ transport: string | null; transportName: string | undefined }> {
  return page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    return { transport: g.sock?.transport ?? null, transportName: g.sock?._transport?.transportName };
  });
}

/** Types into the chat form and waits for the line to come back through /topic/messages. */
async function chat(page: Page, line: string): Promise<void> {
  await page.fill("#text", line);
  await page.click("#chat-form button[type=submit]");
  await entry(page, "/topic/messages", line);
}

describe("the demo's SockJS transports", () => {
  test("loads its scripts from the gateway; Spring's snippet works in the page", { timeout: 60_000 }, async () => {
    const { page, problems } = await openDemo(herald.httpUrl);
    assert.deepEqual(await pageTransport(page), { transport: "websocket", transportName: "websocket" });
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
    // The page's own subscription saw the snippet's message too.
    await entry(page, "/topic/messages", "Hello, WebSocket!");
    assert.deepEqual(problems, []);
    await page.close();
  });

  for (const transport of ["xhr-streaming", "xhr-polling", "eventsource", "iframe-htmlfile"]) {
    test(`with ?transports=${transport} the page runs over ${transport}, not WebSocket`, { timeout: 60_000 }, async () => {
      const { page, problems } = await openDemo(herald.httpUrl, `?transports=${transport}&user=hal`);
      assert.deepEqual(await pageTransport(page), { transport, transportName: transport });
      assert.equal(await text(page, "#transport"), transport);
      await chat(page, `hello over ${transport}`);
      await notify(herald.httpUrl, { user: "hal", destination: "/queue/notifications", body: `notified over ${transport}` });
      await entry(page, USER_QUEUE, `notified over ${transport}`);
      assert.deepEqual(problems, []);
      await page.close();
    });
  }
});
