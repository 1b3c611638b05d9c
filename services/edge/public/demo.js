// Herald's demo: a small notification center on the classic Spring browser pair,
// sockjs-client (`new SockJS("/ws")`) and stompjs (`Stomp.over`), both served by Herald.
//
// It subscribes to the user's /user/queue/notifications (kept in history: each MESSAGE
// carries herald-offset and herald-epoch) and to /topic/messages (the chat's topic). When
// the connection drops it reconnects and resubscribes with herald-since-offset/-epoch, so
// Herald replays what was missed; the replay ends with the SUBSCRIBE's RECEIPT, which says
// how it went (herald-recovered).
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const USER_QUEUE = "/user/queue/notifications";
  const TOPIC = "/topic/messages";
  const RECONNECT_MS = 2000;
  const FEED_MAX = 200;

  const params = new URLSearchParams(location.search);
  // ?transports=a,b limits SockJS to those transports (to try the fallbacks in a browser that has WebSocket).
  const transports = params.get("transports");
  const sockOptions = transports ? { transports: transports.split(",") } : {};

  let user = params.get("user") ?? "alice"; // what CONNECT's login header asks for
  let online = true; // false after "Drop the connection", until "Reconnect"
  let generation = 0; // callbacks of a replaced connection are ignored
  let reconnectTimer;
  let client;
  let sock;
  let receiptSeq = 0;
  /** Last position seen on USER_QUEUE, per user: where a resubscription resumes. */
  const positions = new Map();
  /** Between a user SUBSCRIBE and its RECEIPT: the messages of that time come from history. */
  let replay;

  function setState(state, text) {
    $("state").dataset.state = state;
    $("state").textContent = text;
  }

  function connect() {
    const gen = ++generation;
    clearTimeout(reconnectTimer);
    setState("connecting", "connecting…");
    $("transport").textContent = "–";
    sock = new SockJS("/ws", null, sockOptions);
    client = Stomp.over(sock);
    client.debug = null;
    window.sock = sock; // for the browser tests: the transport in use
    window.stompClient = client;
    client.onreceipt = (frame) => gen === generation && onReceipt(frame);
    const headers = user ? { login: user, passcode: "demo" } : {};
    client.connect(headers, (frame) => gen === generation && onConnected(frame), (error) => gen === generation && onError(error));
  }

  function onConnected(frame) {
    const who = frame.headers["user-name"];
    setState("connected", "connected");
    $("transport").textContent = sock.transport ?? "?";
    $("user-name").textContent = who ?? "anonymous";
    $("user-name").dataset.user = who ?? "";
    const note = $("login-note");
    if (user && !who) {
      note.textContent =
        `Connected anonymously: Herald ignored login "${user}". To try users, start it with ` +
        `HERALD_INSECURE_LOGIN_AS_USER=true (development only; production uses JWTs). ` +
        `Topic messages still arrive; /user/queue/notifications needs a user.`;
      note.hidden = false;
    } else note.hidden = true;
    client.subscribe(TOPIC, (m) => show(m, false));
    if (who) subscribeUser(who);
  }

  function subscribeUser(who) {
    const since = positions.get(who);
    const headers = { receipt: `recovery-${++receiptSeq}` };
    if (since) {
      headers["herald-since-offset"] = String(since.offset);
      headers["herald-since-epoch"] = since.epoch;
    }
    replay = { receipt: headers.receipt, who, since, count: 0 };
    client.subscribe(USER_QUEUE, (m) => show(m, true), headers);
  }

  function onReceipt(frame) {
    if (!replay || frame.headers["receipt-id"] !== replay.receipt) return;
    const { since, count, who } = replay;
    replay = undefined;
    const outcome = frame.headers["herald-recovered"];
    const box = $("recovery");
    box.dataset.count = String(count);
    box.dataset.since = since ? String(since.offset) : "";
    if (outcome) box.dataset.outcome = outcome;
    else delete box.dataset.outcome;
    const what = count === 1 ? "1 notification" : `${count} notifications`;
    if (since) {
      box.textContent =
        outcome === "complete" || outcome === undefined
          ? `Resubscribed after offset ${since.offset}: ${what} missed while disconnected, recovered from history (herald-recovered: ${outcome ?? "complete"}).`
          : `Resubscribed after offset ${since.offset}: history could not fill the gap (herald-recovered: ${outcome}); an app reloads from its backend now.`;
    } else {
      box.textContent = `Subscribed as ${who}: ${what} from history (a user's notifications wait there while nobody is connected).`;
    }
    box.hidden = false;
  }

  function show(message, isUserQueue) {
    const offset = message.headers["herald-offset"];
    const epoch = message.headers["herald-epoch"];
    const who = $("user-name").dataset.user;
    if (isUserQueue && offset !== undefined) {
      const last = positions.get(who);
      // Seen already (a replay may repeat what arrived live): exactly-once for the reader.
      if (last && last.epoch === epoch && Number(offset) <= last.offset) return;
      positions.set(who, { offset: Number(offset), epoch });
    }
    const fromHistory = isUserQueue && replay !== undefined;
    if (fromHistory) replay.count++;
    const li = document.createElement("li");
    li.dataset.destination = message.headers.destination;
    if (offset !== undefined) {
      li.dataset.offset = offset;
      li.dataset.epoch = epoch;
    }
    li.className = fromHistory ? "from-history" : "live";
    const time = document.createElement("time");
    time.textContent = new Date().toLocaleTimeString();
    const dest = document.createElement("code");
    dest.textContent = message.headers.destination;
    const pos = document.createElement("span");
    pos.className = "offset";
    pos.textContent = offset !== undefined ? `offset ${offset}` : "no history";
    pos.title = offset !== undefined ? `herald-offset ${offset}, herald-epoch ${epoch}` : "this destination keeps no history (at-most-once)";
    const body = document.createElement("span");
    body.className = "body";
    body.textContent = message.body;
    if (fromHistory) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "from history";
      body.append(badge);
    }
    li.append(time, dest, pos, body);
    const feed = $("feed");
    feed.prepend(li);
    while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
  }

  function onError(error) {
    if (typeof error !== "string") {
      // An ERROR frame: Herald says what was wrong, then closes the connection (the close follows).
      const li = document.createElement("li");
      li.className = "error";
      li.textContent = `ERROR: ${error.headers.message ?? ""} ${error.body ?? ""}`.trim();
      $("feed").prepend(li);
      return;
    }
    replay = undefined;
    if (!online) {
      setState("offline", "offline: you dropped the connection");
      return;
    }
    setState("reconnecting", `disconnected: reconnecting in ${RECONNECT_MS / 1000} s…`);
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, RECONNECT_MS);
  }

  /** Replaces the connection at once (user switch): the old one's callbacks are ignored. */
  function reconnectNow() {
    generation++;
    try {
      if (client && client.connected) client.disconnect();
      else if (sock) sock.close();
    } catch {
      // already closed
    }
    connect();
  }

  $("offline").addEventListener("click", () => {
    if (online) {
      // A real drop: the socket closes without DISCONNECT, as when a network goes away.
      online = false;
      $("offline").textContent = "Reconnect";
      clearTimeout(reconnectTimer);
      if (client && client.connected) sock.close();
      else setState("offline", "offline: you dropped the connection");
    } else {
      online = true;
      $("offline").textContent = "Drop the connection";
      connect();
    }
  });

  $("user-input").value = user;
  if (user) $("publish-user").value = user;
  $("user-form").addEventListener("submit", (e) => {
    e.preventDefault();
    user = $("user-input").value.trim();
    $("publish-user").value = user || $("publish-user").value;
    online = true;
    $("offline").textContent = "Drop the connection";
    reconnectNow();
  });

  $("publish-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const toUser = document.querySelector("input[name=target]:checked").value === "user";
    const body = $("publish-body").value;
    const notification = toUser
      ? { user: $("publish-user").value.trim(), destination: "/queue/notifications", body }
      : { destination: $("publish-topic").value.trim(), body };
    const headers = { "content-type": "application/json" };
    const key = $("publish-key").value.trim();
    if (key) headers.authorization = `Bearer ${key}`;
    const result = $("publish-result");
    try {
      const r = await fetch("/v1/notifications", { method: "POST", headers, body: JSON.stringify(notification) });
      result.dataset.status = String(r.status);
      result.dataset.ok = String(r.ok);
      result.textContent = `${r.status} ${await r.text()}`;
    } catch (err) {
      result.dataset.status = "0";
      result.dataset.ok = "false";
      result.textContent = `request failed: ${err.message}`;
    }
  });

  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("text");
    if (!client || !client.connected || input.value === "") return;
    client.send("/app/sendMessage", {}, input.value);
    input.value = "";
  });

  connect();
})();
