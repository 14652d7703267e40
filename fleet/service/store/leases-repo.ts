/**
 * Named leases (the `leases` table): at most one holder per name until its expiry. Taking and
 * renewing is one conditional upsert, atomic in both dialects: the row is written only when it
 * is absent, already ours, or expired; the changed-row count says whether we hold it.
 */
import { num, type SqlDriver } from './driver.ts';

export interface LeaseRow {
  name: string;
  holder: string;
  acquiredAt: number;
  expiresAt: number;
}

export class LeasesRepo {
  constructor(private readonly db: SqlDriver) {}

  /** Takes or renews `name` for `holder` until `now + ttlMs`; false when another holder's lease is live. */
  async acquire(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const changed = await this.db.run(
      `INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET
         acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END,
         holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
      [name, holder, now, now + ttlMs, now],
    );
    return changed === 1;
  }

  /** Gives `name` up if `holder` has it (a clean shutdown: the next instance need not wait for the expiry). */
  async release(name: string, holder: string): Promise<void> {
    await this.db.run('DELETE FROM leases WHERE name = ? AND holder = ?', [name, holder]);
  }

  async get(name: string): Promise<LeaseRow | undefined> {
    const rows = await this.db.all('SELECT * FROM leases WHERE name = ?', [name]);
    if (!rows.length) return undefined;
    const r = rows[0];
    return { name: String(r.name), holder: String(r.holder), acquiredAt: num(r.acquired_at), expiresAt: num(r.expires_at) };
  }
}
