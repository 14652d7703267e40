/**
 * The `commands` table: one row per command sent, updated once by its result. A result is
 * applied only to a command still waiting (the first result wins), so a redelivered result, or the
 * same result stored by a second service instance, changes nothing and is not audited twice.
 * A command past its expiry (and the clock skew) with no result is marked `unanswered`: the
 * mirror was offline or never got it, and will refuse it as expired if it comes now. A result
 * that still arrives (one the mirror queued in its outbox during an outage) is applied then.
 */
import type { Command, CommandResult } from '../../protocol/commands.ts';
import { num, numOrNull, type SqlDriver, type SqlExecutor } from '../store/driver.ts';
import { json, parseJson, str } from '../store/rows.ts';

export type CommandStatus = 'sent' | 'unanswered' | CommandResult['status'];

export interface CommandRow {
  id: string;
  storeId: string;
  deviceId: string;
  name: string;
  args: Record<string, unknown>;
  issuedBy: string;
  issuedAt: number;
  expiresAt: number;
  status: CommandStatus;
  reason: string | null;
  field: string | null;
  error: string | null;
  output: Record<string, unknown> | null;
  resultAt: number | null;
}

function row(r: Record<string, unknown>): CommandRow {
  return {
    id: String(r.id),
    storeId: String(r.store_id),
    deviceId: String(r.device_id),
    name: String(r.name),
    args: parseJson(r.args, {}),
    issuedBy: String(r.issued_by),
    issuedAt: num(r.issued_at),
    expiresAt: num(r.expires_at),
    status: String(r.status) as CommandStatus,
    reason: str(r.reason),
    field: str(r.field),
    error: str(r.error),
    output: parseJson(r.output, null),
    resultAt: numOrNull(r.result_at),
  };
}

export class CommandsRepo {
  constructor(private readonly db: SqlDriver) {}

  async insert(c: Command, q: SqlExecutor = this.db): Promise<void> {
    await q.run(
      'INSERT INTO commands (id, store_id, device_id, name, args, issued_by, issued_at, expires_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [c.id, c.storeId, c.deviceId, c.name, json(c.args), c.issuedBy, c.issuedAt, c.expiresAt, 'sent'],
    );
  }

  /** Applies a result to its command if that is still waiting; true when this call applied it. */
  async applyResult(r: CommandResult & { commandId: string }, output: Record<string, unknown> | null, receivedAt: number, q: SqlExecutor = this.db): Promise<boolean> {
    const changed = await q.run(
      `UPDATE commands SET status = ?, reason = ?, field = ?, error = ?, output = ?, result_at = ?
       WHERE id = ? AND store_id = ? AND device_id = ? AND status IN ('sent', 'unanswered')`,
      [r.status, r.reason ?? null, r.field ?? null, r.error ?? null, output === null ? null : json(output), receivedAt, r.commandId, r.storeId, r.deviceId],
    );
    return changed > 0;
  }

  /** Marks waiting commands that expired before `before` as unanswered; the rows this call marked. */
  async markUnanswered(before: number, q: SqlExecutor = this.db): Promise<CommandRow[]> {
    const rows = await q.all("UPDATE commands SET status = 'unanswered' WHERE status = 'sent' AND expires_at < ? RETURNING *", [before]);
    return rows.map(row);
  }

  async get(id: string): Promise<CommandRow | undefined> {
    const rows = await this.db.all('SELECT * FROM commands WHERE id = ?', [id]);
    return rows[0] === undefined ? undefined : row(rows[0]);
  }

  async listForDevice(storeId: string, deviceId: string, limit: number): Promise<CommandRow[]> {
    const rows = await this.db.all('SELECT * FROM commands WHERE store_id = ? AND device_id = ? ORDER BY issued_at DESC, id LIMIT ?', [storeId, deviceId, limit]);
    return rows.map(row);
  }
}
