/**
 * Operator and manager accounts: scrypt password hashes (`scrypt$N$r$p$salt$hash`), opaque bearer
 * tokens of 32 random bytes of which only the sha256 is stored, and the scope rule: a manager
 * sees only their own store.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { FleetStore, Role, UserRow } from './store/fleet-store.ts';

const SCRYPT = { N: 16384, r: 8, p: 1, keyLen: 32 };

function scrypt(password: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.keyLen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const want = Buffer.from(parts[5], 'base64');
  if (!Number.isInteger(N) || !Number.isInteger(r) || !Number.isInteger(p) || want.length < 16) return false;
  const got = await scrypt(password, salt, want.length, { N, r, p, maxmem: 64 * 1024 * 1024 });
  return timingSafeEqual(got, want);
}

export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

export interface Principal {
  username: string;
  role: Role;
  storeId: string | null;
}

export class Auth {
  constructor(
    private readonly store: FleetStore,
    private readonly ttlS: number,
  ) {}

  /** A fixed-cost check for unknown users too, so timing does not reveal which names exist. */
  private dummyHash: Promise<string> | undefined;

  async login(username: string, password: string, now: number): Promise<{ token: string; expiresAt: number; user: Principal } | undefined> {
    const user = await this.store.users.getUser(username);
    if (user === undefined) {
      this.dummyHash ??= hashPassword('not-a-user-password');
      await verifyPassword(password, await this.dummyHash);
      return undefined;
    }
    if (!(await verifyPassword(password, user.passwordHash))) return undefined;
    const token = randomBytes(32).toString('base64url');
    const expiresAt = now + this.ttlS * 1000;
    await this.store.users.addToken(tokenHash(token), username, now, expiresAt);
    return { token, expiresAt, user: principal(user) };
  }

  async authenticate(authorization: string | undefined, now: number): Promise<Principal | undefined> {
    const token = bearerToken(authorization);
    return token === undefined ? undefined : this.authenticateToken(token, now);
  }

  /** The same opaque token, from the dashboard's session cookie or a bearer header. */
  async authenticateToken(token: string, now: number): Promise<Principal | undefined> {
    if (!TOKEN.test(token)) return undefined;
    const username = await this.store.users.tokenUser(tokenHash(token), now);
    if (username === undefined) return undefined;
    const user = await this.store.users.getUser(username);
    return user === undefined ? undefined : principal(user);
  }

  async logout(token: string | undefined): Promise<void> {
    if (token) await this.store.users.deleteToken(tokenHash(token));
  }
}

const TOKEN = /^[A-Za-z0-9_-]{20,128}$/;

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer (\S+)$/.exec(authorization?.trim() ?? '');
  return m ? m[1] : undefined;
}

function principal(u: UserRow): Principal {
  return { username: u.username, role: u.role, storeId: u.storeId };
}

/** The store a principal may see: a manager's own, or (undefined) all. */
export function scopeOf(p: Principal): { storeId?: string } {
  return p.role === 'manager' ? { storeId: p.storeId ?? '\u0000none' } : {};
}

export function canSeeStore(p: Principal, storeId: string): boolean {
  return p.role !== 'manager' || p.storeId === storeId;
}
