/**
 * The watch rule of an application release after its restart (app-watch.ts), alone: frames and
 * fps against the absolute budget, stage errors at once. The same rule on real daemons:
 * app-rollback-e2e.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { appWatchVerdict } from '../../device/update/app-watch.ts';

const limits = { watchSeconds: 10, minFps: 15, maxStageErrorRatio: 0.2 };
const at = (processedFrames: number, stageErrors = 0) => ({ processedFrames, stageErrors, fps: 0 });

describe('application release watch verdict', () => {
  it('inside the window with no errors: no verdict yet', () => {
    expect(appWatchVerdict(at(100), at(150), 5_000, limits)).toBeNull();
  });

  it('at the end of the window at or above the budget: commit', () => {
    expect(appWatchVerdict(at(100), at(100 + 150), 10_000, limits)).toBe('commit');
    expect(appWatchVerdict(at(100), at(100 + 300), 10_000, limits)).toBe('commit');
  });

  it('at the end of the window under the budget: rolled back as health-regressed, naming the fps and the budget', () => {
    const v = appWatchVerdict(at(100), at(100 + 149), 10_000, limits);
    expect(v).toMatchObject({ state: 'rolled-back', reason: 'health-regressed' });
    expect((v as { detail: string }).detail).toMatch(/^fps 14\.90 < 15, the budget/);
  });

  it('stage errors over the ratio: rolled back at once, before the window ends', () => {
    expect(appWatchVerdict(at(100), at(120, 10), 1_000, limits)).toMatchObject({ state: 'rolled-back', reason: 'health-regressed' });
  });
});
