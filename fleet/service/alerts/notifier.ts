/**
 * Delivery to the sinks, one queue per sink, so a slow mail relay never holds up the webhook:
 * - a token bucket per sink (`burst`, refilled at `perMinute`): what waits for a token is sent as
 *   one digest when the token comes, so a store going dark (ten mirrors at once) or a storm of
 *   thousands is a handful of messages, not one each;
 * - retries with a doubling backoff (`retries`, `backoffMs`), none for a refusal (4xx);
 * - a bounded queue (`maxQueue`): beyond it notices are dropped and counted.
 * The tokens are counted on the injected clock; waiting uses real timers.
 */
import type { Logger } from '../rollouts/engine.ts';
import type { AlertsConfig } from './config.ts';
import { PermanentSinkError, type AlertNotice, type Sink } from './sinks.ts';

type Limits = AlertsConfig['webhooks'][number] | AlertsConfig['email'][number];

export interface SinkStats {
  name: string;
  type: string;
  /** Messages (each a single notice or a digest) delivered, and the notices in them. */
  sent: number;
  noticesSent: number;
  retries: number;
  failed: number;
  /** Notices dropped: the queue was full, or delivery failed after every retry. */
  dropped: number;
  queued: number;
  lastError: string | null;
}

class SinkQueue {
  private queue: AlertNotice[] = [];
  private tokens: number;
  private refilledAt: number;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly stats: SinkStats;

  constructor(
    readonly sink: Sink,
    private readonly limits: Limits,
    private readonly now: () => number,
    private readonly log: Logger,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {
    this.tokens = limits.burst;
    this.refilledAt = now();
    this.stats = { name: sink.name, type: sink.type, sent: 0, noticesSent: 0, retries: 0, failed: 0, dropped: 0, queued: 0, lastError: null };
  }

  push(n: AlertNotice): void {
    if (this.closed) return;
    if (this.queue.length >= this.limits.maxQueue) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(n);
    this.stats.queued = this.queue.length;
    this.kick();
  }

  /** Starts the sender unless it runs; resolves when the queue is empty or waits for a token. */
  kick(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((t - this.refilledAt) / 60_000) * this.limits.perMinute);
    this.refilledAt = t;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      this.refill();
      if (this.tokens < 1) {
        // Rate-limited: look again when a token should be back; what queues meanwhile becomes one digest.
        const waitMs = Math.ceil(((1 - this.tokens) / this.limits.perMinute) * 60_000);
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.kick(), Math.min(waitMs, 5000));
        this.timer.unref();
        return;
      }
      this.tokens -= 1;
      const batch = this.queue.splice(0, this.queue.length);
      this.stats.queued = 0;
      await this.deliver(batch);
    }
  }

  private async deliver(batch: AlertNotice[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.sink.send(batch);
        this.stats.sent++;
        this.stats.noticesSent += batch.length;
        return;
      } catch (err) {
        this.stats.failed++;
        this.stats.lastError = (err as Error).message.slice(0, 300);
        const last = err instanceof PermanentSinkError || attempt >= this.limits.retries || this.closed;
        this.log.warn({ sink: this.sink.name, attempt, notices: batch.length, err: this.stats.lastError, giveUp: last }, 'alert delivery failed');
        if (last) {
          this.stats.dropped += batch.length;
          return;
        }
        this.stats.retries++;
        await this.sleep(this.limits.backoffMs * 2 ** attempt);
      }
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.sink.close?.();
  }
}

export class Notifier {
  private readonly queues: SinkQueue[];

  constructor(
    sinks: Array<{ sink: Sink; limits: Limits }>,
    now: () => number,
    log: Logger,
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.queues = sinks.map((s) => new SinkQueue(s.sink, s.limits, now, log, sleep));
  }

  notify(n: AlertNotice): void {
    for (const q of this.queues) q.push(n);
  }

  /** Sends what the rate limits allow now; resolves when every sink is idle or waiting for a token. */
  async flush(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.kick()));
  }

  stats(): SinkStats[] {
    return this.queues.map((q) => ({ ...q.stats }));
  }

  close(): void {
    for (const q of this.queues) q.close();
  }
}
