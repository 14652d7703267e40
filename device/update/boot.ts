/**
 * Boot, by the state table: before any model loads, a job interrupted after the switch (or in a
 * state this firmware does not know) is rolled back on disk (prepareUpdateBoot); once the agent
 * runs, a job interrupted before the switch resumes where the table says (resume).
 */
import { rename, stat } from 'node:fs/promises';
import type { Logger } from '../core/logger.ts';
import type { JobContext } from './job.ts';
import { APP_NAME } from '../release/layout.ts';
import { bootAction, isUpdateState, MAX_BOOT_RESUMES, restartBootAction } from './states.ts';
import type { ServingModel, UpdateStore } from './store.ts';

/** Returns the model to serve for `name` (null = the bundled model). */
export async function prepareUpdateBoot(store: UpdateStore, name: string, logger: Logger): Promise<ServingModel | null> {
  const loaded = await store.loadJob();
  if (!loaded.ok) {
    logger.error({ error: loaded.error }, 'update: job record unreadable; serving the last committed model');
    await rename(store.jobFile, `${store.jobFile}.corrupt-${Date.now()}`).catch(() => {});
  } else if (loaded.job && loaded.job.offer.artifact.name === name && bootAction(loaded.job.state) === 'rollback') {
    const job = loaded.job;
    const committed = await store.committed(name);
    if (committed?.artifactId === job.offer.artifact.id) {
      // The pointer was written (commit point) but the power went before the state was: roll forward.
      logger.warn({ jobId: job.offer.jobId, state: job.state }, 'update: pointer already names the new model; completing the commit');
      await store.raiseFloor(name, job.offer.artifact.version);
      job.state = 'committed';
      job.reason = undefined;
      await store.saveJob(job);
    } else {
      const reason = isUpdateState(job.state) ? 'interrupted' : 'unknown-state';
      logger.warn({ jobId: job.offer.jobId, state: job.state, reason }, 'update: interrupted after the switch; rolling back to the last committed model');
      job.detail = `restart while ${JSON.stringify(job.state)}; the new model was never committed`;
      job.state = 'rolled-back';
      job.reason = reason;
      await store.addRejectedArtifact(job.offer.artifact.id);
      await store.saveJob(job);
    }
  }
  return store.committed(name);
}

export interface ResumePhases {
  download(): Promise<void>;
  /** From a complete download: verify, stage, smoke test, switch. */
  afterTransfer(): Promise<void>;
  /** From a complete staged directory: smoke test, switch. */
  afterStage(): Promise<void>;
  /** An application release after its restart (the boot hook let it start): watch it. */
  watchRelease(): Promise<void>;
}

/** Picks up the persisted job by the table and reports what the fleet has not heard. */
export async function resume(ctx: JobContext, phases: ResumePhases): Promise<void> {
  const loaded = await ctx.store.loadJob();
  if (!loaded.ok || !loaded.job) return;
  const j = loaded.job;
  ctx.job = j;
  // An application release switches by restarting: its boot actions are the table's onRestartBoot.
  const action = j.offer.artifact.name === APP_NAME ? restartBootAction(j.state) : bootAction(j.state);
  if (action === 'watch') return phases.watchRelease();
  if (action === 'none' || action === 'rollback') {
    // Rollbacks were applied before anything loaded (prepareUpdateBoot; the release boot hook for
    // the application); say how it ended.
    if (j.reported !== j.state) {
      ctx.report(j);
      j.reported = j.state;
      await ctx.store.saveJob(j);
    }
    return;
  }
  j.resumes += 1;
  await ctx.store.saveJob(j);
  ctx.logger.info({ jobId: j.offer.jobId, state: j.state, action, resumes: j.resumes }, 'update: resuming an interrupted job');
  if (j.resumes > MAX_BOOT_RESUMES) {
    return ctx.finish({ state: 'failed', reason: 'resume-loop', detail: `restarted ${j.resumes} times while ${j.state}` });
  }
  if (action === 'resume-download') return phases.download();
  if (action === 'verify') {
    j.state = 'downloading'; // verifying is entered again, by the table, from a complete download
    return phases.afterTransfer();
  }
  // smoke-test: a staged directory is renamed into place whole, so its existence means it is complete.
  const ok = j.stagedDir !== undefined && (await stat(j.stagedDir).then((s) => s.isDirectory(), () => false));
  if (!ok) return ctx.finish({ state: 'failed', reason: 'internal-error', detail: 'staged directory missing' });
  if (j.state === 'smoke-testing') j.state = 'staged';
  return phases.afterStage();
}
