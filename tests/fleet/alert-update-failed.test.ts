/**
 * The update-failed alert from a real rollout: a signed artifact pushed through the real service
 * and a real Mosquitto to a simulated mirror whose smoke test fails raises `update-failed` for
 * that mirror (once); a later update that succeeds clears it after the hold-down.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signArtifact } from '../../fleet/cli/signing.ts';
import type { AlertRow } from '../../fleet/service/alerts/alerts-repo.ts';
import { freePort, startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { SimDevice } from '../../fleet/sim/device-sim.ts';
import { startFleet, until, uploadArtifact, type TestService } from './support.ts';

describe('update-failed alert from a real rollout', () => {
  let broker: TestBroker;
  let svc: TestService;
  let dev: SimDevice;
  let failNext = true;
  let clock = Date.now();
  const key = generateSigningKey();

  beforeAll(async () => {
    broker = await startMosquitto();
    const port = await freePort();
    svc = await startFleet(
      'sqlite',
      {
        port,
        publicUrl: `http://127.0.0.1:${port}`,
        mqtt: { url: broker.url },
        trustedKeys: { release: key.publicKeyRaw },
        rollouts: { tickMs: 50, failureThreshold: 1, minDevicesDone: 1, watchSeconds: 1 },
        alerts: { evaluateMs: 600_000, clearAfterS: 300 },
      },
      { now: () => clock },
    );
    dev = new SimDevice({ url: broker.url, storeId: 'lille-01', deviceId: 'mirror-1', models: { 'face-mesh': '1.0.0' }, decide: () => (failNext ? 'fail-smoke-test' : 'ok') });
    await dev.start();
    await until(async () => (await svc.store.devices.getDevice('lille-01', 'mirror-1'))?.state === 'online');
  });
  afterAll(async () => {
    await dev?.client?.endAsync(true).catch(() => undefined);
    await svc?.stop();
    await broker?.stop();
  });

  const push = async (version: string) => {
    const bytes = randomBytes(20_000);
    const meta = signArtifact(bytes, { id: `face-mesh-${version.replaceAll('.', '-')}`, kind: 'model', name: 'face-mesh', version, keyId: 'release' }, key.privateKeyPem);
    expect((await uploadArtifact(svc, bytes, meta)).status).toBe(201);
    const res = await svc.api('POST', '/api/rollouts', { artifactId: meta.id, selector: { devices: ['lille-01/mirror-1'] }, options: { canaryPercent: 100 } });
    expect(res.status).toBe(201);
    return res.body.rollout.id as string;
  };
  const jobEnded = (rollout: string, outcome: string) =>
    until(async () => (await svc.store.rollouts.deviceJobs('lille-01', 'mirror-1')).some((j) => j.rolloutId === rollout && j.outcome === outcome));
  const mine = (a: AlertRow) => a.kind === 'update-failed' && a.deviceId === 'mirror-1';

  it('a failed smoke test raises it once; a later successful update clears it after the hold-down', async () => {
    await jobEnded(await push('1.1.0'), 'failed');
    const [raised] = (await svc.alerts.evaluate()).raised.filter(mine);
    expect(raised).toMatchObject({ kind: 'update-failed', subject: 'lille-01/mirror-1', status: 'open' });
    expect(raised.summary).toMatch(/^update job \S+ failed \(smoke-test-failed\)$/);
    expect((await svc.alerts.evaluate()).raised.filter(mine)).toEqual([]);

    failNext = false;
    // The service's clock is frozen in this test: move it on, so the second job ends later than the first
    // (the rule reads each device's latest ended job by its time; equal times fell back to random job ids).
    clock += 1000;
    await jobEnded(await push('1.2.0'), 'succeeded');
    expect((await svc.alerts.evaluate()).cleared.filter(mine)).toEqual([]); // the hold-down starts
    clock += 301_000;
    expect((await svc.alerts.evaluate()).cleared.filter(mine).map((a) => a.id)).toEqual([raised.id]);
  });
});
