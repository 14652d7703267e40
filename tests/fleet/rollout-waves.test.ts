/**
 * A rollout over 200 simulated mirrors (light MQTT clients in this process, following the update
 * protocol: pull chunks, verify, smoke test, report every state) against a real Mosquitto.
 * One device in ten fails its smoke test.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signArtifact } from '../../fleet/cli/signing.ts';
import { SimDevice } from '../../fleet/sim/device-sim.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { startFleet, until, uploadArtifact, type TestService } from './support.ts';

const STORES = 20;
const PER_STORE = 10;

describe('rollout over 200 simulated devices with 10% failing the smoke test', () => {
  let broker: TestBroker;
  let svc: TestService;
  const devices: SimDevice[] = [];
  let offers = 0;
  const key = generateSigningKey();

  beforeAll(async () => {
    broker = await startMosquitto();
    svc = await startFleet('sqlite', {
      mqtt: { url: broker.url },
      trustedKeys: { release: key.publicKeyPem },
      rollouts: { tickMs: 50, stuckTimeoutS: 600, failureThreshold: 0.05, minDevicesDone: 10, waveGrowth: 2, watchSeconds: 1 },
    });
    for (let s = 0; s < STORES; s++) {
      for (let d = 0; d < PER_STORE; d++) {
        devices.push(
          new SimDevice({
            url: broker.url,
            storeId: `store-${String(s).padStart(2, '0')}`,
            deviceId: `mirror-${d}`,
            models: { 'face-mesh': '1.0.0' },
            // Every tenth device to receive an offer fails, so each wave sees 10% failures
            // whatever order the rollout picks.
            decide: () => (offers++ % 10 === 0 ? 'fail-smoke-test' : 'ok'),
          }),
        );
      }
    }
    for (let i = 0; i < devices.length; i += 50) await Promise.all(devices.slice(i, i + 50).map((d) => d.start()));
    await until(async () => (await svc.store.devices.listDevices()).filter((d) => d.state === 'online').length === 200);
  });

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.client?.endAsync(true).catch(() => undefined)));
    await svc?.stop();
    await broker?.stop();
  });

  const settled = (w: { counts: Record<string, number> }) => !['offered', 'in-progress', 'committed'].some((o) => (w.counts[o] ?? 0) > 0);

  it('pauses itself after the first wave, having offered nothing beyond it', async () => {
    const bytes = randomBytes(100_000); // 4 chunks
    const meta = signArtifact(bytes, { id: 'face-mesh-1-1-0', kind: 'model', name: 'face-mesh', version: '1.1.0', keyId: 'release' }, key.privateKeyPem);
    expect((await uploadArtifact(svc, bytes, meta)).status).toBe(201);

    const res = await svc.api('POST', '/api/rollouts', { artifactId: meta.id, selector: {}, options: { canaryPercent: 10 } });
    expect(res.status).toBe(201);
    const id = res.body.rollout.id as string;
    expect(res.body.rollout).toMatchObject({ targets: 200, waves: 4 });

    const s = await until(async () => {
      const r = (await svc.api('GET', `/api/rollouts/${id}`)).body;
      return r.rollout.status === 'paused' && settled(r.waves[0]) ? r : undefined;
    });
    expect(s.waves.map((w: any) => w.size)).toEqual([20, 40, 80, 60]);
    expect(s.waves[0].counts).toEqual({ succeeded: 18, failed: 2 });
    for (const w of s.waves.slice(1)) expect(w.counts).toEqual({ pending: w.size });
    expect(offers).toBe(20);
    expect(s.rollout.statusReason).toMatch(/^wave 0: \d+ of \d+ devices failed/);
    const audit = (await svc.api('GET', '/api/audit?action=rollout.auto-pause')).body.audit;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'system', target: id });

    // The devices that succeeded really serve the new version.
    const serving = (await svc.store.devices.listDevices()).filter((d) => d.models['face-mesh'] === '1.1.0');
    expect(serving).toHaveLength(18);

    // Resume: the next wave (40 devices, growing) opens and pauses on its own 10%.
    expect((await svc.api('POST', `/api/rollouts/${id}/resume`)).status).toBe(200);
    const s2 = await until(async () => {
      const r = (await svc.api('GET', `/api/rollouts/${id}`)).body;
      return r.rollout.status === 'paused' && r.rollout.wave === 1 && settled(r.waves[1]) ? r : undefined;
    });
    expect(s2.waves[1].counts).toEqual({ succeeded: 36, failed: 4 });
    expect(offers).toBe(60);

    // Roll back: every device that switched is told to go back, and reports it did.
    expect((await svc.api('POST', `/api/rollouts/${id}/rollback`)).status).toBe(200);
    await until(async () => (await svc.store.devices.listDevices()).every((d) => d.models['face-mesh'] === '1.0.0'));
    const jobs = (await svc.api('GET', `/api/rollouts/${id}?jobs=1`)).body.jobs;
    await until(async () => {
      const js = (await svc.api('GET', `/api/rollouts/${id}?jobs=1`)).body.jobs;
      return js.filter((j: any) => j.state === 'rolled-back').length === 54 || undefined;
    });
    expect(jobs.filter((j: any) => j.outcome === 'pending' || j.outcome === 'queued')).toHaveLength(0);

    // The same artifact again: the 54 devices that rolled back, and the 6 whose smoke test failed
    // (a real mirror blocklists those too), are skipped, never re-offered.
    const again = await svc.api('POST', '/api/rollouts', { artifactId: meta.id, selector: {}, options: { canaryPercent: 100, failureThreshold: 1 } });
    expect(again.status).toBe(201);
    const s3 = (await svc.api('GET', `/api/rollouts/${again.body.rollout.id}?jobs=1`)).body;
    const skipped = s3.jobs.filter((j: any) => j.outcome === 'skipped');
    expect(skipped).toHaveLength(60);
    expect(new Set(skipped.map((j: any) => j.reason))).toEqual(new Set(['previously-rolled-back']));
    await svc.api('POST', `/api/rollouts/${again.body.rollout.id}/abort`);
  });
});
