/**
 * The Fleet bar's rules on a handful of devices: "committed" alone is not success, stuck jobs time
 * out on the server, a device that comes online later gets its offer on birth, HTTP transfer works,
 * and artifacts that are unsigned or wrongly signed are refused before anything is offered.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signArtifact } from '../../fleet/cli/signing.ts';
import { SimDevice } from '../../fleet/sim/device-sim.ts';
import { freePort, startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { startFleet, until, uploadArtifact, type TestService } from './support.ts';

describe('rollout rules', () => {
  let broker: TestBroker;
  let svc: TestService;
  const key = generateSigningKey();
  const devs: SimDevice[] = [];
  const sim = (deviceId: string, extra: Partial<ConstructorParameters<typeof SimDevice>[0]> = {}) => {
    const d = new SimDevice({ url: broker.url, storeId: 'lyon-02', deviceId, models: { 'face-mesh': '1.0.0' }, ...extra });
    devs.push(d);
    return d;
  };
  let seq = 0;
  const artifact = async (version: string) => {
    const bytes = randomBytes(40_000);
    const meta = signArtifact(bytes, { id: `face-mesh-${version.replaceAll('.', '-')}-${seq++}`, kind: 'model', name: 'face-mesh', version, keyId: 'release' }, key.privateKeyPem);
    expect((await uploadArtifact(svc, bytes, meta)).status).toBe(201);
    return meta;
  };
  const summary = async (id: string) => (await svc.api('GET', `/api/rollouts/${id}?jobs=1`)).body;

  beforeAll(async () => {
    broker = await startMosquitto();
    const port = await freePort();
    svc = await startFleet('sqlite', {
      port,
      publicUrl: `http://127.0.0.1:${port}`,
      mqtt: { url: broker.url },
      trustedKeys: { release: key.publicKeyRaw },
      // The stuck timeout leaves the good device time to finish on a loaded machine (1.5 s once did not, at load 20).
      rollouts: { tickMs: 50, stuckTimeoutS: 5, failureThreshold: 1, minDevicesDone: 1, waveGrowth: 2, watchSeconds: 1 },
    });
  });
  afterAll(async () => {
    await Promise.all(devs.map((d) => d.client?.endAsync(true).catch(() => undefined)));
    await svc?.stop();
    await broker?.stop();
  });

  it('a device that says committed but never shows the new version serving does not count as done', async () => {
    const liar = sim('liar', { reportAfterCommit: false });
    const staller = sim('staller', { decide: () => 'stall' });
    const good = sim('good');
    await Promise.all([liar.start(), staller.start(), good.start()]);
    await until(async () => (await svc.store.devices.listDevices({ storeId: 'lyon-02' })).filter((d) => d.state === 'online').length === 3);
    const meta = await artifact('2.0.0');
    const res = await svc.api('POST', '/api/rollouts', { artifactId: meta.id, selector: { devices: ['lyon-02/liar', 'lyon-02/staller', 'lyon-02/good'] }, options: { canaryPercent: 100 } });
    expect(res.status).toBe(201);
    const id = res.body.rollout.id;
    const s = await until(async () => {
      const r = await summary(id);
      return r.rollout.status === 'completed' ? r : undefined;
    });
    const by = Object.fromEntries(s.jobs.map((j: any) => [j.deviceId, j]));
    expect(by.good).toMatchObject({ outcome: 'succeeded', servingVersion: '2.0.0' });
    expect(by.liar).toMatchObject({ outcome: 'timed-out', state: 'committed', reason: 'not-serving-new-version' });
    expect(by.staller).toMatchObject({ outcome: 'timed-out', reason: 'no-progress' });
    // The stalled device was told to abort.
    await until(() => staller.jobs.get(by.staller.jobId) === 'failed' || undefined);
  });

  it('a device offline when its wave opens is offered the job on its next birth (over HTTP transfer)', async () => {
    const late = sim('late');
    await late.start();
    await until(async () => (await svc.store.devices.getDevice('lyon-02', 'late'))?.state === 'online');
    await late.stop();
    await until(async () => (await svc.store.devices.getDevice('lyon-02', 'late'))?.state === 'offline');
    const meta = await artifact('3.0.0');
    const res = await svc.api('POST', '/api/rollouts', {
      artifactId: meta.id,
      selector: { devices: ['lyon-02/late'] },
      options: { canaryPercent: 100, transfer: 'http', stuckTimeoutS: 600 },
    });
    const id = res.body.rollout.id;
    expect((await summary(id)).jobs[0].outcome).toBe('queued');
    const back = new SimDevice({ url: broker.url, storeId: 'lyon-02', deviceId: 'late', models: { 'face-mesh': '1.0.0' }, connectionSeq: 2 });
    devs.push(back);
    await back.start();
    const s = await until(async () => {
      const r = await summary(id);
      return r.rollout.status === 'completed' ? r : undefined;
    });
    expect(s.jobs[0]).toMatchObject({ outcome: 'succeeded', servingVersion: '3.0.0' });
    expect(back.offers[0].transfer.type).toBe('http');
    // The download URL is the device's only credential: a forged signature or another job's is refused.
    const url = new URL((back.offers[0].transfer as { url: string }).url);
    const [, , jobId, sig] = url.pathname.split('/');
    const forged = `${sig.slice(0, -1)}${sig.endsWith('a') ? 'b' : 'a'}`;
    for (const path of [`/dl/${jobId}/${forged}`, `/dl/other-job/${sig}`]) {
      const r = await fetch(`${svc.url}${path}`);
      expect(r.status, path).toBe(403);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('FLEET_ERR_FORBIDDEN');
    }
    // The genuine link passes the signature and finds the job closed.
    expect((await fetch(`${svc.url}/dl/${jobId}/${sig}`)).status).toBe(404);
  });

  it('unsigned, wrongly signed or tampered artifacts are refused and never stored', async () => {
    const bytes = randomBytes(5000);
    const good = signArtifact(bytes, { id: 'cat-1', kind: 'catalog', name: 'catalog', version: '1', keyId: 'release' }, key.privateKeyPem);
    const { signature: _s, keyId: _k, ...unsigned } = good;
    const other = generateSigningKey();
    const forged = signArtifact(bytes, { id: 'cat-1', kind: 'catalog', name: 'catalog', version: '1', keyId: 'release' }, other.privateKeyPem);
    const unknownKey = signArtifact(bytes, { id: 'cat-1', kind: 'catalog', name: 'catalog', version: '1', keyId: 'someone' }, other.privateKeyPem);
    const tampered = Buffer.from(bytes);
    tampered[0] ^= 1;
    const cases: Array<[string, Buffer, unknown]> = [
      ['unsigned', bytes, unsigned],
      ['bad-signature', bytes, forged],
      ['unknown-key', bytes, unknownKey],
      ['sha256-mismatch', tampered, good],
      ['bad-signature', bytes, { ...good, version: '2' }],
    ];
    for (const [reason, b, meta] of cases) {
      const r = await uploadArtifact(svc, b, meta);
      expect(r.status, reason).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'FLEET_ERR_ARTIFACT_REJECTED', reason });
    }
    expect((await svc.api('GET', '/api/artifacts/cat-1')).status).toBe(404);
    const push = await svc.api('POST', '/api/rollouts', { artifactId: 'cat-1', selector: {} });
    expect(push.status).toBe(404);
    const refused = (await svc.api('GET', '/api/audit?action=artifact.refused')).body.audit;
    expect(refused).toHaveLength(cases.length);
    expect((await uploadArtifact(svc, bytes, good)).status).toBe(201);
  });
});
