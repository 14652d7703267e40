/**
 * Enrolment tokens and the device certificates issued for them (tables `enrol_tokens`,
 * `device_certs`, schema.ts v7). A token is kept as its sha256 only; spending it is one
 * conditional UPDATE, so two devices racing with the same token cannot both win, on SQLite or
 * PostgreSQL alike.
 */
import { num, numOrNull, type SqlDriver } from '../store/driver.ts';

export interface TokenRow {
  storeId: string;
  deviceId: string;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export interface CertRow {
  serial: string;
  storeId: string;
  deviceId: string;
  notBefore: number;
  notAfter: number;
  issuedAt: number;
  revokedAt: number | null;
  revokedBy: string | null;
}

/** Why a token cannot be spent: unknown (never issued, or forged), already used, or expired. */
export type SpendRefusal = 'unknown' | 'used' | 'expired';

const certRow = (r: Record<string, unknown>): CertRow => ({
  serial: String(r.serial),
  storeId: String(r.store_id),
  deviceId: String(r.device_id),
  notBefore: num(r.not_before),
  notAfter: num(r.not_after),
  issuedAt: num(r.issued_at),
  revokedAt: numOrNull(r.revoked_at),
  revokedBy: r.revoked_by === null || r.revoked_by === undefined ? null : String(r.revoked_by),
});

export class EnrolRepo {
  constructor(private readonly db: SqlDriver) {}

  async addToken(hash: string, t: Omit<TokenRow, 'usedAt'>): Promise<void> {
    await this.db.run(
      'INSERT INTO enrol_tokens (token_hash, store_id, device_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      [hash, t.storeId, t.deviceId, t.createdBy, t.createdAt, t.expiresAt],
    );
  }

  async getToken(hash: string): Promise<TokenRow | undefined> {
    const [r] = await this.db.all('SELECT * FROM enrol_tokens WHERE token_hash = ?', [hash]);
    if (!r) return undefined;
    return {
      storeId: String(r.store_id),
      deviceId: String(r.device_id),
      createdBy: String(r.created_by),
      createdAt: num(r.created_at),
      expiresAt: num(r.expires_at),
      usedAt: numOrNull(r.used_at),
    };
  }

  /**
   * Spends the token (single use) and records the certificate issued for it, in one transaction:
   * the UPDATE matches only an unused, unexpired token, so exactly one caller gets the row.
   */
  async spendToken<C extends Omit<CertRow, 'revokedAt' | 'revokedBy' | 'issuedAt'>>(
    hash: string,
    now: number,
    issue: (t: TokenRow) => Promise<C>,
  ): Promise<(C & CertRow) | SpendRefusal> {
    return this.db.tx(async (q) => {
      const rows = await q.all(
        'UPDATE enrol_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING store_id, device_id, created_by, created_at, expires_at',
        [now, hash, now],
      );
      if (rows.length === 0) {
        const [r] = await q.all('SELECT used_at, expires_at FROM enrol_tokens WHERE token_hash = ?', [hash]);
        if (!r) return 'unknown';
        return r.used_at !== null && r.used_at !== undefined ? 'used' : 'expired';
      }
      const r = rows[0];
      const token: TokenRow = {
        storeId: String(r.store_id),
        deviceId: String(r.device_id),
        createdBy: String(r.created_by),
        createdAt: num(r.created_at),
        expiresAt: num(r.expires_at),
        usedAt: now,
      };
      const cert = await issue(token);
      await q.run('UPDATE enrol_tokens SET used_serial = ? WHERE token_hash = ?', [cert.serial, hash]);
      await q.run('INSERT INTO device_certs (serial, store_id, device_id, not_before, not_after, issued_at) VALUES (?, ?, ?, ?, ?, ?)', [
        cert.serial,
        cert.storeId,
        cert.deviceId,
        cert.notBefore,
        cert.notAfter,
        now,
      ]);
      return { ...cert, issuedAt: now, revokedAt: null, revokedBy: null };
    });
  }

  /** Marks every unrevoked certificate of the device revoked; the serials it revoked. */
  async revokeDevice(storeId: string, deviceId: string, by: string, reason: string | null, now: number): Promise<string[]> {
    const rows = await this.db.all(
      'UPDATE device_certs SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE store_id = ? AND device_id = ? AND revoked_at IS NULL RETURNING serial',
      [now, by, reason, storeId, deviceId],
    );
    return rows.map((r) => String(r.serial));
  }

  /** Revoked certificates that have not expired yet: what the CRL must list. */
  async revokedUnexpired(now: number): Promise<Array<{ serial: string; revokedAt: number }>> {
    const rows = await this.db.all('SELECT serial, revoked_at FROM device_certs WHERE revoked_at IS NOT NULL AND not_after > ? ORDER BY serial', [now]);
    return rows.map((r) => ({ serial: String(r.serial), revokedAt: num(r.revoked_at) }));
  }

  async cert(serial: string): Promise<CertRow | undefined> {
    const [r] = await this.db.all('SELECT * FROM device_certs WHERE serial = ?', [serial]);
    return r ? certRow(r) : undefined;
  }

  /** Records a certificate issued without a token (a renewal by the device's current certificate). */
  async addCert(c: Omit<CertRow, 'revokedAt' | 'revokedBy'>): Promise<void> {
    await this.db.run('INSERT INTO device_certs (serial, store_id, device_id, not_before, not_after, issued_at) VALUES (?, ?, ?, ?, ?, ?)', [
      c.serial,
      c.storeId,
      c.deviceId,
      c.notBefore,
      c.notAfter,
      c.issuedAt,
    ]);
  }

  async deviceCerts(storeId: string, deviceId: string): Promise<CertRow[]> {
    return (await this.db.all('SELECT * FROM device_certs WHERE store_id = ? AND device_id = ? ORDER BY issued_at', [storeId, deviceId])).map(certRow);
  }
}
