/**
 * Login throttling: after `maxFailures` wrong passwords for one user (or `maxFailuresPerIp` from
 * one address) within `windowMs`, that user (or address) is locked out for `lockoutMs`, right
 * password or not. A locked-out attempt costs no password check (scrypt is the expensive part) and
 * writes no audit row: the audit log gets one row per counted failure and one per lockout, so an
 * attacker cannot grow it without bound. One limiter per service instance; its memory is bounded.
 */

export interface LoginLimits {
  maxFailures: number;
  maxFailuresPerIp: number;
  windowMs: number;
  lockoutMs: number;
  /** Most users and addresses tracked at once; the oldest are forgotten first. */
  maxKeys: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  maxFailures: 5,
  maxFailuresPerIp: 20,
  windowMs: 15 * 60_000,
  lockoutMs: 15 * 60_000,
  maxKeys: 10_000,
};

interface Entry {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

/** What a failure means for the audit log: a row, a row announcing the lockout. */
export type FailureVerdict = { audit: 'failed' } | { audit: 'locked'; key: 'user' | 'ip'; failures: number; lockedUntil: number };

export class LoginLimiter {
  private readonly entries = new Map<string, Entry>();
  /** Attempts whose password check is running: a parallel burst must not get past the count. */
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {}

  /**
   * Reserves one attempt for `username` from `ip`: 0 when it may go ahead (then call `failure` or
   * `success`, which release it), else the seconds to wait.
   */
  begin(username: string, ip: string, now: number): number {
    const until = Math.max(this.lockedUntil(`u:${username}`, now), this.lockedUntil(`ip:${ip}`, now));
    if (until > now) return Math.ceil((until - now) / 1000);
    if (this.used(`u:${username}`, now) >= this.limits.maxFailures || this.used(`ip:${ip}`, now) >= this.limits.maxFailuresPerIp) return 1;
    this.hold(`u:${username}`, 1);
    this.hold(`ip:${ip}`, 1);
    return 0;
  }

  failure(username: string, ip: string, now: number): FailureVerdict {
    this.release(username, ip);
    const user = this.count(`u:${username}`, now, this.limits.maxFailures);
    const addr = this.count(`ip:${ip}`, now, this.limits.maxFailuresPerIp);
    if (user.locked) return { audit: 'locked', key: 'user', failures: user.entry.failures, lockedUntil: user.entry.lockedUntil };
    if (addr.locked) return { audit: 'locked', key: 'ip', failures: addr.entry.failures, lockedUntil: addr.entry.lockedUntil };
    return { audit: 'failed' };
  }

  /** A good login clears the user's failures (not the address's: one account must not launder another's). */
  success(username: string, ip: string): void {
    this.release(username, ip);
    this.entries.delete(`u:${username}`);
  }

  clear(): void {
    this.entries.clear();
    this.inFlight.clear();
  }

  /** The attempt ended without a verdict (the store failed): it counts for nothing. */
  release(username: string, ip: string): void {
    this.hold(`u:${username}`, -1);
    this.hold(`ip:${ip}`, -1);
  }

  private hold(key: string, d: number): void {
    const n = (this.inFlight.get(key) ?? 0) + d;
    if (n > 0) this.inFlight.set(key, n);
    else this.inFlight.delete(key);
  }

  /** Failures in the current window plus attempts in flight. */
  private used(key: string, now: number): number {
    const e = this.entries.get(key);
    const failures = e === undefined || now - e.windowStart > this.limits.windowMs ? 0 : e.failures;
    return failures + (this.inFlight.get(key) ?? 0);
  }

  private lockedUntil(key: string, now: number): number {
    const e = this.entries.get(key);
    return e !== undefined && e.lockedUntil > now ? e.lockedUntil : 0;
  }

  /** One more failure under `key`; `locked` when this one started a lockout. */
  private count(key: string, now: number, max: number): { entry: Entry; locked: boolean } {
    let e = this.entries.get(key);
    if (e === undefined || (now - e.windowStart > this.limits.windowMs && e.lockedUntil <= now)) {
      e = { failures: 0, windowStart: now, lockedUntil: 0 };
      this.entries.delete(key);
      this.entries.set(key, e);
      while (this.entries.size > this.limits.maxKeys) this.entries.delete(this.entries.keys().next().value!);
    }
    e.failures++;
    if (e.failures >= max && e.lockedUntil <= now) {
      e.lockedUntil = now + this.limits.lockoutMs;
      return { entry: e, locked: true };
    }
    return { entry: e, locked: false };
  }
}
