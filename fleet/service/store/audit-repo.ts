/**
 * The audit log: who did what, when (logins, uploads, pushes, pauses, aborts, rollbacks).
 */
import { randomUUID } from 'node:crypto';
import { num, type SqlDriver, type SqlExecutor } from './driver.ts';
import { json, parseJson, str, type AuditRow } from './rows.ts';

export class AuditRepo {
  constructor(private readonly db: SqlDriver) {}

  /** `q`: the transaction the audited change is written in, so no reader sees one without the other. */
  async audit(actor: string, action: string, target: string | null, detail: Record<string, unknown> | null, now: number, q: SqlExecutor = this.db): Promise<void> {
    await q.run('INSERT INTO audit (id, ts, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)', [
      randomUUID(),
      now,
      actor,
      action,
      target,
      detail === null ? null : json(detail),
    ]);
  }

  async listAudit(limit: number, action?: string): Promise<AuditRow[]> {
    const rows =
      action === undefined
        ? await this.db.all('SELECT * FROM audit ORDER BY ts DESC, id LIMIT ?', [limit])
        : await this.db.all('SELECT * FROM audit WHERE action = ? ORDER BY ts DESC, id LIMIT ?', [action, limit]);
    return rows.map((r) => ({
      id: String(r.id),
      ts: num(r.ts),
      actor: String(r.actor),
      action: String(r.action),
      target: str(r.target),
      detail: parseJson(r.detail, null),
    }));
  }
}
