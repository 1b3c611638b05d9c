import { ConfigError, readInt, readString } from "@herald/config";
import { createLogger } from "@herald/observability";
import { loadUws, UwsUnavailableError } from "@herald/uws";
import { startHerald } from "./herald.js";
import type { HangupSignal } from "./hangup.js";

// Herald's process, once main.ts has taken over SIGHUP: reads the environment,
// picks implementations, starts roles, stops on SIGTERM/SIGINT.
const logger = createLogger();

export async function run(hangup: HangupSignal): Promise<void> {
  await main(hangup).catch((err: unknown) => {
    if (err instanceof ConfigError) {
      logger.fatal(`configuration error: ${err.message}`);
      console.error(`herald: configuration error: ${err.message}`);
      process.exit(78);
    }
    logger.fatal({ err }, "failed to start");
    process.exit(1);
  });
}

async function main(hangup: HangupSignal): Promise<void> {
  let uws;
  try {
    uws = loadUws();
  } catch (err) {
    if (err instanceof UwsUnavailableError) {
      logger.fatal(err.message);
      console.error(`herald: ${err.message}`);
      process.exit(78);
    }
    throw err;
  }
  const herald = await startHerald({
    uws,
    env: process.env,
    logger,
    host: readString(process.env, "HOST", "0.0.0.0"),
    port: readInt(process.env, "PORT", 8080, { min: 0, max: 65535 }),
  });
  hangup.ready(herald, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting without finishing the drain");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "stopping");
    herald.stop().then(
      () => {
        logger.info({ signal }, "stopped");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
