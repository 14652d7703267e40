/**
 * The daemon's side of application updates (kind "app"): a release is staged as a folder beside
 * the running one (device/release/stage-release.ts), smoke-tested by starting its own entry point
 * with `--check-config` (its whole import graph loads: code and dependencies are all there), and
 * switched by pointing `current` at it (bootInto) and restarting into it once `active` is on disk
 * (restart: exit 75, which systemd's Restart= or the supervisor starts again). The job then
 * continues in the new process (app-watch.ts); a rollback points `current` back at the previous
 * release and restarts once `rolled-back` is on disk.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/logger.ts';
import { APP_NAME, DEPS_DIR, readReleaseInfo, sameDir, type ReleaseLayout } from '../release/layout.ts';
import type { RunningRelease } from '../release/running.ts';
import { stageRelease } from '../release/stage-release.ts';
import type { HealthSample, ModelHost, SmokeResult } from './host.ts';
import type { ServingModel } from './store.ts';

export interface AppHostOptions {
  layout: ReleaseLayout;
  running: RunningRelease;
  health: () => HealthSample;
  /** Ends this process with the restart exit code once the update agent has stopped (main.ts). */
  requestRestart: () => void;
  /** The daemon's own arguments (its --config), given to the staged release's `--check-config`. */
  daemonArgs: readonly string[];
  smokeTimeoutMs?: number;
  logger: Logger;
}

export function createAppHost(opts: AppHostOptions): ModelHost {
  const { layout, logger } = opts;
  let serving: ServingModel = { version: opts.running.info.version, dir: opts.running.dir, artifactId: opts.running.info.artifactId };

  /** Makes the next boot start `to` (this process serves on until `restart`). */
  async function bootInto(to: ServingModel, why: string): Promise<void> {
    if (!to.dir) throw new Error('an application release always has a folder');
    if (!(await sameDir(await layout.current(), to.dir))) await layout.switchCurrent(to.dir);
    serving = to;
    logger.warn({ version: to.version, release: path.basename(to.dir), why }, 'update: current names another release; the daemon restarts into it');
  }

  return {
    updatable: [APP_NAME],
    serving: () => serving,
    async stage(artifact, file, dir) {
      await stageRelease(artifact, await readFile(file), dir, { layout, baseDir: opts.running.dir });
    },
    async smokeTest(_name, dir): Promise<SmokeResult> {
      const info = await readReleaseInfo(dir);
      if (!info) return { ok: false, detail: 'the staged release has no valid release.json' };
      const problem = await checkConfigIn(dir, opts.daemonArgs, opts.smokeTimeoutMs ?? 120_000);
      return problem ? { ok: false, detail: problem } : { ok: true, candidate: { version: info.version, dispose() {} } };
    },
    activate() {
      throw new Error('an application release switches by restarting into it (restartInto)');
    },
    bootInto: (model) => bootInto(model, 'switch to the new release'),
    async revert(_name, to) {
      if (!to?.dir) throw new Error('no previous release to roll back to');
      await bootInto(to, 'rollback');
    },
    async restart() {
      // Nothing to do when this process already runs what `current` names (a rollback found at boot).
      if (!(await sameDir(await layout.current(), opts.running.dir))) opts.requestRestart();
    },
    commit() {
      void pruneDeps(layout.releasesDir).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'update: could not prune unused dependencies'));
    },
    health: opts.health,
  };
}

/** Starts `<dir>/device/main.ts --check-config` as systemd would start it; null when it exits 0. */
function checkConfigIn(dir: string, daemonArgs: readonly string[], timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(dir, 'device', 'main.ts'), ...daemonArgs, '--check-config'], {
      cwd: dir,
      env: process.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-2000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(`the new release could not be started: ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(null);
      else resolve(`the new release's --check-config exited ${signal ?? code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`.slice(0, 500));
    });
  });
}

/** Removes dependency trees no remaining release links to. */
async function pruneDeps(releasesDir: string): Promise<void> {
  const used = new Set<string>();
  for (const e of await readdir(releasesDir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const info = await readReleaseInfo(path.join(releasesDir, e.name));
    if (info) used.add(info.lockSha256);
  }
  const deps = path.join(releasesDir, DEPS_DIR);
  for (const name of await readdir(deps).catch(() => [] as string[])) {
    if (!used.has(name) && /^[0-9a-f]{64}$/.test(name)) await rm(path.join(deps, name), { recursive: true, force: true });
  }
}
