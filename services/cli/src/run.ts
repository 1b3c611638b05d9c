import { ConfigError, readInt, readString } from "@herald/config";
import { createLogger, type Logger } from "@herald/observability";
import { redact } from "@herald/redis";
import { loadUws, UwsUnavailableError } from "@herald/uws";
import { startBanner } from "./banner.js";
import { startHerald } from "./herald.js";
import type { HangupSignal } from "./hangup.js";
import { logSettingsFromEnv, showsBanner } from "./log-settings.js";

// Herald's process, once main.ts has taken over SIGHUP: reads the environment,
// picks implementations, starts roles, stops on SIGTERM/SIGINT.
const terminal = process.stdout.isTTY === true;
const logger = processLogger();

function processLogger(): Logger {
  let settings;
  try {
    settings = logSettingsFromEnv(process.env, terminal);
  } catch (err) {
    console.error(`herald: configuration error: ${(err as Error).message}`);
    process.exit(78);
  }
  try {
    return createLogger(settings);
  } catch {
    // pino-pretty (NODE_ENV=development) is a development dependency; installed Herald has none.
    return createLogger({ ...settings, format: terminal ? "text" : "json" });
  }
}

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
  if (showsBanner(process.env, terminal)) {
    const redisUrl = readString(process.env, "REDIS_URL");
    console.log(startBanner({ host: readString(process.env, "HOST", "0.0.0.0"), port: herald.port, tls: herald.tls, roles: herald.roles, redis: redisUrl ? redact(redisUrl) : undefined }));
  }
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
