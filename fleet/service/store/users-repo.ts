/**
 * Operator and manager accounts and their bearer tokens (only token hashes are stored).
 */
import { num, type SqlDriver } from './driver.ts';
import { str, type Role, type UserRow } from './rows.ts';

export class UsersRepo {
  constructor(private readonly db: SqlDriver) {}

  async userCount(): Promise<number> {
    return num((await this.db.all('SELECT COUNT(*) AS n FROM users'))[0].n);
  }

  async createUser(u: Omit<UserRow, 'createdAt'>, now: number): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO users (username, role, store_id, password_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (username) DO NOTHING`,
      [u.username, u.role, u.storeId, u.passwordHash, now, u.createdBy],
    );
    return n === 1;
  }

  async getUser(username: string): Promise<UserRow | undefined> {
    const r = await this.db.all('SELECT * FROM users WHERE username = ?', [username]);
    if (!r.length) return undefined;
    return {
      username: String(r[0].username),
      role: String(r[0].role) as Role,
      storeId: str(r[0].store_id),
      passwordHash: String(r[0].password_hash),
      createdAt: num(r[0].created_at),
      createdBy: String(r[0].created_by),
    };
  }

  async listUsers(): Promise<Array<Omit<UserRow, 'passwordHash'>>> {
    const rows = await this.db.all('SELECT username, role, store_id, created_at, created_by FROM users ORDER BY username');
    return rows.map((r) => ({
      username: String(r.username),
      role: String(r.role) as Role,
      storeId: str(r.store_id),
      createdAt: num(r.created_at),
      createdBy: String(r.created_by),
    }));
  }

  async addToken(tokenHash: string, username: string, now: number, expiresAt: number): Promise<void> {
    await this.db.run('DELETE FROM tokens WHERE expires_at < ?', [now]);
    await this.db.run('INSERT INTO tokens (token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)', [
      tokenHash,
      username,
      now,
      expiresAt,
    ]);
  }

  async tokenUser(tokenHash: string, now: number): Promise<string | undefined> {
    const r = await this.db.all('SELECT username FROM tokens WHERE token_hash = ? AND expires_at > ?', [tokenHash, now]);
    return r.length ? String(r[0].username) : undefined;
  }

  async deleteToken(tokenHash: string): Promise<void> {
    await this.db.run('DELETE FROM tokens WHERE token_hash = ?', [tokenHash]);
  }
}
