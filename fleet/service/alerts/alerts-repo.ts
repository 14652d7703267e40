/**
 * The `alerts` table. `open_key` (kind + subject, UNIQUE, NULL once closed) makes "one live alert
 * per device and kind" a database rule, not a convention: two service instances evaluating the
 * same device race on an insert or a conditional update, and exactly one of them changes the row,
 * so exactly one sends the notification. Every transition is such a conditional write and says
 * whether it happened.
 */
import { randomUUID } from 'node:crypto';
import { num, numOrNull, type Row, type SqlDriver } from '../store/driver.ts';
import { str } from '../store/rows.ts';
import type { FinishedJob } from './rules.ts';
import type { AlertKind, LiveAlert } from './lifecycle.ts';

export type AlertStatus = 'pending' | 'open' | 'closed';

export interface AlertRow {
  id: string;
  kind: AlertKind;
  /** `store/device`, or `service/<instance>` for the service's own. */
  subject: string;
  storeId: string | null;
  deviceId: string | null;
  status: AlertStatus;
  summary: string;
  firstTrueAt: number;
  raisedAt: number | null;
  falseSince: number | null;
  clearedAt: number | null;
  /** Times the condition went away and came back while the alert stayed open. */
  flaps: number;
  ackedBy: string | null;
  ackedAt: number | null;
}

export interface AlertSubject {
  kind: AlertKind;
  subject: string;
  storeId: string | null;
  deviceId: string | null;
}

const openKey = (s: AlertSubject) => `${s.kind}|${s.subject}`;

function toAlert(r: Row): AlertRow {
  return {
    id: String(r.id),
    kind: String(r.kind) as AlertKind,
    subject: String(r.subject),
    storeId: str(r.store_id),
    deviceId: str(r.device_id),
    status: String(r.status) as AlertStatus,
    summary: String(r.summary),
    firstTrueAt: num(r.first_true_at),
    raisedAt: numOrNull(r.raised_at),
    falseSince: numOrNull(r.false_since),
    clearedAt: numOrNull(r.cleared_at),
    flaps: num(r.flaps),
    ackedBy: str(r.acked_by),
    ackedAt: numOrNull(r.acked_at),
  };
}

export class AlertsRepo {
  constructor(private readonly db: SqlDriver) {}

  /** Pending and open alerts, by `kind|subject`. */
  async live(): Promise<Map<string, LiveAlert>> {
    const rows = await this.db.all("SELECT * FROM alerts WHERE status <> 'closed'");
    return new Map(rows.map((r) => [String(r.open_key), toAlert(r) as AlertRow & LiveAlert]));
  }

  static key(s: AlertSubject): string {
    return openKey(s);
  }

  /** Inserts a pending or open row; undefined when another live one exists (someone else won). */
  async insert(s: AlertSubject, status: 'pending' | 'open', summary: string, now: number): Promise<AlertRow | undefined> {
    const id = randomUUID();
    const n = await this.db.run(
      `INSERT INTO alerts (id, open_key, kind, subject, store_id, device_id, status, summary, first_true_at, raised_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (open_key) DO NOTHING`,
      [id, openKey(s), s.kind, s.subject, s.storeId, s.deviceId, status, summary, now, status === 'open' ? now : null],
    );
    return n === 1 ? this.get(id) : undefined;
  }

  async promote(id: string, summary: string, now: number): Promise<AlertRow | undefined> {
    const n = await this.db.run("UPDATE alerts SET status = 'open', raised_at = ?, summary = ? WHERE id = ? AND status = 'pending'", [now, summary, id]);
    return n === 1 ? this.get(id) : undefined;
  }

  async dropPending(id: string): Promise<void> {
    await this.db.run("DELETE FROM alerts WHERE id = ? AND status = 'pending'", [id]);
  }

  async markFalse(id: string, now: number): Promise<void> {
    await this.db.run("UPDATE alerts SET false_since = ? WHERE id = ? AND status = 'open' AND false_since IS NULL", [now, id]);
  }

  async markTrue(id: string, summary: string): Promise<void> {
    await this.db.run(
      "UPDATE alerts SET false_since = NULL, flaps = flaps + 1, summary = ? WHERE id = ? AND status = 'open' AND false_since IS NOT NULL",
      [summary, id],
    );
  }

  async close(id: string, now: number): Promise<AlertRow | undefined> {
    const n = await this.db.run(
      "UPDATE alerts SET status = 'closed', open_key = NULL, cleared_at = ? WHERE id = ? AND status = 'open' AND false_since IS NOT NULL",
      [now, id],
    );
    return n === 1 ? this.get(id) : undefined;
  }

  async ack(id: string, by: string, now: number): Promise<AlertRow | undefined> {
    await this.db.run("UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ? AND acked_at IS NULL AND status <> 'pending'", [by, now, id]);
    return this.get(id);
  }

  async get(id: string): Promise<AlertRow | undefined> {
    const rows = await this.db.all('SELECT * FROM alerts WHERE id = ?', [id]);
    return rows.length ? toAlert(rows[0]) : undefined;
  }

  /** Raised alerts, newest first; `status` open or closed (pending ones are not alerts yet). */
  async list(q: { status?: 'open' | 'closed'; storeId?: string; limit: number }): Promise<AlertRow[]> {
    const where = ["status <> 'pending'"];
    const params: Array<string | number> = [];
    if (q.status !== undefined) {
      where.push('status = ?');
      params.push(q.status);
    }
    if (q.storeId !== undefined) {
      where.push('store_id = ?');
      params.push(q.storeId);
    }
    const rows = await this.db.all(`SELECT * FROM alerts WHERE ${where.join(' AND ')} ORDER BY raised_at DESC, id LIMIT ?`, [...params, q.limit]);
    return rows.map(toAlert);
  }

  /** Each device's latest job that ended, by `store/device`. */
  async finishedJobs(): Promise<Map<string, FinishedJob>> {
    const rows = await this.db.all(
      `SELECT store_id, device_id, job_id, outcome, state, reason, updated_at FROM jobs
       WHERE outcome IN ('succeeded', 'failed', 'timed-out') ORDER BY updated_at, job_id`,
    );
    const out = new Map<string, FinishedJob>();
    for (const r of rows) {
      out.set(`${String(r.store_id)}/${String(r.device_id)}`, { jobId: String(r.job_id), outcome: String(r.outcome), state: str(r.state), reason: str(r.reason) });
    }
    return out;
  }
}
