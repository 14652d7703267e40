/**
 * The durable outbox: every message the mirror owes the fleet (metrics, events, update states)
 * is appended to a SQLite file in the state dir first, and deleted only when the broker has
 * acknowledged it (PUBACK, QoS 1). While the broker is away the file grows, bounded by size:
 * the oldest telemetry goes first (a later metrics message supersedes it), events and update
 * states only when nothing else is left; every drop is counted (persisted) and logged.
 *
 * Delivery is at-least-once: a record sent but not acknowledged before a disconnect or a crash
 * is sent again, in order, on the next connection. Every payload carries its `msgId`, so the
 * fleet de-duplicates.
 *
 * SQLite is node-sqlite3-wasm (WASM, real file I/O, synchronous calls, a few ms per commit).
 * Its VFS locks with a `<file>.lock` directory that a kill -9 leaves behind; the daemon is the
 * only user of its state dir (one systemd unit), so a lock left at open is stale and removed.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import type { Logger } from '../core/logger.ts';

const { Database } = sqlite;

/** Which records survive longest when the outbox is full: telemetry is dropped first. */
export type OutboxKind = 'telemetry' | 'event' | 'update';

export interface OutboxRecord {
  id: number;
  kind: OutboxKind;
  topic: string;
  payload: Buffer;
}

export interface OutboxStats {
  pending: number;
  pendingBytes: number;
  /** Records dropped because the outbox was full, per kind, since the file was created. */
  dropped: Record<OutboxKind, number>;
  maxBytes: number;
}

export interface OutboxOptions {
  /** The SQLite file (its directory is created). */
  file: string;
  /** Sum of payload (plus topic) bytes kept; default 16 MiB. */
  maxBytes?: number;
  logger: Logger;
}

export const OUTBOX_FILE = 'outbox.sqlite';
export const DEFAULT_OUTBOX_MAX_BYTES = 16 * 1024 * 1024;

export class Outbox {
  readonly #db: InstanceType<typeof Database>;
  readonly #maxBytes: number;
  readonly #logger: Logger;
  #bytes: number;
  #count: number;
  #dropped: Record<OutboxKind, number>;
  #closed = false;
  #lastDropLogAt = 0;
  #lastDropAt = 0;
  #writeError: string | undefined;

  constructor(options: OutboxOptions) {
    this.#maxBytes = options.maxBytes ?? DEFAULT_OUTBOX_MAX_BYTES;
    this.#logger = options.logger;
    mkdirSync(path.dirname(options.file), { recursive: true });
    removeStaleLock(options.file, this.#logger);
    this.#db = new Database(options.file);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS outbox_kind ON outbox(kind, id);
      CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    const row = this.#db.get('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM outbox') as { n: number; b: number };
    this.#count = Number(row.n);
    this.#bytes = Number(row.b);
    this.#dropped = { telemetry: 0, event: 0, update: 0 };
    for (const r of this.#db.all("SELECT key, value FROM outbox_meta WHERE key LIKE 'dropped.%'") as Array<{ key: string; value: number }>) {
      const kind = r.key.slice('dropped.'.length) as OutboxKind;
      if (kind in this.#dropped) this.#dropped[kind] = Number(r.value);
    }
  }

  /** Appends one message; makes room by dropping the oldest telemetry (then the oldest of anything). */
  append(kind: OutboxKind, topic: string, payload: Buffer): number {
    this.#assertOpen();
    const bytes = payload.byteLength + Buffer.byteLength(topic);
    if (bytes > this.#maxBytes) throw new RangeError(`outbox: a ${bytes}-byte message can never fit in ${this.#maxBytes} bytes`);
    let res: { lastInsertRowid: number | bigint };
    try {
      res = this.#db.run('INSERT INTO outbox (kind, topic, payload, bytes, created_at) VALUES (?, ?, ?, ?, ?)', [
        kind,
        topic,
        new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
        bytes,
        Date.now(),
      ]);
    } catch (err) {
      // Disk full (SQLITE_FULL) or failing: the outbox stops growing, the caller counts the loss.
      this.#writeError = err instanceof Error ? err.message : String(err);
      throw err;
    }
    this.#writeError = undefined;
    this.#count += 1;
    this.#bytes += bytes;
    if (this.#bytes > this.#maxBytes) this.#makeRoom();
    return Number(res.lastInsertRowid);
  }

  /** Up to `limit` records with id greater than `afterId`, oldest first. */
  after(afterId: number, limit: number): OutboxRecord[] {
    this.#assertOpen();
    const rows = this.#db.all('SELECT id, kind, topic, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit]) as Array<{
      id: number;
      kind: OutboxKind;
      topic: string;
      payload: Uint8Array;
    }>;
    return rows.map((r) => ({ id: Number(r.id), kind: r.kind, topic: r.topic, payload: Buffer.from(r.payload) }));
  }

  /** Deletes an acknowledged record; a record already gone (dropped for room) is fine. */
  delete(id: number): void {
    if (this.#closed) return;
    const row = this.#db.get('SELECT bytes FROM outbox WHERE id = ?', [id]) as { bytes: number } | null;
    if (!row) return;
    this.#db.run('DELETE FROM outbox WHERE id = ?', [id]);
    this.#count -= 1;
    this.#bytes -= Number(row.bytes);
  }

  /** For the daemon's health: a failing disk, and whether records were dropped for room lately. */
  health(): { writeError?: string; full: boolean } {
    const full = this.#lastDropAt > 0 && Date.now() - this.#lastDropAt < 60_000;
    return this.#writeError === undefined ? { full } : { writeError: this.#writeError, full };
  }

  stats(): OutboxStats {
    return { pending: this.#count, pendingBytes: this.#bytes, dropped: { ...this.#dropped }, maxBytes: this.#maxBytes };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('outbox is closed');
  }

  #makeRoom(): void {
    const dropped: Partial<Record<OutboxKind, number>> = {};
    this.#db.exec('BEGIN');
    try {
      for (const kinds of [['telemetry'], ['telemetry', 'event', 'update']] as const) {
        const placeholders = kinds.map(() => '?').join(',');
        while (this.#bytes > this.#maxBytes) {
          const victims = this.#db.all(`SELECT id, kind, bytes FROM outbox WHERE kind IN (${placeholders}) ORDER BY id LIMIT 64`, [
            ...kinds,
          ]) as Array<{ id: number; kind: OutboxKind; bytes: number }>;
          if (victims.length === 0) break;
          for (const v of victims) {
            if (this.#bytes <= this.#maxBytes) break;
            this.#db.run('DELETE FROM outbox WHERE id = ?', [v.id]);
            this.#count -= 1;
            this.#bytes -= Number(v.bytes);
            dropped[v.kind] = (dropped[v.kind] ?? 0) + 1;
          }
        }
      }
      for (const [kind, n] of Object.entries(dropped) as Array<[OutboxKind, number]>) {
        this.#dropped[kind] += n;
        this.#db.run(
          "INSERT INTO outbox_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
          [`dropped.${kind}`, this.#dropped[kind]],
        );
      }
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
    // Once full, every append drops: log at most every 10 s (the totals are in the stats).
    const now = Date.now();
    this.#lastDropAt = now;
    if (now - this.#lastDropLogAt >= 10_000) {
      this.#lastDropLogAt = now;
      this.#logger.warn({ dropped, totalDropped: this.#dropped, maxBytes: this.#maxBytes }, 'outbox full: dropped the oldest records');
    }
  }
}

function removeStaleLock(file: string, logger: Logger): void {
  const lock = `${file}.lock`;
  try {
    if (!statSync(lock).isDirectory()) return;
  } catch {
    return;
  }
  rmSync(lock, { recursive: true, force: true });
  logger.warn({ lock }, 'outbox: removed a lock left by a process that died (kill -9 or power cut)');
}
