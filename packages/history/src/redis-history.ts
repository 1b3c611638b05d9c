import { BatchRefusedError, checkOneSlot, DEFAULT_CHANNEL_PREFIX, decodeEnvelope, encodeEnvelope, type BusMessage, type StreamPosition } from "@herald/bus";
import { createRedisClient, isCluster, parseRedisUrl, type Cluster, type Redis, type RedisTarget } from "@herald/redis";
import { newEpoch } from "./epoch.js";
import {
  checkDestination,
  checkLimit,
  checkMessage,
  checkOptions,
  checkPosition,
  HistoryError,
  HistoryUnavailableError,
  withoutPosition,
  type BatchItem,
  type History,
  type HistoryOptions,
  type IncompleteReason,
  type ReadResult,
} from "./history.js";
import { DEFAULT_KEY_PREFIX, streamKeys, type StreamKeys } from "./redis-keys.js";
import { PUBLISH_SCRIPT, READ_SCRIPT } from "./redis-scripts.js";

export interface RedisHistoryOptions {
  /** REDIS_URL (see @herald/redis); give this or `target`. */
  redisUrl?: string;
  target?: RedisTarget;
  /** Must equal the channel prefix of the RedisBus the subscribers use. Default "herald:bus:". */
  channelPrefix?: string;
  /** Prefix of the history keys (no braces). Default "herald:history:". */
  keyPrefix?: string;
  /** Names the connection (`CLIENT LIST`: herald:<name>:history). Default "node". */
  name?: string;
  /**
   * "exact" (default) keeps exactly the newest maxMessages; "approximate" lets Redis trim
   * whole stream nodes (MAXLEN ~), cheaper, keeping somewhat more.
   */
  trim?: "exact" | "approximate";
  /**
   * How many of a stream's newest message ids are remembered to recognise a retried publish
   * (same message id): the retry gets the original position and is neither appended nor
   * delivered again. Default 64; 0 turns it off.
   */
  dedupeWindow?: number;
  /** A command without a reply within this time fails with HistoryUnavailableError (also the wait for the first connection). Default 5000 ms. */
  commandTimeoutMs?: number;
  /** Connection errors reported by ioredis (expected during outages). */
  onError?: (error: Error) => void;
}

type Client = Redis | Cluster;

/** A MULTI of the client, with the publish script (queued commands return the MULTI). */
interface ScriptedMulti {
  heraldHistoryPublishBuffer(meta: string, stream: string, recent: string, ...args: (string | Buffer)[]): ScriptedMulti;
  publish(channel: string, payload: Buffer): ScriptedMulti;
  spublish(channel: string, payload: Buffer): ScriptedMulti;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/** ioredis adds these methods with defineCommand; the *Buffer forms return Buffers instead of strings. */
interface ScriptedClient {
  heraldHistoryPublishBuffer(meta: string, stream: string, recent: string, ...args: (string | Buffer)[]): Promise<[number, Buffer, number]>;
  heraldHistoryReadBuffer(meta: string, stream: string, recent: string, ...args: string[]): Promise<[Buffer, number, Buffer?, Buffer[]?]>;
}

/**
 * History in Redis Streams. One Lua script per publish takes the next offset, creates the epoch
 * if the stream is new, XADDs the envelope (entry ID = `<offset>-0`), refreshes the TTL and
 * PUBLISHes the same envelope, position included, on the destination's bus channel (SPUBLISH
 * on Redis Cluster). Redis runs the script atomically, so subscribers see offsets in order, and
 * the order of the stream is the order of delivery.
 */
export class RedisHistory implements History {
  private readonly client: Client;
  private readonly scripted: ScriptedClient;
  private readonly channelPrefix: string;
  private readonly keyPrefix: string;
  private readonly publishCommand: "publish" | "spublish";
  private readonly trimMode: "=" | "~";
  private readonly timeoutMs: number;
  private readonly dedupeWindow: number;
  private everReady = false;
  private closed = false;

  constructor(private readonly options: RedisHistoryOptions) {
    const target = options.target ?? (options.redisUrl !== undefined ? parseRedisUrl(options.redisUrl) : undefined);
    if (!target) throw new HistoryError("RedisHistory needs redisUrl or target");
    this.channelPrefix = options.channelPrefix ?? DEFAULT_CHANNEL_PREFIX;
    this.keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    if (typeof this.keyPrefix !== "string" || /[{}]/.test(this.keyPrefix)) {
      throw new HistoryError(`RedisHistory: keyPrefix must be a string without braces (the hash tag is added per destination), got ${JSON.stringify(this.keyPrefix)}`);
    }
    const trim = options.trim ?? "exact";
    if (trim !== "exact" && trim !== "approximate") throw new HistoryError(`RedisHistory: trim must be "exact" or "approximate", got ${JSON.stringify(trim)}`);
    this.trimMode = trim === "exact" ? "=" : "~";
    this.timeoutMs = options.commandTimeoutMs ?? 5000;
    if (!(this.timeoutMs > 0)) throw new HistoryError(`RedisHistory: commandTimeoutMs must be > 0, got ${String(options.commandTimeoutMs)}`);
    this.dedupeWindow = options.dedupeWindow ?? 64;
    if (!Number.isSafeInteger(this.dedupeWindow) || this.dedupeWindow < 0) throw new HistoryError(`RedisHistory: dedupeWindow must be an integer >= 0, got ${String(options.dedupeWindow)}`);
    this.publishCommand = isCluster(target) ? "spublish" : "publish";

    // No offline queue: while Redis is away a call fails at once and the worker retries it later,
    // instead of piling up commands that would all run, late, on reconnect.
    this.client = createRedisClient(target, { name: `${options.name ?? "node"}:history`, offlineQueue: false });
    this.client.on("error", (err: Error) => this.options.onError?.(err));
    this.client.on("node error", (err: Error) => this.options.onError?.(err));
    this.client.on("ready", () => {
      this.everReady = true;
    });
    this.client.defineCommand("heraldHistoryPublish", { lua: PUBLISH_SCRIPT, numberOfKeys: 3 });
    this.client.defineCommand("heraldHistoryRead", { lua: READ_SCRIPT, numberOfKeys: 3 });
    this.scripted = this.client as unknown as ScriptedClient;
  }

  /** The keys and channel of a destination (see redis-keys.ts). */
  keysOf(destination: string): StreamKeys {
    checkDestination(destination, "keysOf");
    return streamKeys(destination, this.keyPrefix, this.channelPrefix);
  }

  async publish(message: BusMessage, options: HistoryOptions): Promise<BusMessage> {
    checkMessage(message);
    checkOptions(options, message.destination);
    const bare = withoutPosition(message);
    const k = streamKeys(message.destination, this.keyPrefix, this.channelPrefix);
    const [offset, epoch] = await this.run(`publish to "${message.destination}"`, () =>
      this.scripted.heraldHistoryPublishBuffer(k.meta, k.stream, k.recent, ...this.scriptArgs(bare, options, k)),
    );
    return { ...bare, position: { offset: Number(offset), epoch: epoch.toString("utf8") } };
  }

  /**
   * One MULTI/EXEC: the publish script per kept message, a plain (S)PUBLISH per other one. Redis
   * runs it as one step, so subscribers see all of the batch or none of it. On a cluster it must
   * stay in one slot (a MULTI runs on one shard), which is checked before anything is sent.
   */
  async publishAll(items: readonly BatchItem[]): Promise<BusMessage[]> {
    const bare: BusMessage[] = [];
    const keys: StreamKeys[] = [];
    for (const item of items) {
      checkMessage(item?.message);
      if (item.options !== undefined) checkOptions(item.options, item.message.destination);
      bare.push(withoutPosition(item.message));
      keys.push(streamKeys(item.message.destination, this.keyPrefix, this.channelPrefix));
    }
    if (items.length === 0) return [];
    if (this.publishCommand === "spublish") checkOneSlot(items.map((item) => item.message.destination), this.channelPrefix);
    if (this.closed) throw new BatchRefusedError("history is closed; nothing was published");
    // Refused before sending: then nothing of the batch can have been applied.
    if (this.everReady && this.client.status !== "ready") throw new BatchRefusedError(`Redis is unavailable (connection is ${this.client.status}); nothing was published`);
    const replies = await this.run(`publish a batch of ${items.length} (sent as one MULTI: Redis applied all of it or none)`, async () => {
      const multi = (this.client as unknown as { multi(): ScriptedMulti }).multi();
      items.forEach((item, i) => {
        const k = keys[i]!;
        if (item.options !== undefined) multi.heraldHistoryPublishBuffer(k.meta, k.stream, k.recent, ...this.scriptArgs(bare[i]!, item.options, k));
        else multi[this.publishCommand](k.channel, encodeEnvelope(bare[i]!));
      });
      const result = await multi.exec();
      if (result === null) throw new HistoryError("history: the batch's MULTI was discarded by Redis");
      return result;
    });
    return items.map((item, i) => {
      const [err, reply] = replies[i] ?? [new HistoryError("no reply"), undefined];
      if (err) throw new HistoryError(`history: publish to "${item.message.destination}" in a batch failed: ${err.message}`);
      if (item.options === undefined) return bare[i]!;
      const [offset, epoch] = reply as [number, Buffer | string, number];
      return { ...bare[i]!, position: { offset: Number(offset), epoch: typeof epoch === "string" ? epoch : epoch.toString("utf8") } };
    });
  }

  /** ARGV of the publish script for one message (see redis-scripts.ts). */
  private scriptArgs(bare: BusMessage, options: HistoryOptions, k: StreamKeys): (string | Buffer)[] {
    return [
      encodeEnvelope(bare),
      newEpoch(),
      String(options.maxMessages),
      String(Math.ceil(options.ttlSeconds * 1000)),
      k.channel,
      this.publishCommand,
      this.trimMode,
      String(this.dedupeWindow),
      bare.id,
    ];
  }

  async readSince(destination: string, since: StreamPosition, limit: number): Promise<ReadResult> {
    checkDestination(destination, "readSince");
    checkPosition(since, destination);
    checkLimit(limit, destination);
    const k = streamKeys(destination, this.keyPrefix, this.channelPrefix);
    const reply = await this.run(`readSince on "${destination}"`, () =>
      this.scripted.heraldHistoryReadBuffer(k.meta, k.stream, k.recent, String(since.offset), since.epoch, String(limit)),
    );
    const latest: StreamPosition = { offset: Number(reply[1]), epoch: reply[0].toString("utf8") };
    const status = reply[2]?.toString("utf8");
    if (status === "epoch-changed" || status === "too-old") return { messages: [], complete: false, reason: status satisfies IncompleteReason, latest };
    if (status !== "ok") throw new HistoryError(`history.readSince("${destination}"): unexpected reply status ${JSON.stringify(status)} from the read script`);
    const messages = (reply[3] ?? []).map((buf, i) => {
      const m = decodeEnvelope(buf);
      if (m.position?.offset !== since.offset + 1 + i) {
        throw new HistoryError(`history.readSince("${destination}"): stream entry ${since.offset + 1 + i} holds position ${JSON.stringify(m.position)}`);
      }
      return m;
    });
    const after = latest.offset - since.offset;
    return after > limit ? { messages, complete: false, reason: "limit", latest } : { messages, complete: true, latest };
  }

  async latest(destination: string): Promise<StreamPosition> {
    checkDestination(destination, "latest");
    const k = streamKeys(destination, this.keyPrefix, this.channelPrefix);
    const reply = await this.run(`latest of "${destination}"`, () =>
      this.scripted.heraldHistoryReadBuffer(k.meta, k.stream, k.recent, "", "", "1"),
    );
    return { offset: Number(reply[1]), epoch: reply[0].toString("utf8") };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.client.status === "ready") {
      try {
        await this.client.quit();
        return;
      } catch {
        // fall through to a hard disconnect
      }
    }
    this.client.disconnect();
  }

  /** Runs one command with the availability rules: wait for the first connection, fail fast after, bounded in time. */
  private async run<T>(what: string, command: () => Promise<T>): Promise<T> {
    if (this.closed) throw new HistoryUnavailableError(`history: ${what} failed: the history is closed`);
    if (this.client.status !== "ready") {
      if (this.everReady) throw new HistoryUnavailableError(`history: ${what} failed: Redis is unavailable (connection is ${this.client.status})`);
      await this.firstConnection(what);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new HistoryUnavailableError(`history: ${what} failed: no reply from Redis within ${this.timeoutMs} ms (it may still have been applied)`)),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([command(), timeout]);
    } catch (err) {
      throw this.describe(err, what);
    } finally {
      clearTimeout(timer);
    }
  }

  private firstConnection(what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.client.off("ready", onReady);
        reject(new HistoryUnavailableError(`history: ${what} failed: Redis not connected within ${this.timeoutMs} ms (connection is ${this.client.status})`));
      }, this.timeoutMs);
      this.client.once("ready", onReady);
    });
  }

  private describe(err: unknown, what: string): HistoryError {
    if (err instanceof HistoryError) return err;
    const e = err instanceof Error ? err : new Error(String(err));
    // A reply error is Redis refusing the command; anything else is the connection failing.
    const refused = e.name === "ReplyError" && !/^(CLUSTERDOWN|LOADING|TRYAGAIN|MASTERDOWN|BUSY)/.test(e.message);
    const out = refused ? new HistoryError(`history: ${what} failed: Redis replied ${e.message}`) : new HistoryUnavailableError(`history: ${what} failed: Redis is unavailable: ${e.message}`);
    out.cause = e;
    return out;
  }
}
