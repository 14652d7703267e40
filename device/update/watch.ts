/**
 * `staged` → `smoke-testing` → `active` → `watching`: the host loads the staged model and runs
 * the golden frames; the candidate is swapped in; then fps and stage errors are watched against
 * the pre-switch baseline for `watchSeconds`, and the verdict (commit or roll back) is queued.
 */
import type { HealthSample } from './host.ts';
import type { Failure, JobContext } from './job.ts';

export type Verdict = Failure | 'commit' | null;

export interface WatchLimits {
  watchSeconds: number;
  minFpsRatio: number;
  maxStageErrorRatio: number;
}

/** The watch window's rule, pure: roll back on errors at once, and on no frames or low fps at its end. */
export function watchVerdict(baseline: HealthSample, now: HealthSample, elapsedMs: number, limits: WatchLimits): Verdict {
  const frames = now.processedFrames - baseline.processedFrames;
  const errors = now.stageErrors - baseline.stageErrors;
  if (errors > Math.max(3, limits.maxStageErrorRatio * (frames + errors))) {
    return { state: 'rolled-back', reason: 'health-regressed', detail: `${errors} stage errors in ${frames + errors} frames` };
  }
  if (elapsedMs < limits.watchSeconds * 1000) return null;
  const fps = (frames * 1000) / elapsedMs;
  if (frames === 0) return { state: 'rolled-back', reason: 'not-serving', detail: `no frame processed in ${limits.watchSeconds} s with the new model` };
  if (baseline.fps > 0 && fps < limits.minFpsRatio * baseline.fps) {
    return { state: 'rolled-back', reason: 'health-regressed', detail: `fps ${fps.toFixed(1)} < ${limits.minFpsRatio} x ${baseline.fps.toFixed(1)} before the switch` };
  }
  return 'commit';
}

/** Smoke-tests the staged model and switches to it; then the watch decides (`onVerdict`, on the queue). */
export async function smokeTestAndSwitch(ctx: JobContext, onVerdict: (v: Failure | 'commit') => Promise<void>): Promise<void> {
  const j = ctx.job!;
  const a = j.offer.artifact;
  if (j.state !== 'smoke-testing') await ctx.transition('smoke-testing');
  const host = ctx.hostFor(a);
  const result = await host.smokeTest(a.name, j.stagedDir!);
  if (!result.ok) return ctx.finish({ state: 'failed', reason: 'smoke-test-failed', detail: result.detail });
  const baseline = host.health();
  await ctx.transition('active');
  const model = { version: a.version, dir: j.stagedDir!, artifactId: a.id };
  // The application switches by restarting into it (`active` is persisted): the new process watches (app-watch.ts).
  if (host.bootInto) {
    await host.bootInto(model);
    return host.restart?.();
  }
  host.activate(a.name, result.candidate, model);
  await ctx.transition('watching');
  startWatch(ctx, baseline, onVerdict);
}

function startWatch(ctx: JobContext, baseline: HealthSample, onVerdict: (v: Failure | 'commit') => Promise<void>): void {
  const j = ctx.job!;
  const host = ctx.hostFor(j.offer.artifact);
  const startedAt = performance.now();
  const limits = { watchSeconds: j.offer.watchSeconds, minFpsRatio: ctx.tuning.minFpsRatio, maxStageErrorRatio: ctx.tuning.maxStageErrorRatio };
  const timer = setInterval(() => {
    const verdict = watchVerdict(baseline, host.health(), performance.now() - startedAt, limits);
    if (verdict === null) return;
    clearInterval(timer);
    if (ctx.watchTimer === timer) ctx.watchTimer = undefined;
    void ctx.enqueue('watch verdict', async () => {
      if (ctx.job === j && j.state === 'watching') await onVerdict(verdict);
    });
  }, ctx.tuning.watchTickMs);
  timer.unref();
  ctx.watchTimer = timer;
}
