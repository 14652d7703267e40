/**
 * `active` → `watching` → committed or rolled back, for an application release, in the process
 * that restarted into it: it must run the staged release (else the switch never happened: roll
 * back), then frames must flow (the first one within FIRST_FRAME_S, or `watchSeconds` if longer, of
 * the start: models load and the camera opens first), and over the next `watchSeconds` the fps
 * must stay within the budget (`appMinFps`) and stage errors rare.
 * There is no pre-switch baseline in this process, so the budget is absolute. Crashes are the boot
 * hook's to count (device/release/boot-check.ts).
 */
import { sameDir } from '../release/layout.ts';
import type { HealthSample } from './host.ts';
import type { Failure, JobContext } from './job.ts';
import { watchVerdict, type Verdict } from './watch.ts';

/** A release that shows no frame this long after its start is not serving. */
export const FIRST_FRAME_S = 60;

export interface AppWatchLimits {
  watchSeconds: number;
  minFps: number;
  maxStageErrorRatio: number;
}

/** The rule once frames flow, pure: errors at once, then at the window's end the fps against the budget. */
export function appWatchVerdict(flowing: HealthSample, now: HealthSample, elapsedMs: number, limits: AppWatchLimits): Verdict {
  const verdict = watchVerdict({ ...flowing, fps: 0 }, now, elapsedMs, { ...limits, minFpsRatio: 0 });
  if (verdict !== 'commit') return verdict;
  const fps = ((now.processedFrames - flowing.processedFrames) * 1000) / elapsedMs;
  if (fps < limits.minFps) return { state: 'rolled-back', reason: 'health-regressed', detail: `fps ${fps.toFixed(2)} < ${limits.minFps}, the budget, over ${limits.watchSeconds} s after the switch` };
  return 'commit';
}

/** Carries an application job on after the restart into the new release; `onVerdict` runs on the queue. */
export async function watchAfterRestart(ctx: JobContext, onVerdict: (v: Failure | 'commit') => Promise<void>): Promise<void> {
  const j = ctx.job!;
  const host = ctx.hostFor(j.offer.artifact);
  const running = host.serving(j.offer.artifact.name);
  if (!(await sameDir(running.dir, j.stagedDir))) {
    return ctx.finish({ state: 'rolled-back', reason: 'interrupted', detail: `restarted into release ${running.version}, not the staged ${j.offer.artifact.version}` });
  }
  if (j.state === 'active') await ctx.transition('watching');
  const limits = { watchSeconds: j.offer.watchSeconds, minFps: ctx.tuning.appMinFps, maxStageErrorRatio: ctx.tuning.maxStageErrorRatio };
  const firstFrameS = Math.max(FIRST_FRAME_S, limits.watchSeconds);
  const startedAt = performance.now();
  const atStart = host.health();
  let flowing: { sample: HealthSample; at: number } | null = null;
  const timer = setInterval(() => {
    const now = host.health();
    const t = performance.now();
    let verdict: Verdict = null;
    if (!flowing && now.processedFrames > atStart.processedFrames) flowing = { sample: now, at: t };
    if (flowing) verdict = appWatchVerdict(flowing.sample, now, t - flowing.at, limits);
    else if (t - startedAt >= firstFrameS * 1000) verdict = { state: 'rolled-back', reason: 'not-serving', detail: `no frame processed in ${firstFrameS} s after the restart into the new release` };
    if (verdict === null) return;
    clearInterval(timer);
    if (ctx.watchTimer === timer) ctx.watchTimer = undefined;
    void ctx.enqueue('app watch verdict', async () => {
      if (ctx.job === j && j.state === 'watching') await onVerdict(verdict);
    });
  }, ctx.tuning.watchTickMs);
  timer.unref();
  ctx.watchTimer = timer;
}
