/**
 * The end of a job the agent was told about or decided: `committed` (the pointer names the new
 * model, the previous one is released, the floor is raised), or the fleet's cancel (abort before
 * the switch, roll back after it, or an operator rollback of a committed job).
 */
import { STATE_TABLE } from './states.ts';
import { TERMINAL_UPDATE_STATES, type UpdateCancel, type UpdateStateName } from '../../fleet/protocol/update.ts';
import type { JobContext } from './job.ts';

export async function commit(ctx: JobContext): Promise<void> {
  const j = ctx.job!;
  const a = j.offer.artifact;
  // The commit point: from here on a boot serves the new model.
  await ctx.store.setCommitted(a.name, { version: a.version, dir: j.stagedDir!, artifactId: a.id }, j.previous);
  await ctx.store.raiseFloor(a.name, a.version);
  await ctx.transition('committed');
  ctx.hostFor(a).commit(a.name);
  await ctx.store.clearJobFiles(j.offer.jobId);
  await ctx.store.pruneStaged(a.name, [j.stagedDir, j.previous?.dir]);
  ctx.logger.info({ jobId: j.offer.jobId, artifactId: a.id, version: a.version }, 'update: committed');
}

export async function cancel(ctx: JobContext, c: UpdateCancel): Promise<void> {
  const j = ctx.job;
  if (!j || j.offer.jobId !== c.jobId) return;
  const state = j.state as UpdateStateName;
  if (state === 'committed' && c.action === 'rollback') {
    return ctx.finish({ state: 'rolled-back', reason: 'operator-rollback', detail: 'rollback requested by the fleet' });
  }
  if (TERMINAL_UPDATE_STATES.has(state)) return ctx.report(j);
  const switched = STATE_TABLE[state].switched;
  return ctx.finish({ state: switched ? 'rolled-back' : 'failed', reason: 'cancelled', detail: `${c.action} requested by the fleet` });
}
