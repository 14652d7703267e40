/**
 * Messages the ingest acknowledged without storing because they can never be stored (a value the
 * database refuses, a handler that fails on them every time): kept with their reason so an
 * operator can see and replay them, and bounded so a misbehaving device cannot fill the disk.
 */
import { randomUUID } from 'node:crypto';
import { num, type SqlDriver } from './driver.ts';
import { printable } from './store-errors.ts';

export interface DeadLetter {
  id: string;
  receivedAt: number;
  topic: string;
  /** The raw MQTT payload, base64 (any byte, NUL included, survives both stores). */
  payloadB64: string;
  /** `permanent` (the store refused the values) or `repeated` (failed every attempt while the store answered). */
  reason: string;
  error: string;
}

/** Oldest rows beyond this are deleted on insert. */
export const MAX_DEAD_LETTERS = 10_000;


export class DeadLetterRepo {
  constructor(
    private readonly db: SqlDriver,
    private readonly max = MAX_DEAD_LETTERS,
  ) {}

  async add(topic: string, payload: Uint8Array, reason: string, error: string, now: number): Promise<string> {
    const id = randomUUID();
    await this.db.tx(async (q) => {
      await q.run('INSERT INTO dead_letters (id, received_at, topic, payload_b64, reason, error) VALUES (?, ?, ?, ?, ?, ?)', [
        id,
        now,
        printable(topic, 512),
        Buffer.from(payload).toString('base64'),
        printable(reason, 64),
        printable(error, 500),
      ]);
      const n = num((await q.all('SELECT COUNT(*) AS n FROM dead_letters'))[0].n);
      if (n > this.max) {
        await q.run(
          'DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters ORDER BY received_at, id LIMIT ?)',
          [n - this.max],
        );
      }
    });
    return id;
  }

  async list(limit: number): Promise<DeadLetter[]> {
    const rows = await this.db.all('SELECT * FROM dead_letters ORDER BY received_at DESC, id LIMIT ?', [limit]);
    return rows.map((r) => ({
      id: String(r.id),
      receivedAt: num(r.received_at),
      topic: String(r.topic),
      payloadB64: String(r.payload_b64),
      reason: String(r.reason),
      error: String(r.error),
    }));
  }

  async count(): Promise<number> {
    return num((await this.db.all('SELECT COUNT(*) AS n FROM dead_letters'))[0].n);
  }

  /** Whether the store answers at all (and has its tables): tells an outage from a bad message. */
  async ping(): Promise<boolean> {
    try {
      await this.db.all('SELECT 1 AS one FROM dead_letters WHERE 1 = 0');
      return true;
    } catch {
      return false;
    }
  }
}
