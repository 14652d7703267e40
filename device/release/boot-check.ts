/**
 * The release boot check, run before every daemon start (systemd ExecStartPre, or the supervisor)
 * from the installed base, never from the release under test: a release that dies while importing
 * its own code cannot be trusted to roll itself back. By the state table's `onRestartBoot`:
 *
 *   no application job, or one before its switch  `current` must name the committed release (repaired if not)
 *   active / watching, committed.json already     the commit point was passed before the power went:
 *     naming the new release                      the commit is completed (rolled forward)
 *   active / watching                             this start is counted; `current` must name the staged
 *                                                 release (else the switch never completed: roll back);
 *                                                 more than maxStarts starts in the window without the
 *                                                 job reaching committed is a crash loop: roll back
 *   committed / rolled-back / failed / rejected   nothing (the invariant above still holds)
 *   a state this firmware does not know           roll back
 *
 * A rollback records the job as rolled-back first (the daemon of the previous release reports it
 * to the fleet when it starts) and then moves `current` back; a power cut between the two is
 * repaired by the invariant on the next boot.
 */
import { stat } from 'node:fs/promises';
import type { Logger } from '../core/logger.ts';
import { restartBootAction } from '../update/states.ts';
import { UpdateStore, type JobRecord } from '../update/store.ts';
import { APP_NAME, ReleaseLayout, sameDir } from './layout.ts';
import { StartCount } from './start-count.ts';

export interface AppBootLimits {
  /** Starts of a new release, within `windowMs`, that may fail to reach committed before it is rolled back. */
  maxStarts: number;
  windowMs: number;
}

export const DEFAULT_APP_BOOT_LIMITS: AppBootLimits = { maxStarts: 3, windowMs: 5 * 60_000 };

export type AppBootDecision =
  | { action: 'none' }
  | { action: 'start'; starts: number }
  | { action: 'rollback'; reason: 'crash-loop' | 'interrupted' | 'unknown-state'; detail: string };

/** The rule, pure: what a boot does with an application job in `state`. */
export function decideAppBoot(
  input: { state: unknown; currentIsStaged: boolean; startsInWindow: number },
  limits: AppBootLimits,
): AppBootDecision {
  const action = restartBootAction(input.state);
  if (action === 'rollback') return { action: 'rollback', reason: 'unknown-state', detail: `restart while ${JSON.stringify(input.state)}, a state this firmware does not know` };
  if (action !== 'watch') return { action: 'none' };
  if (!input.currentIsStaged) return { action: 'rollback', reason: 'interrupted', detail: `restart while ${String(input.state)} before the switch to the new release completed` };
  if (input.startsInWindow > limits.maxStarts) {
    return {
      action: 'rollback',
      reason: 'crash-loop',
      detail: `started ${input.startsInWindow} times in ${Math.round(limits.windowMs / 1000)} s without reaching healthy`,
    };
  }
  return { action: 'start', starts: input.startsInWindow };
}

export interface BootCheckResult {
  decision: AppBootDecision;
  /** The release folder `current` names once the check is done (null: no release installed). */
  current: string | null;
  /** `current` was moved back to the committed release (a rollback, or the invariant repaired). */
  moved: boolean;
}

export async function runAppBootCheck(opts: {
  stateDir: string;
  releasesDir: string;
  limits?: AppBootLimits;
  now?: number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}): Promise<BootCheckResult> {
  const { logger } = opts;
  const limits = opts.limits ?? DEFAULT_APP_BOOT_LIMITS;
  const store = new UpdateStore(opts.stateDir, { releasesDir: opts.releasesDir });
  const layout = new ReleaseLayout(opts.releasesDir);
  const loaded = await store.loadJob();
  const job = loaded.ok && loaded.job?.offer.artifact.name === APP_NAME ? loaded.job : null;
  let decision: AppBootDecision = { action: 'none' };
  if (job && restartBootAction(job.state) === 'watch' && (await store.committed(APP_NAME))?.artifactId === job.offer.artifact.id) {
    logger.warn({ jobId: job.offer.jobId, state: job.state }, 'release boot: committed pointer already names the new release; completing the commit');
    await store.raiseFloor(APP_NAME, job.offer.artifact.version);
    job.state = 'committed';
    job.reason = undefined;
    await store.saveJob(job);
  } else if (job) {
    const currentIsStaged = await sameDir(await layout.current(), job.stagedDir);
    const watching = restartBootAction(job.state) === 'watch' && currentIsStaged;
    const startsInWindow = watching ? await new StartCount(store.updatesDir).record(job.offer.jobId, opts.now ?? Date.now(), limits.windowMs) : 0;
    decision = decideAppBoot({ state: job.state, currentIsStaged, startsInWindow }, limits);
    if (decision.action === 'rollback') {
      logger.warn({ jobId: job.offer.jobId, version: job.offer.artifact.version, reason: decision.reason, detail: decision.detail }, 'release boot: rolling back to the committed release');
      await recordRollback(store, job, decision);
    }
    if (decision.action === 'start') logger.info({ jobId: job.offer.jobId, version: job.offer.artifact.version, starts: decision.starts }, 'release boot: starting the release under watch');
  }
  if (decision.action === 'start') return { decision, current: await layout.current(), moved: false };
  const moved = await keepCommittedCurrent(store, layout, logger);
  return { decision, current: await layout.current(), moved };
}

async function recordRollback(store: UpdateStore, job: JobRecord, d: Extract<AppBootDecision, { action: 'rollback' }>): Promise<void> {
  job.state = 'rolled-back';
  job.reason = d.reason;
  job.detail = d.detail;
  await store.addRejectedArtifact(job.offer.artifact.id);
  await store.saveJob(job);
}

/** The invariant outside a watch: `current` names the committed release. True when it had to be moved. */
async function keepCommittedCurrent(store: UpdateStore, layout: ReleaseLayout, logger: Pick<Logger, 'warn'>): Promise<boolean> {
  const committed = await store.committed(APP_NAME);
  if (!committed?.dir || !(await stat(committed.dir).then((s) => s.isDirectory(), () => false))) return false;
  const current = await layout.current();
  if (await sameDir(current, committed.dir)) return false;
  logger.warn({ from: current, to: committed.dir, version: committed.version }, 'release boot: current does not name the committed release; moving it back');
  await layout.switchCurrent(committed.dir);
  return true;
}
