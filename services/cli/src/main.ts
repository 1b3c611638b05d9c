#!/usr/bin/env node
// The one entry point. Node's default for SIGHUP is to exit (code 129), so the
// handler goes in before the rest of Herald is even loaded; run.ts does the rest.
import { HangupSignal } from "./hangup.js";

const hangup = new HangupSignal("SIGHUP").install();
const { run } = await import("./run.js");
await run(hangup);
