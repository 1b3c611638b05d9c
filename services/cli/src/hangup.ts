import type { Logger } from "@herald/observability";

/** What a hang-up acts on once the server is listening. */
export interface HangupTarget {
  hangup(signal: string): void;
}

/**
 * SIGHUP for the whole life of the process. Node's default for SIGHUP is to exit
 * (code 129, no log line, no drain), so the handler must be in place before
 * anything slow loads. A hang-up that arrives while the server is still starting
 * is remembered and acted on once it listens (certificate files replaced during
 * start-up are then read again).
 */
export class HangupSignal {
  private target: HangupTarget | undefined;
  private pending = false;
  private readonly onSignal = (): void => this.receive();

  constructor(readonly signal: NodeJS.Signals = "SIGHUP") {}

  install(): this {
    process.on(this.signal, this.onSignal);
    return this;
  }

  /** The server is listening: hang-ups go to `target` from now on, starting with one that came early. */
  ready(target: HangupTarget, logger: Logger): void {
    this.target = target;
    if (!this.pending) return;
    this.pending = false;
    logger.info({ signal: this.signal }, "signal received while starting: acting on it now that the server listens");
    target.hangup(this.signal);
  }

  private receive(): void {
    if (this.target) this.target.hangup(this.signal);
    else this.pending = true;
  }
}
