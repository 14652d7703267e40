/**
 * A face-detector update through the fleet, end to end: a real daemon (device/main.ts, demo clip)
 * against the real fleet service (SQLite) through the repository's Mosquitto config and ACL (TLS,
 * a client certificate per mirror). The operator's tools build and ship it: `make-bundle --model
 * face-detector` and the `fleet` CLI (keys, sign, push).
 *
 *  1. a signed detector bundle rolls out and commits: the daemon runs its detector smoke test on
 *     the golden frames, swaps it into the live stage, frames keep flowing and /healthz and the
 *     fleet list the new detector version;
 *  2. a detector bundle whose manifest has a bad input size (300 px: not a multiple of the anchor
 *     strides) and one whose manifest lacks an output the decoder reads are refused by the device's
 *     smoke test, with the manifest field named in the device's report; the committed detector keeps serving.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../fleet/cli/cli.ts';
import { buildBundle } from '../../models/bundle.ts';
import { resolveModel, type ModelManifest } from '../../models/registry.ts';
import { startFleet, until, type TestService } from '../fleet/support.ts';
import { startTlsBroker, tlsBrokerAvailable, type TlsBroker } from '../fleet/tls-broker.ts';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.ts';

const run = promisify(execFile);
const HAVE = tlsBrokerAvailable();
if (!HAVE) console.warn('[tests] mosquitto not found: skipping the detector update end-to-end test');

const STORE = 'det-store';
const DEVICE = 'mirror-det-1';
const KEY_ID = 'release-det';
const GOOD = '4.0.0-detector-e2e';

interface Health {
  models: Record<string, string>;
  backends: Record<string, string>;
  backendChoices: Record<string, { backend: string; variant: string; timings?: Record<string, number>; rejected?: Record<string, string> }>;
  processedFrames: number;
  update: { jobId: string; state: string; reason?: string } | null;
}

describe.skipIf(!HAVE)('a face-detector update through the real fleet on a real daemon', { timeout: 240_000 }, () => {
  let broker: TlsBroker;
  let svc: TestService;
  let daemon: RunningDaemon;
  const work = mkdtempSync(path.join(os.tmpdir(), 'det-e2e-'));
  const health = async (): Promise<Health> => (await (await fetch(`${daemon.url}/healthz`)).json()) as Health;

  async function cli(args: string[], env: Record<string, string> = { FLEET_URL: svc.url, FLEET_TOKEN: svc.token }): Promise<string> {
    let out = '';
    let err = '';
    const code = await runCli(args, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), env });
    if (code !== 0) throw new Error(`fleet ${args.join(' ')} exited ${code}: ${err}${out}`);
    return out;
  }

  /** Signs and pushes `file` as a face-detector artifact; the finished rollout's summary. */
  async function ship(file: string, version: string): Promise<any> {
    await cli(['sign', file, '--key', path.join(work, 'keys', `${KEY_ID}.key.pem`), '--key-id', KEY_ID, '--name', 'face-detector', '--version', version]);
    const rollout = JSON.parse(await cli(['push', file, '--to', `device=${STORE}/${DEVICE}`, '--json'])).rollout as { id: string };
    return until(async () => {
      const r = await svc.api('GET', `/api/rollouts/${rollout.id}`);
      return ['completed', 'paused', 'aborted'].includes(r.body.rollout.status) && r.body;
    }, 200);
  }

  /** The detector serves `version` and frames keep flowing. */
  async function expectServing(version: string): Promise<void> {
    const a = await health();
    expect(a.models['face-detector']).toBe(version);
    const b = await until(async () => {
      const h = await health();
      return h.processedFrames > a.processedFrames + 5 && h;
    }, 100);
    expect(b.models['face-detector']).toBe(version);
  }

  /** A bundle of the shipped detector with its manifest edited (signed and intact: only the device can judge it). */
  async function brokenBundle(version: string, edit: (m: ModelManifest) => void): Promise<string> {
    const detector = await resolveModel('face-detector');
    const manifest = structuredClone({ ...detector.manifest, version });
    edit(manifest);
    const file = path.join(work, `face-detector-${version}.bundle`);
    writeFileSync(file, buildBundle(manifest, detector.files));
    return file;
  }

  beforeAll(async () => {
    broker = await startTlsBroker([`${STORE}/${DEVICE}`]);
    const keys = JSON.parse(await cli(['keys', 'generate', '--out', path.join(work, 'keys'), '--key-id', KEY_ID, '--json'], {})) as { publicKeyRaw: string };
    svc = await startFleet('sqlite', {
      mqtt: { url: broker.url, clientId: 'fleet-service', ...broker.files('fleet-service') },
      trustedKeys: { [KEY_ID]: keys.publicKeyRaw },
      rollouts: { tickMs: 200, watchSeconds: 2, stuckTimeoutS: 150, failureThreshold: 0.05, minDevicesDone: 1, waveGrowth: 2 },
    });
    const files = broker.files(`${STORE}/${DEVICE}`);
    const config = path.join(work, 'mirror.json');
    writeFileSync(
      config,
      JSON.stringify({
        source: `clip:${path.join(repoRoot, 'device/assets/demo-clip')}`,
        stateDir: path.join(work, 'state'),
        mqtt: { url: broker.url, storeId: STORE, deviceId: DEVICE, metricsIntervalMs: 500, tls: { ca: files.caFile, cert: files.certFile, key: files.keyFile } },
        // The smoke test's latency budget is the daemon's default (500 ms per golden frame).
        updates: { publicKeys: { [KEY_ID]: keys.publicKeyRaw }, chunkTimeoutMs: 3000, minFpsRatio: 0.2 },
      }),
    );
    daemon = await startDaemon({ args: ['--config', config], env: { MIRROR_STATE_DIR: path.join(work, 'state') }, timeoutMs: 120_000 });
    await until(async () => {
      const r = await svc.api('GET', `/api/devices?store=${STORE}`);
      return r.body.devices.some((d: { state: string }) => d.state === 'online');
    }, 200);
  }, 180_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await svc?.stop();
    await broker?.stop();
  });

  it('a signed detector bundle made with make-bundle commits on the mirror and serves frames', async () => {
    const before = await health();
    const bundled = before.models['face-detector'];
    expect(bundled).toMatch(/^blazeface-back-256[^+]*(\+onnx13(\+fp16|\+int8)?)?$/);
    // The autotune's choice per model (backend and precision variant, timings, variants left out) is in /healthz.
    for (const name of ['face-detector', 'face-mesh']) {
      const c = before.backendChoices[name];
      expect(c.variant).toMatch(/^(fp32|fp16|int8)$/);
      expect(c.timings?.['onnx-cpu']).toBeGreaterThan(0);
      expect(Object.keys(c.timings ?? {}).length + Object.keys(c.rejected ?? {}).length).toBeGreaterThanOrEqual(4);
    }
    console.log(`[e2e] /healthz backendChoices: ${JSON.stringify(before.backendChoices)}`);
    const file = path.join(work, 'face-detector-good.bundle');
    await run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device/tools/make-bundle.ts'), '--model', 'face-detector', '--version', GOOD, '--out', file], { cwd: repoRoot });
    const from = daemon.logs.length;
    const done = await ship(file, GOOD);
    expect(done.rollout.status).toBe('completed');
    expect(done.totals).toEqual({ succeeded: 1 });
    await expectServing(GOOD);
    expect((await health()).update).toMatchObject({ state: 'committed' });
    // The stage's detector is the update's (a TF.js graph bundle: it runs on the TF.js runtime).
    expect((await health()).backends.detector).toMatch(/^tfjs-/);
    // Transitions out of 'announced' (the state an accepted offer starts in).
    const states = daemon.logs.slice(from).filter((l) => l.msg === 'update: transition').map((l) => l.to);
    expect(states).toEqual(['downloading', 'verifying', 'staged', 'smoke-testing', 'active', 'watching', 'committed']);
    const device = (await svc.api('GET', `/api/devices?store=${STORE}`)).body.devices[0] as { models: Record<string, string> };
    expect(device.models['face-detector']).toBe(GOOD);
  });

  it('a detector whose manifest has a bad input size, or lacks an output, is refused naming the field; the committed one keeps serving', async () => {
    const cases = [
      { version: '4.1.0-bad-input', edit: (m: ModelManifest) => (m.input.shape = [1, 300, 300, 3]), field: 'manifest field "input.shape": input size 300 is not a multiple of the anchor stride 16' },
      { version: '4.2.0-no-output', edit: (m: ModelManifest) => delete m.outputs.Identity_3, field: 'manifest field "decode.layers.1.boxes": names output "Identity_3"' },
    ];
    for (const c of cases) {
      const from = daemon.logs.length;
      const done = await ship(await brokenBundle(c.version, c.edit), c.version);
      expect(done.totals).toEqual({ failed: 1 });
      const jobs = (await svc.api('GET', `/api/devices/${STORE}/${DEVICE}`)).body.jobs as Array<{ rolloutId: string; reason: string; servingVersion: string }>;
      expect(jobs.find((j) => j.rolloutId === done.rollout.id)).toMatchObject({ reason: 'smoke-test-failed', servingVersion: GOOD });
      const ended = daemon.logs.slice(from).find((l) => l.msg === 'update: job ended without the new model');
      expect(ended).toMatchObject({ state: 'failed', reason: 'smoke-test-failed' });
      expect(String(ended!.detail)).toContain(c.field);
      await expectServing(GOOD);
    }
  });
});
