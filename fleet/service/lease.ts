/**
 * Leader election for work that one instance of several must do (the rollout engine's ticks):
 * a named lease in the shared database (store/leases-repo.ts), taken or renewed before each
 * round of that work. The holder renews it every round; when it dies, the lease expires after
 * `ttlMs` and the next instance to try takes it over; a clean shutdown releases it at once.
 *
 * Times are the instances' own clocks: they must agree to well within `ttlMs` (NTP does). A
 * holder that stalls past `ttlMs` (a long GC pause) may overlap with its successor for one
 * round; the rollout engine's own writes are conditional (a wave opens once) for that reason.
 */
import type { LeasesRepo } from './store/leases-repo.ts';

export interface LeaseLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface LeaseStatus {
  name: string;
  /** This instance's holder id. */
  holder: string;
  /** Whether this instance held the lease after its last attempt. */
  leader: boolean;
  /** When this instance's lease runs out (ms since the epoch), while it holds it. */
  expiresAt: number | null;
}

export class Lease {
  private held = false;
  private expiresAt: number | null = null;

  constructor(
    private readonly repo: LeasesRepo,
    readonly name: string,
    readonly holder: string,
    private readonly ttlMs: number,
    private readonly now: () => number,
    private readonly log: LeaseLog,
  ) {}

  /** Takes or renews the lease; true when this instance holds it for the next `ttlMs`. */
  async hold(): Promise<boolean> {
    const now = this.now();
    let ok: boolean;
    try {
      ok = await this.repo.acquire(this.name, this.holder, this.ttlMs, now);
    } catch (err) {
      // The database is unreachable: another instance may take over once our lease runs out.
      this.log.warn({ lease: this.name, err: String(err) }, 'lease renewal failed; not leading');
      ok = false;
    }
    if (ok !== this.held) this.log.info({ lease: this.name, holder: this.holder, leader: ok }, ok ? 'lease taken: leading' : 'lease lost: following');
    this.held = ok;
    this.expiresAt = ok ? now + this.ttlMs : null;
    return ok;
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    this.expiresAt = null;
    await this.repo.release(this.name, this.holder);
    this.log.info({ lease: this.name, holder: this.holder }, 'lease released');
  }

  status(): LeaseStatus {
    return { name: this.name, holder: this.holder, leader: this.held, expiresAt: this.expiresAt };
  }
}
