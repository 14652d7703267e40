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
 * Writes are batched off the frame path: `append` and `delete` only change memory, and one
 * transaction per `commitDelayMs` (default 50 ms) inserts the new records and deletes the
 * acknowledged ones, so a flood of messages costs the event loop one commit per batch instead of
 * one fsync each. The window: a record appended less than `commitDelayMs` (plus the commit) before
 * a kill -9 or a power cut is lost; once its batch commits it survives. Records are sent only once
 * committed, so a record the fleet acknowledged was always on disk first.
 *
 * A failing disk (SQLITE_FULL, ENOSPC, I/O errors) does not stop the mirror: the batch stays in
 * memory and is retried each period, bounded by `maxBytes` too (oldest telemetry dropped first,
 * counted), and `health().writeError` says why until a commit succeeds again.
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
  /** Records on disk, owed to the fleet (not yet acknowledged). */
  pending: number;
  pendingBytes: number;
  /** Records appended but not yet committed (on disk within `commitDelayMs`). */
  unsaved: number;
  /** Records dropped because the outbox was full, per kind, since the file was created. */
  dropped: Record<OutboxKind, number>;
  maxBytes: number;
}

export interface OutboxOptions {
  /** The SQLite file (its directory is created). */
  file: string;
  /** Sum of payload (plus topic) bytes kept; default 16 MiB. */
  maxBytes?: number;
  /** How long appends and deletes are gathered into one transaction; default 50 ms. */
  commitDelayMs?: number;
  logger: Logger;
}

interface PendingRecord extends OutboxRecord {
  bytes: number;
  createdAt: number;
}

/** When full, room is made down to this share of `maxBytes`, so a full outbox does not commit per append. */
const LOW_WATER = 0.9;

export const OUTBOX_FILE = 'outbox.sqlite';
export const DEFAULT_OUTBOX_MAX_BYTES = 16 * 1024 * 1024;

export class Outbox {
  readonly #db: InstanceType<typeof Database>;
  readonly #maxBytes: number;
  readonly #commitDelayMs: number;
  readonly #logger: Logger;
  /** Records and bytes owed, on disk and pending together. */
  #bytes: number;
  #count: number;
  #nextId: number;
  /** Appended, not yet committed (oldest first). */
  #pending: PendingRecord[] = [];
  /** Acknowledged, not yet deleted from disk. */
  #acked = new Set<number>();
  /** Committed rows dropped for room since the last commit (counted, deleted at the commit). */
  #droppedRows = new Set<number>();
  #dropped: Record<OutboxKind, number>;
  #timer: NodeJS.Timeout | undefined;
  #onCommit: () => void = () => {};
  #closed = false;
  #lastDropLogAt = 0;
  #lastDropAt = 0;
  #writeError: string | undefined;

  constructor(options: OutboxOptions) {
    this.#maxBytes = options.maxBytes ?? DEFAULT_OUTBOX_MAX_BYTES;
    this.#commitDelayMs = options.commitDelayMs ?? 50;
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
    const row = this.#db.get('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b, COALESCE(MAX(id), 0) AS m FROM outbox') as { n: number; b: number; m: number };
    const seq = this.#db.get("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'") as { seq: number } | null;
    this.#count = Number(row.n);
    this.#bytes = Number(row.b);
    // Ids are handed out here, before the insert; never below what AUTOINCREMENT already used.
    this.#nextId = Math.max(Number(row.m), Number(seq?.seq ?? 0)) + 1;
    this.#dropped = { telemetry: 0, event: 0, update: 0 };
    for (const r of this.#db.all("SELECT key, value FROM outbox_meta WHERE key LIKE 'dropped.%'") as Array<{ key: string; value: number }>) {
      const kind = r.key.slice('dropped.'.length) as OutboxKind;
      if (kind in this.#dropped) this.#dropped[kind] = Number(r.value);
    }
  }

  /** Called after every successful commit (new records can be sent). */
  onCommit(listener: () => void): void {
    this.#onCommit = listener;
  }

  /**
   * Appends one message (committed within `commitDelayMs`); a full outbox drops the oldest
   * telemetry first, then the oldest of anything. Returns the record's id.
   */
  append(kind: OutboxKind, topic: string, payload: Buffer): number {
    this.#assertOpen();
    const bytes = payload.byteLength + Buffer.byteLength(topic);
    if (bytes > this.#maxBytes) throw new RangeError(`outbox: a ${bytes}-byte message can never fit in ${this.#maxBytes} bytes`);
    const id = this.#nextId++;
    this.#pending.push({ id, kind, topic, payload: Buffer.from(payload), bytes, createdAt: Date.now() });
    this.#count += 1;
    this.#bytes += bytes;
    if (this.#bytes > this.#maxBytes) this.#makeRoom();
    this.#schedule();
    return id;
  }

  /** Committed records with id greater than `afterId`, oldest first, at most `limit`. */
  after(afterId: number, limit: number): OutboxRecord[] {
    this.#assertOpen();
    const gone = this.#acked.size + this.#droppedRows.size;
    const rows = this.#db.all('SELECT id, kind, topic, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit + gone]) as Array<{
      id: number;
      kind: OutboxKind;
      topic: string;
      payload: Uint8Array;
    }>;
    return rows
      .filter((r) => !this.#acked.has(Number(r.id)) && !this.#droppedRows.has(Number(r.id)))
      .slice(0, limit)
      .map((r) => ({ id: Number(r.id), kind: r.kind, topic: r.topic, payload: Buffer.from(r.payload) }));
  }

  /** An acknowledged record: gone now, deleted from disk with the next commit. Unknown ids are fine. */
  delete(id: number): void {
    if (this.#closed || this.#acked.has(id) || this.#droppedRows.has(id)) return;
    const i = this.#pending.findIndex((r) => r.id === id);
    if (i >= 0) {
      const [rec] = this.#pending.splice(i, 1);
      this.#forget(rec.bytes);
      return;
    }
    const row = this.#db.get('SELECT bytes FROM outbox WHERE id = ?', [id]) as { bytes: number } | null;
    if (!row) return;
    this.#acked.add(id);
    this.#forget(Number(row.bytes));
    this.#schedule();
  }

  /** Commits what is pending now (the timer does this; close and tests call it too). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed || (this.#pending.length === 0 && this.#acked.size === 0 && this.#droppedRows.size === 0)) return;
    try {
      this.#commit();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (this.#writeError !== message) this.#logger.error({ err: { message } }, 'outbox commit failed (disk full?); kept in memory and retried');
      this.#writeError = message;
      this.#schedule();
      return;
    }
    if (this.#writeError !== undefined) this.#logger.info({ previousError: this.#writeError }, 'outbox commits again');
    this.#writeError = undefined;
    this.#onCommit();
  }

  /** For the daemon's health: a failing disk, and whether records were dropped for room lately. */
  health(): { writeError?: string; full: boolean } {
    const full = this.#lastDropAt > 0 && Date.now() - this.#lastDropAt < 60_000;
    return this.#writeError === undefined ? { full } : { writeError: this.#writeError, full };
  }

  stats(): OutboxStats {
    const unsavedBytes = this.#pending.reduce((sum, r) => sum + r.bytes, 0);
    return {
      pending: this.#count - this.#pending.length,
      pendingBytes: this.#bytes - unsavedBytes,
      unsaved: this.#pending.length,
      dropped: { ...this.#dropped },
      maxBytes: this.#maxBytes,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#db.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('outbox is closed');
  }

  #forget(bytes: number): void {
    this.#count -= 1;
    this.#bytes -= bytes;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => this.flush(), this.#commitDelayMs);
    this.#timer.unref();
  }

  /** One transaction: deletes acknowledged and dropped rows, inserts pending, saves the drop counts. */
  #commit(): void {
    this.#db.exec('BEGIN');
    try {
      for (const id of [...this.#acked, ...this.#droppedRows]) this.#db.run('DELETE FROM outbox WHERE id = ?', [id]);
      for (const r of this.#pending) {
        this.#db.run('INSERT INTO outbox (id, kind, topic, payload, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
          r.id,
          r.kind,
          r.topic,
          new Uint8Array(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength),
          r.bytes,
          r.createdAt,
        ]);
      }
      for (const kind of Object.keys(this.#dropped) as OutboxKind[]) {
        this.#db.run('INSERT INTO outbox_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', [
          `dropped.${kind}`,
          this.#dropped[kind],
        ]);
      }
      this.#db.exec('COMMIT');
    } catch (err) {
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        // SQLite already rolled back (SQLITE_FULL does): the original error is the one to report.
      }
      throw err;
    }
    this.#pending = [];
    this.#acked.clear();
    this.#droppedRows.clear();
  }

  /** Drops down to the low-water mark: oldest telemetry first (on disk, then pending), then anything. */
  #makeRoom(): void {
    const target = Math.floor(this.#maxBytes * LOW_WATER);
    const dropped: Partial<Record<OutboxKind, number>> = {};
    const drop = (kind: OutboxKind, bytes: number): void => {
      this.#forget(bytes);
      this.#dropped[kind] += 1;
      dropped[kind] = (dropped[kind] ?? 0) + 1;
    };
    for (const kinds of [['telemetry'], ['telemetry', 'event', 'update']] as const) {
      const placeholders = kinds.map(() => '?').join(',');
      let after = 0;
      while (this.#bytes > target) {
        const rows = this.#db.all(`SELECT id, kind, bytes FROM outbox WHERE kind IN (${placeholders}) AND id > ? ORDER BY id LIMIT 64`, [...kinds, after]) as Array<{
          id: number;
          kind: OutboxKind;
          bytes: number;
        }>;
        if (rows.length === 0) break;
        for (const v of rows) {
          after = Number(v.id);
          if (this.#bytes <= target) break;
          if (this.#acked.has(after) || this.#droppedRows.has(after)) continue;
          this.#droppedRows.add(after);
          drop(v.kind, Number(v.bytes));
        }
      }
      const keep: PendingRecord[] = [];
      for (const r of this.#pending) {
        if (this.#bytes > target && (kinds as readonly OutboxKind[]).includes(r.kind)) drop(r.kind, r.bytes);
        else keep.push(r);
      }
      this.#pending = keep;
    }
    this.#lastDropAt = Date.now();
    // Once full, appends keep dropping: log at most every 10 s (the totals are in the stats).
    if (this.#lastDropAt - this.#lastDropLogAt >= 10_000) {
      this.#lastDropLogAt = this.#lastDropAt;
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
