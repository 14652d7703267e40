/**
 * What happens to one MQTT message when storing it fails. MQTT.js hands the ingest one message at
 * a time and sends its PUBACK only when the handler is done, so a message that is never done
 * blocks every message behind it, from every mirror, and after a restart too (the broker
 * redelivers it first). So:
 *
 * - a failure that can never succeed (the store refused the values: `permanent`) goes to the
 *   dead-letter table with its reason and is acknowledged;
 * - a failure of the store itself (down, locked, schema gone: `transient`) is retried in place
 *   with backoff, nothing acknowledged, for up to `holdMs`; after that the caller lets the broker
 *   redeliver it later (reconnect), so a long outage loses nothing either;
 * - anything else is retried, and dead-lettered after `maxAttempts` failures while the store
 *   answers other queries (an outage does not count attempts: the ping fails too).
 */
import { classifyStoreError, describeStoreError } from './store/store-errors.ts';

export interface RetryPolicy {
  holdMs: number;
  maxAttempts: number;
}

export interface RetryHooks {
  /** Handles the message; rejects when the store failed. */
  attempt(): Promise<void>;
  /** Stores it as a dead letter; rejects when the store failed. */
  deadLetter(reason: 'permanent' | 'repeated', error: string): Promise<void>;
  /** Whether the store answers at all. */
  ping(): Promise<boolean>;
  /** One failed attempt (for counters and logs). */
  failed(kind: string, error: string): void;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export type Delivery = 'stored' | 'dead-lettered' | 'redeliver';

const backoffMs = (n: number) => Math.min(2000, 50 * 2 ** n);

export async function deliverWithRetry(policy: RetryPolicy, h: RetryHooks): Promise<Delivery> {
  const giveUpAt = h.now() + policy.holdMs;
  let answeredFailures = 0;
  for (let n = 0; ; n++) {
    let err: unknown;
    try {
      await h.attempt();
      return 'stored';
    } catch (e) {
      err = e;
    }
    const kind = classifyStoreError(err);
    const error = describeStoreError(err);
    h.failed(kind, error);
    let deadReason: 'permanent' | 'repeated' | undefined;
    if (kind === 'permanent') deadReason = 'permanent';
    else if (kind === 'unknown' && (await h.ping()) && ++answeredFailures >= policy.maxAttempts) deadReason = 'repeated';
    if (deadReason !== undefined) {
      try {
        await h.deadLetter(deadReason, error);
        return 'dead-lettered';
      } catch (dlErr) {
        // The store failed on the dead letter too: it is the store, not the message. Retry.
        h.failed(classifyStoreError(dlErr), describeStoreError(dlErr));
      }
    }
    if (h.now() + backoffMs(n) > giveUpAt) return 'redeliver';
    await h.sleep(backoffMs(n));
  }
}
