/**
 * A colour profile pushed through the fleet like a catalog, end to end on real parts: a real
 * Mosquitto, the real fleet service, the operator CLIs (`calibrate color` writes the profile,
 * `fleet sign --kind colour-profile` signs it, `fleet push` rolls it out) and the real daemon,
 * whose camera is a clip of one chart photo under warm 3000 K light. Committed, the profile is
 * applied live: the chart in the frames the kiosk receives turns true (ΔE2000 to the reference
 * drops from > 10 to the fit's own figure), and /healthz, the models map and the metrics message
 * show its id and date. A tampered profile, one signed by a stranger, one failing its schema and a
 * signed but insane matrix are all refused with the profile that serves left alone.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ColourProfile } from '../../calibration/colour/profile.ts';
import { sampleChart } from '../../calibration/colour/sample.ts';
import { deltaEToReference } from '../../calibration/colour/solve.ts';
import { decodeSrgb } from '../../calibration/colour/model.ts';
import { fitHomography } from '../../calibration/homography.ts';
import { decodeImage, type RgbImage } from '../../calibration/image.ts';
import { runCli } from '../../fleet/cli/cli.ts';
import { generateSigningKey, signArtifact } from '../../fleet/cli/signing.ts';
import { parseMessage } from '../../fleet/protocol/schemas.ts';
import { channelFilter, updateTopic } from '../../fleet/protocol/topics.ts';
import type { UpdateOffer, UpdateState } from '../../fleet/protocol/update.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { collectFrames } from '../helpers/frames.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { renderChartPhoto, type Distortion } from '../calibration/chart-render.ts';
import { startFleet, until, uploadArtifact, type TestService } from '../fleet/support.ts';
import { subscribe, uniqueId, type Subscriber } from '../telemetry/support.ts';

const STORE = 'store-colour-test';
const CORNERS: Distortion['corners'] = [
  [150, 110],
  [500, 130],
  [490, 370],
  [160, 350],
];
const chartToImage = fitHomography(
  [
    [-0.3, -0.3],
    [6.3, -0.3],
    [6.3, 4.3],
    [-0.3, 4.3],
  ],
  CORNERS,
)!;

function meanDeltaE(image: RgbImage): number {
  const samples = sampleChart(image, chartToImage);
  return samples.reduce((s, p, i) => s + deltaEToReference(decodeSrgb(p.rgb), i), 0) / samples.length;
}

function calibrate(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', 'calibration/cli.ts', ...args], { timeout: 120_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

interface Health {
  models: Record<string, string>;
  calibration: { colour: { applied: boolean; version?: string; source?: string; artifactId?: string; createdAt?: string; cameraId?: string } };
  update: { jobId: string; state: string; reason?: string } | null;
}

describe('colour profile pushed through the fleet to the real daemon', { timeout: 300_000 }, () => {
  let broker: TestBroker;
  let svc: TestService;
  let daemon: RunningDaemon;
  let states: Subscriber;
  let metrics: Subscriber;
  let client: MqttClient;
  const key = generateSigningKey();
  const addr = { storeId: STORE, deviceId: uniqueId('mirror-colour') };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-colour-update-'));
  const keyFile = path.join(dir, 'release.key.pem');
  const chart = path.join(dir, 'clip', 'chart.png');
  let fitMean = 0;
  let profile: ColourProfile;

  const health = async (): Promise<Health> => (await (await fetch(`${daemon.url}/healthz`)).json()) as Health;
  const emittedDeltaE = async (): Promise<number> => {
    const [frame] = await collectFrames(daemon.url, 1, { timeoutMs: 60_000 });
    return meanDeltaE(await decodeImage(Buffer.from(frame.image), 'emitted frame'));
  };
  const stateOf = (artifactId: string, state?: string): Promise<UpdateState> =>
    until(() =>
      states.messages
        .map((m) => m.json as UpdateState)
        .find((s) => s.artifactId === artifactId && (state ? s.state === state : ['committed', 'failed', 'rejected', 'rolled-back'].includes(s.state))),
    );
  const io = (out: string[]) => ({ out: (s: string) => out.push(s), err: (s: string) => out.push(s), env: { FLEET_URL: svc.url, FLEET_TOKEN: svc.token } });

  let configFile = '';
  const boot = async (): Promise<void> => {
    daemon = await startDaemon({ args: ['--config', configFile], env: { MIRROR_STATE_DIR: path.join(dir, 'state') } });
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    svc = await startFleet('sqlite', { mqtt: { url: broker.url }, trustedKeys: { release: key.publicKeyPem }, rollouts: { tickMs: 50, minDevicesDone: 1, watchSeconds: 1 } });
    await writeFile(keyFile, key.privateKeyPem);
    const photo = await renderChartPhoto({ corners: CORNERS, size: { width: 640, height: 480 }, cast: { scene: 3000, camera: 5000 }, exposure: 0.65, noise: 2 }, 'node_modules/@vladmandic/face-api/demo/sample2.jpg');
    await mkdir(path.dirname(chart), { recursive: true });
    await writeFile(chart, photo.bytes);
    states = await subscribe(broker.url, updateTopic(addr, 'state'));
    metrics = await subscribe(broker.url, channelFilter('telemetry', addr));
    client = await mqtt.connectAsync(broker.url, { clientId: uniqueId('attacker') });
    configFile = path.join(dir, 'mirror.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        stateDir: path.join(dir, 'state'),
        source: `clip:${path.dirname(chart)}`,
        mqtt: { url: broker.url, storeId: STORE, deviceId: addr.deviceId, metricsIntervalMs: 500 },
        updates: { publicKeys: { release: key.publicKeyRaw }, chunkTimeoutMs: 2000, minFpsRatio: 0.2 },
      }),
    );
    await boot();
    // The fleet knows the device once its birth message is in.
    await until(async () => (await svc.api('GET', `/api/devices/${addr.storeId}/${addr.deviceId}`)).status === 200, 200);
  }, 180_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await client?.endAsync();
    await states?.close();
    await metrics?.close();
    await svc?.stop();
    await broker?.stop();
  });

  it('calibrate color writes the profile; fleet sign --kind colour-profile and fleet push install it: applied live, shown in /healthz and telemetry', async () => {
    const before = await health();
    expect(before.calibration.colour.applied).toBe(false);
    expect(before.models['colour-profile']).toBeUndefined();
    const uncorrected = await emittedDeltaE();
    expect(uncorrected).toBeGreaterThan(10);

    const file = path.join(dir, 'colour-profile.json');
    const said = await calibrate(['color', '--image', chart, '--out', file, '--camera-id', 'test-warm-camera', '--json']);
    const written = JSON.parse(said) as { profile: ColourProfile };
    profile = ColourProfile.parse(JSON.parse(await readFile(file, 'utf8')));
    expect(profile.version).toBe(written.profile.version);
    fitMean = profile.fit.after.mean;

    const out: string[] = [];
    const sign = ['sign', file, '--kind', 'colour-profile', '--name', 'colour-profile', '--version', profile.version, '--key', keyFile, '--key-id', 'release'];
    expect(await runCli(sign, io(out)), out.join('\n')).toBe(0);
    const meta = JSON.parse(await readFile(path.join(dir, 'colour-profile.manifest.json'), 'utf8')) as { id: string; kind: string };
    expect(meta.kind).toBe('colour-profile');
    expect(await runCli(['push', file, '--to', `device=${addr.storeId}/${addr.deviceId}`], io(out)), out.join('\n')).toBe(0);

    const committed = await stateOf(meta.id);
    expect(committed).toMatchObject({ state: 'committed', servingVersion: profile.version });
    const h = await health();
    expect(h.calibration.colour).toMatchObject({ applied: true, source: 'fleet', artifactId: meta.id, version: profile.version, createdAt: profile.createdAt, cameraId: 'test-warm-camera' });
    expect(h.models['colour-profile']).toBe(profile.version);
    // Applied to the frames: the chart the kiosk receives is now true to the reference.
    const corrected = await emittedDeltaE();
    console.log(`chart through the daemon: mean ΔE2000 ${uncorrected.toFixed(2)} before the push → ${corrected.toFixed(2)} after (fit ${fitMean.toFixed(2)})`);
    expect(corrected).toBeLessThan(fitMean + 1.5);
    const m = await metrics.waitFor((x) => {
      const p = parseMessage(x.topic, x.payload);
      return p.ok && p.kind === 'metrics' && p.value.colourProfile?.artifactId === meta.id;
    }, 30_000, 'metrics with the colour profile');
    const parsed = parseMessage(m.topic, m.payload);
    expect(parsed.ok && parsed.kind === 'metrics' && parsed.value.colourProfile).toEqual({ version: profile.version, cameraId: 'test-warm-camera', createdAt: profile.createdAt, artifactId: meta.id });
    expect(parsed.ok && parsed.kind === 'metrics' && parsed.value.models['colour-profile']).toBe(profile.version);
  });

  it('tampered: bytes changed after signing are refused by the fleet; an offer signed by a stranger is refused by the mirror; the profile serving stays', async () => {
    const served = (await health()).calibration.colour;
    const bad = { ...profile, version: `${profile.version}-t`, matrix: [[0.2, 0, 0], [0, 5, 0], [0, 0, 1]] };
    const goodBytes = Buffer.from(JSON.stringify({ ...bad, matrix: profile.matrix }));
    const meta = signArtifact(goodBytes, { id: 'colour-forged', kind: 'colour-profile', name: 'colour-profile', version: bad.version, keyId: 'release' }, key.privateKeyPem);
    const forged = Buffer.from(JSON.stringify(bad).padEnd(goodBytes.length, ' ').slice(0, goodBytes.length));
    const up = await uploadArtifact(svc, forged, meta);
    expect(up.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(up.body)).toMatch(/sha256/);

    const stranger = generateSigningKey();
    const evil = signArtifact(forged, { id: 'colour-evil', kind: 'colour-profile', name: 'colour-profile', version: bad.version, keyId: 'release' }, stranger.privateKeyPem);
    const offer: UpdateOffer = { v: 1, jobId: 'evil-colour', rolloutId: 'evil', artifact: evil, transfer: { type: 'mqtt', chunkSize: 32 * 1024, chunks: 1 }, watchSeconds: 1, ts: Date.now() };
    await client.publishAsync(updateTopic(addr, 'offer'), Buffer.from(JSON.stringify(offer)), { qos: 1 });
    expect(await stateOf('colour-evil')).toMatchObject({ state: 'rejected', reason: 'bad-signature', servingVersion: profile.version });
    expect((await health()).calibration.colour).toEqual(served);
  });

  it('signed but unusable: a schema error fails as bad-colour-profile naming the field, a singular matrix fails its smoke test; the profile serving stays', async () => {
    const offerSigned = async (id: string, doc: unknown, version: string): Promise<UpdateState> => {
      const bytes = Buffer.from(JSON.stringify(doc));
      const meta = signArtifact(bytes, { id, kind: 'colour-profile', name: 'colour-profile', version, keyId: 'release' }, key.privateKeyPem);
      expect((await uploadArtifact(svc, bytes, meta)).status).toBe(201);
      expect((await svc.api('POST', '/api/rollouts', { artifactId: id, selector: { devices: [`${addr.storeId}/${addr.deviceId}`] } })).status).toBe(201);
      return stateOf(id);
    };
    const schemaBad = await offerSigned('colour-schema', { ...profile, version: `${profile.version}-s`, whiteBalance: [1, -1, 1] }, `${profile.version}-s`);
    expect(schemaBad).toMatchObject({ state: 'failed', reason: 'bad-colour-profile', servingVersion: profile.version });
    expect(schemaBad.detail).toMatch(/field "whiteBalance\.1"/);

    const singular = { ...profile, version: `${profile.version}-z`, matrix: [[1, 1, 1], [1, 1, 1], [0, 0, 1]] };
    const insane = await offerSigned('colour-singular', singular, singular.version);
    expect(insane).toMatchObject({ state: 'failed', reason: 'smoke-test-failed', servingVersion: profile.version });
    expect(insane.detail).toMatch(/determinant/);
    const h = await health();
    expect(h.calibration.colour).toMatchObject({ applied: true, version: profile.version });
    expect(await emittedDeltaE()).toBeLessThan(fitMean + 1.5);
  });

  it('kept across a restart: the committed profile is what the daemon boots with', async () => {
    const served = (await health()).calibration.colour;
    await daemon.stop();
    await boot();
    const h = await health();
    expect(h.calibration.colour).toEqual(served);
    expect(h.models['colour-profile']).toBe(profile.version);
    expect(await emittedDeltaE()).toBeLessThan(fitMean + 1.5);
  });
});
