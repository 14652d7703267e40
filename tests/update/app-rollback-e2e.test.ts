/**
 * Application releases rolled back automatically, on real daemons under the supervisor (see
 * app-update-e2e.test.ts): one that crash-loops is rolled back by the release boot check before
 * the daemon starts (crash-loop limit 2 starts here, production's is 3: each start of a release
 * costs the import of its whole code); one whose fps falls under the budget is rolled back by its
 * own watch (the release stalls 4 s after every frame). Each time release 1.0.0 serves frames
 * again and the fleet hears why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { startAppWorld, type AppWorld } from './app-e2e-support.ts';
import { expectFramesFlowing } from './app-rig.ts';

/** The crashing release dies as it starts serving (its --check-config smoke test passes). */
const CRASHING = `if (!process.argv.includes('--check-config')) throw new Error('release 1.2.0: a bug that kills the daemon at start');\n`;
/** The slow release waits 4 s after every frame it processes (a stalled await in the frame loop): at most 0.25 fps. */
const STALL = ['const rendered = await this.#render(frame);', 'const rendered = await this.#render(frame);\n      await new Promise((r) => setTimeout(r, 4000));'] as const;
/** Far under what the daemon does even on a loaded 2-core machine, far over what the slow release does. */
const MIN_FPS = 0.5;

describe('application update on real daemons: automatic rollbacks', { timeout: 400_000 }, () => {
  let w: AppWorld;

  beforeAll(async () => {
    w = await startAppWorld({ appMinFps: MIN_FPS, limits: { maxStarts: 2, windowMs: 300_000 } });
  }, 240_000);

  afterAll(async () => {
    await w?.close();
  });

  it('a release that crash-loops: started twice, then the boot check rolls back to 1.0.0, which serves frames and reports rolled-back (crash-loop)', async () => {
    const r = await w.release('1.2.0', { 'device/main.ts': `${CRASHING}${w.mainTs}` });
    await w.offer('job-120', r);
    const rolled = await w.fleet.waitForState((s) => s.jobId === 'job-120' && ['committed', 'rolled-back'].includes(s.state), 300_000, 'the rollback');
    expect(rolled).toMatchObject({ state: 'rolled-back', reason: 'crash-loop', servingVersion: '1.0.0' });
    expect(rolled.detail).toMatch(/started 3 times in 300 s without reaching healthy/);
    const crashed = w.mirror.starts.filter((s) => s.release.endsWith('/app-1-2-0'));
    expect(crashed).toHaveLength(2);
    for (const s of crashed) expect(s.exit?.code).toBe(1);
    expect(w.mirror.latest().release.endsWith('/app-1-0-0')).toBe(true);
    await expectFramesFlowing(w.mirror);
    // Never taken again.
    await w.offer('job-120-again', r);
    expect(await w.fleet.waitForState((s) => s.jobId === 'job-120-again' && s.state === 'rejected', 60_000)).toMatchObject({ reason: 'previously-rolled-back' });
  });

  it('a release whose fps falls under the budget: its own watch rolls it back, 1.0.0 serves frames again', async () => {
    const pipeline = w.baseFile('device/pipeline.ts');
    expect(pipeline).toContain(STALL[0]);
    const r = await w.release('1.3.0', { 'device/pipeline.ts': pipeline.replace(STALL[0], STALL[1]) });
    await w.offer('job-130', r, 10);
    const rolled = await w.fleet.waitForState((s) => s.jobId === 'job-130' && ['committed', 'rolled-back'].includes(s.state), 300_000, 'the verdict');
    expect(rolled).toMatchObject({ state: 'rolled-back', reason: 'health-regressed' });
    expect(rolled.detail).toMatch(/fps [\d.]+ < 0\.5, the budget/);
    await until(() => w.mirror.latest().release.endsWith('/app-1-0-0') && w.mirror.latest().port !== null, { what: 'a start of 1.0.0', timeoutMs: 180_000, everyMs: 200 });
    await expectFramesFlowing(w.mirror);
    expect((await w.mirror.health()).release).toEqual({ version: '1.0.0', artifactId: 'app-1-0-0' });
    expect(w.states('job-130')).toEqual(['announced', 'downloading', 'verifying', 'staged', 'smoke-testing', 'active', 'watching', 'rolled-back(health-regressed)']);
  });
});
