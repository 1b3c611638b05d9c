// Preloaded (node --import) into a Herald process by tls-reload.test.ts: sends the
// process a SIGHUP the moment a SIGHUP handler is installed, so the signal lands
// at the earliest point Herald can handle it (while it is still loading and
// starting), not at whatever instant a test happens to pick.
let sent = false;
process.on("newListener", (event) => {
  if (event !== "SIGHUP" || sent) return;
  sent = true;
  setImmediate(() => process.kill(process.pid, "SIGHUP"));
});
