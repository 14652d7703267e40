/**
 * Application updates end to end on real daemons: the working tree installed as release 1.0.0,
 * run by the supervisor (systemd's part: the release boot check, the daemon from
 * `<releases>/current`, restarted on exit), offered signed releases made by make-release's packer
 * over a real Mosquitto. In order: a tampered, a foreign-signed and an older release refused; a
 * good release switched to by a restart into it and serving frames, with a kill -9 while it is
 * watched; then the release it replaced refused by the raised floor. Rollbacks: app-rollback-e2e.
 */
import { realpath } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { startAppWorld, type AppWorld } from './app-e2e-support.ts';
import { expectFramesFlowing } from './app-rig.ts';
import { generateSigningKey, makeArtifact } from './fleet-double.ts';

describe('application update on real daemons: refusals, a switch by restart, the floor', { timeout: 400_000 }, () => {
  let w: AppWorld;

  beforeAll(async () => {
    w = await startAppWorld({ appMinFps: 0.5 });
  }, 240_000);

  afterAll(async () => {
    await w?.close();
  });

  it('runs release 1.0.0 from <releases>/current and serves frames; /healthz and the fleet see the release', async () => {
    expect(w.mirror.latest().release).toBe(await realpath(w.mirror.first.dir));
    await expectFramesFlowing(w.mirror);
    const h = await w.mirror.health();
    expect(h.release).toEqual({ version: '1.0.0', artifactId: 'app-1-0-0' });
    expect((h.models as Record<string, string>).app).toBe('1.0.0');
  });

  it('a tampered bundle, a bundle signed by a key not pinned, an older release: each refused naming the problem; 1.0.0 keeps serving, never restarted', async () => {
    const good = await w.release('1.0.9');
    const tampered = Buffer.from(good.bytes);
    tampered[tampered.byteLength - 1] ^= 0x01;
    await w.offer('job-tampered', { ...good, bytes: tampered });
    const t = await w.fleet.waitForState((s) => s.jobId === 'job-tampered' && s.state === 'failed', 120_000, 'tampered: failed');
    expect(t.reason).toBe('sha256-mismatch');
    expect(t.detail).toMatch(/sha256 [0-9a-f]{64}, artifact declares [0-9a-f]{64}/);

    const foreign = makeArtifact(good.bytes, { id: 'app-1-0-9-x', kind: 'app', name: 'app', version: '1.0.9', key: w.key, resignWith: generateSigningKey('fleet-app') });
    await w.offer('job-badsig', { ...good, artifact: foreign });
    expect(await w.fleet.waitForState((s) => s.jobId === 'job-badsig' && s.state === 'rejected', 60_000)).toMatchObject({ reason: 'bad-signature' });

    const older = await w.release('0.9.0');
    await w.offer('job-older', older);
    const o = await w.fleet.waitForState((s) => s.jobId === 'job-older' && s.state === 'rejected', 60_000, 'older: rejected');
    expect(o).toMatchObject({ reason: 'downgrade' });
    expect(o.detail).toMatch(/0\.9\.0 is below 1\.0\.0/);
    expect(w.fleet.requests.filter((r) => r.jobId === 'job-older')).toHaveLength(0);
    expect(w.mirror.starts).toHaveLength(1);
  });

  it('a new release: staged beside 1.0.0, switched by a restart into it, watched (a kill -9 in the window is one more start), committed; frames flow from the new folder', async () => {
    const r = await w.release('1.1.0', { 'device/main.ts': `${w.mainTs}\n// release 1.1.0\n` });
    // A delta: main.ts is carried, the rest is hard-linked from 1.0.0 on the mirror.
    expect(r.packed.carried).toBeGreaterThanOrEqual(1);
    expect(r.packed.fromBase).toBeGreaterThan(r.packed.files - 10);
    await w.offer('job-110', r, 8);
    // The old daemon stages and smoke-tests, then exits 75 to be restarted into the new release.
    await until(() => w.mirror.starts.length >= 2 && w.mirror.latest().release.endsWith('/app-1-1-0'), { what: 'a start from the new release', timeoutMs: 240_000, everyMs: 200 });
    expect(w.mirror.starts[0]!.exit?.code).toBe(75);
    await w.fleet.waitForState((s) => s.jobId === 'job-110' && s.state === 'watching', 180_000, 'watching');
    // Power cut in the watch window: the supervisor starts it again, the boot check counts it, the watch resumes.
    process.kill(w.mirror.latest().pid, 'SIGKILL');
    const verdict = await w.fleet.waitForState((s) => s.jobId === 'job-110' && ['committed', 'rolled-back'].includes(s.state), 300_000, 'the verdict');
    expect(verdict).toMatchObject({ state: 'committed', servingVersion: '1.1.0' });
    expect(w.states('job-110').slice(0, 7)).toEqual(['announced', 'downloading', 'verifying', 'staged', 'smoke-testing', 'active', 'watching']);
    expect(w.mirror.starts.filter((s) => s.release.endsWith('/app-1-1-0')).length).toBeGreaterThanOrEqual(2);
    expect(w.mirror.latest().release.endsWith('/app-1-1-0')).toBe(true);
    await expectFramesFlowing(w.mirror);
    expect((await w.mirror.health()).release).toEqual({ version: '1.1.0', artifactId: 'app-1-1-0' });
  });

  it('after the commit of 1.1.0, a release below it is refused (the anti-rollback floor)', async () => {
    await w.offer('job-105', await w.release('1.0.5'));
    const s = await w.fleet.waitForState((x) => x.jobId === 'job-105' && x.state === 'rejected', 60_000);
    expect(s).toMatchObject({ reason: 'downgrade' });
    expect(s.detail).toMatch(/below 1\.1\.0/);
  });
});
