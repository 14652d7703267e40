/**
 * A small process supervisor that plays systemd's part where there is none (the tests, a host
 * without systemd): before every start the release boot check (as ExecStartPre), then the daemon
 * from `<releases>/current` (as ExecStart, in the release folder as WorkingDirectory), restarted
 * whenever it exits (Restart=always, RestartSec), giving up after `startLimitBurst` starts within
 * `startLimitIntervalMs` (StartLimitBurst / StartLimitIntervalSec).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Logger } from '../core/logger.ts';
import { runAppBootCheck, type AppBootLimits, type BootCheckResult } from './boot-check.ts';
import { ReleaseLayout } from './layout.ts';

export interface SupervisorOptions {
  releasesDir: string;
  stateDir: string;
  /** The daemon's arguments (e.g. --config FILE) and extra environment. */
  args?: readonly string[];
  env?: Record<string, string>;
  restartMs?: number;
  startLimitBurst?: number;
  startLimitIntervalMs?: number;
  limits?: AppBootLimits;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export interface SupervisedStart {
  child: ChildProcess;
  /** The release folder it was started from (what `current` named). */
  release: string;
  check: BootCheckResult;
}

/** Events: `start` (SupervisedStart), `exit` ({ code, signal, release }), `gave-up` (string). */
export class Supervisor extends EventEmitter {
  #child: SupervisedStart | null = null;
  #starts: number[] = [];
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  readonly layout: ReleaseLayout;

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.layout = new ReleaseLayout(opts.releasesDir);
  }

  get running(): SupervisedStart | null {
    return this.#child;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const now = Date.now();
    this.#starts = this.#starts.filter((t) => now - t < (o.startLimitIntervalMs ?? 300_000));
    if (this.#starts.length >= (o.startLimitBurst ?? 5)) {
      o.logger.error({ starts: this.#starts.length }, 'supervisor: start limit hit; giving up');
      this.emit('gave-up', 'start-limit-hit');
      return;
    }
    this.#starts.push(now);
    const check = await runAppBootCheck({ stateDir: o.stateDir, releasesDir: o.releasesDir, ...(o.limits ? { limits: o.limits } : {}), logger: o.logger }).catch(
      (err: unknown) => {
        o.logger.error({ err: (err as Error).message }, 'supervisor: release boot check failed; starting what current names');
        return null;
      },
    );
    const release = check?.current ?? (await this.layout.current());
    if (this.#stopped) return;
    if (!release) {
      this.emit('gave-up', 'no-release');
      return;
    }
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(release, 'device', 'main.ts'), ...(o.args ?? [])], {
      cwd: release,
      env: { ...process.env, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const started: SupervisedStart = { child, release, check: check ?? { decision: { action: 'none' }, current: release, moved: false } };
    this.#child = started;
    child.once('exit', (code, signal) => {
      if (this.#child === started) this.#child = null;
      this.emit('exit', { code, signal, release });
      if (this.#stopped) return;
      this.#timer = setTimeout(() => void this.start(), o.restartMs ?? 1000);
    });
    this.emit('start', started);
  }

  /** Stops supervising; the running daemon gets `signal` (and its process group SIGKILL once it is gone). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const c = this.#child?.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await gone;
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  }
}
