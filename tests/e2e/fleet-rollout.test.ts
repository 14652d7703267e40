/**
 * The real pair, end to end: real daemons (device/main.ts as child processes, on the demo clip)
 * against the real fleet service (SQLite), through the repository's own Mosquitto config and ACL
 * (TLS, one client certificate per mirror from gen-certs.sh). Everything an operator does goes
 * through the shipped tools: `make-bundle` builds the bundle, the `fleet` CLI generates the key,
 * signs, uploads and pushes, and the rollout is followed over the HTTP API.
 *
 *  1. a good face-mesh bundle rolls out in two waves (canary, then the rest) and completes: every
 *     daemon serves the new version with frames flowing, the fleet lists it with telemetry, and
 *     the audit log records the upload and the push;
 *  2. a bundle that fails the device's smoke test (the detector graph packaged as face-mesh)
 *     pauses the rollout after its canary, with the device's reason; every daemon keeps serving
 *     the committed version.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../fleet/cli/cli.ts';
import { buildBundle } from '../../models/bundle.ts';
import { resolveModel } from '../../models/registry.ts';
import { startFleet, until, type TestService } from '../fleet/support.ts';
import { startTlsBroker, tlsBrokerAvailable, type TlsBroker } from '../fleet/tls-broker.ts';
import { repoRoot, runDaemonProcess, startDaemon, type RunningDaemon } from '../helpers/daemon.ts';

const run = promisify(execFile);
const HAVE = tlsBrokerAvailable();
if (!HAVE) console.warn('[tests] mosquitto not found: skipping the real daemon + real fleet end-to-end suite');

const STORE = 'e2e-store';
const DEVICES = ['mirror-e2e-1', 'mirror-e2e-2'];
const KEY_ID = 'release-e2e';
const GOOD_VERSION = '3.2.0-e2e';
const BAD_VERSION = '3.3.0-e2e-broken';

interface Health {
  models: Record<string, string>;
  processedFrames: number;
  mqtt: { connected: boolean } | null;
  update: { jobId: string; state: string; reason?: string } | null;
}

async function health(d: RunningDaemon): Promise<Health> {
  return (await (await fetch(`${d.url}/healthz`)).json()) as Health;
}

/** The mesh version in /healthz is `version`, and frames keep flowing. */
async function expectServing(d: RunningDaemon, version: string): Promise<void> {
  const a = await health(d);
  expect(a.models['face-mesh']).toBe(version);
  const b = await until(async () => {
    const h = await health(d);
    return h.processedFrames > a.processedFrames + 5 && h;
  }, 100);
  expect(b.models['face-mesh']).toBe(version);
}

/** The `fleet` CLI in this process, as an operator runs it (FLEET_URL, FLEET_TOKEN). */
async function fleet(svc: TestService, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    out: (s) => (out += `${s}\n`),
    err: (s) => (err += `${s}\n`),
    env: { FLEET_URL: svc.url, FLEET_TOKEN: svc.token },
  });
  if (code !== 0) throw new Error(`fleet ${args.join(' ')} exited ${code}: ${err}${out}`);
  return { code, out, err };
}

// Generous bounds: quiet, the good rollout completes in ~27 s, but two daemons updating while the
// whole suite runs beside them (or other work on a 2-core machine) took over 120 s in a fresh clone.
describe.skipIf(!HAVE)('real daemons against the real fleet service (TLS + ACL broker)', { timeout: 300_000 }, () => {
  let broker: TlsBroker;
  let svc: TestService;
  const daemons: RunningDaemon[] = [];
  const work = mkdtempSync(path.join(os.tmpdir(), 'fleet-e2e-'));
  let bundledVersion = '';
  let goodRollout = '';

  beforeAll(async () => {
    broker = await startTlsBroker(DEVICES.map((d) => `${STORE}/${d}`));
    // The operator's release key: generated with the CLI, trusted by the service and pinned on the mirrors.
    const keys = JSON.parse(
      (await runCliJson(['keys', 'generate', '--out', path.join(work, 'keys'), '--key-id', KEY_ID, '--json'])).out,
    ) as { publicKeyRaw: string };
    svc = await startFleet('sqlite', {
      mqtt: { url: broker.url, clientId: 'fleet-service', ...broker.files('fleet-service') },
      trustedKeys: { [KEY_ID]: keys.publicKeyRaw },
      rollouts: { tickMs: 200, watchSeconds: 2, stuckTimeoutS: 240, failureThreshold: 0.05, minDevicesDone: 1, waveGrowth: 2 },
    });
    const started = await Promise.all(
      DEVICES.map((deviceId) => {
        const files = broker.files(`${STORE}/${deviceId}`);
        const config = path.join(work, `${deviceId}.json`);
        writeFileSync(
          config,
          JSON.stringify({
            source: `clip:${path.join(repoRoot, 'device/assets/demo-clip')}`,
            stateDir: path.join(work, `state-${deviceId}`),
            mqtt: {
              url: broker.url,
              storeId: STORE,
              deviceId,
              metricsIntervalMs: 500,
              tls: { ca: files.caFile, cert: files.certFile, key: files.keyFile },
            },
            updates: { publicKeys: { [KEY_ID]: keys.publicKeyRaw }, chunkTimeoutMs: 3000, minFpsRatio: 0.2 },
          }),
        );
        return startDaemon({ args: ['--config', config], env: { MIRROR_STATE_DIR: path.join(work, `state-${deviceId}`) }, timeoutMs: 90_000 });
      }),
    );
    daemons.push(...started);
    // Both mirrors are online in the fleet, over TLS with their own certificates.
    await until(async () => {
      const r = await svc.api('GET', `/api/devices?store=${STORE}`);
      return r.body.devices.filter((d: { state: string }) => d.state === 'online').length === DEVICES.length;
    }, 200);
    // Online in the fleet comes before the vision models are loaded and chosen (a loaded machine
    // once read /healthz in between): wait for the serving version.
    bundledVersion = await until(async () => (await health(daemons[0])).models['face-mesh'], 200);
    expect(bundledVersion).toBeTruthy();
  }, 240_000);

  async function runCliJson(args: string[]): Promise<{ out: string }> {
    let out = '';
    let err = '';
    const code = await runCli(args, { out: (s) => (out += s), err: (s) => (err += s), env: {} });
    if (code !== 0) throw new Error(`fleet ${args.join(' ')}: ${err}`);
    return { out };
  }

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
    await svc?.stop();
    await broker?.stop();
  });

  /** Waits until the rollout's status is one of `statuses`; returns its summary. */
  async function waitRollout(id: string, statuses: string[]): Promise<any> {
    return until(async () => {
      const r = await svc.api('GET', `/api/rollouts/${id}`);
      return statuses.includes(r.body.rollout.status) && r.body;
    }, 200);
  }

  it('a signed face-mesh bundle, pushed with the CLI, rolls out in waves and completes on every mirror', async () => {
    const t0 = performance.now();
    const file = path.join(work, 'face-mesh-good.bundle');
    await run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device/tools/make-bundle.ts'), '--model', 'face-mesh', '--version', GOOD_VERSION, '--out', file], { cwd: repoRoot });
    await fleet(svc, ['sign', file, '--key', path.join(work, 'keys', `${KEY_ID}.key.pem`), '--key-id', KEY_ID, '--name', 'face-mesh', '--version', GOOD_VERSION]);
    const push = await fleet(svc, ['push', file, '--to', `store=${STORE}`, '--canary', '50%', '--json']);
    const rollout = JSON.parse(push.out).rollout as { id: string; waves: number; targets: number };
    goodRollout = rollout.id;
    expect(rollout).toMatchObject({ targets: 2, waves: 2 });

    const done = await waitRollout(rollout.id, ['completed', 'paused', 'aborted']);
    expect(done.rollout.status).toBe('completed');
    expect(done.totals).toEqual({ succeeded: 2 });
    expect(done.waves.map((w: { size: number }) => w.size)).toEqual([1, 1]);
    console.log(`[e2e] rollout of ${GOOD_VERSION} to ${DEVICES.length} real daemons completed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // Every mirror serves the new version, frames still flowing, the job committed.
    for (const d of daemons) {
      await expectServing(d, GOOD_VERSION);
      expect((await health(d)).update).toMatchObject({ state: 'committed' });
    }
    // The fleet lists the devices with the new version and their telemetry.
    const devices = (await svc.api('GET', `/api/devices?store=${STORE}`)).body.devices as Array<{ deviceId: string; state: string; models: Record<string, string>; fps: number | null }>;
    expect(devices.map((d) => d.deviceId).sort()).toEqual(DEVICES);
    for (const d of devices) {
      expect(d).toMatchObject({ state: 'online', models: { 'face-mesh': GOOD_VERSION } });
      expect(d.fps).toBeGreaterThan(0);
      const tel = (await svc.api('GET', `/api/devices/${STORE}/${d.deviceId}/telemetry`)).body.telemetry as Array<{ models: Record<string, string>; processedFrames: number }>;
      expect(tel.length).toBeGreaterThan(0);
      expect(tel.some((m) => m.models['face-mesh'] === GOOD_VERSION)).toBe(true);
      const jobs = (await svc.api('GET', `/api/devices/${STORE}/${d.deviceId}`)).body.jobs as Array<{ rolloutId: string; outcome: string; state: string; servingVersion: string }>;
      expect(jobs.find((j) => j.rolloutId === rollout.id)).toMatchObject({ outcome: 'succeeded', state: 'committed', servingVersion: GOOD_VERSION });
    }
    // The audit log records who uploaded and pushed what.
    const audit = (await svc.api('GET', '/api/audit?limit=100')).body.audit as Array<{ actor: string; action: string; target: string; detail: any }>;
    expect(audit.find((a) => a.action === 'artifact.upload')).toMatchObject({ actor: 'admin', target: `face-mesh-${GOOD_VERSION}`.replace(/[^A-Za-z0-9_-]/g, '-') });
    expect(audit.find((a) => a.action === 'rollout.push')).toMatchObject({ actor: 'admin', target: rollout.id });
    expect(audit.find((a) => a.action === 'rollout.complete')).toMatchObject({ target: rollout.id });
    // No message from a real daemon was refused by the service's validation.
    expect(svc.ingest.stats().invalidBy).toEqual({});
  });

  it('a bundle that fails the smoke test pauses the rollout after its canary, with the device\'s reason; every mirror keeps serving', async () => {
    expect(goodRollout).not.toBe('');
    const detector = await resolveModel('face-detector');
    const mesh = await resolveModel('face-mesh');
    const file = path.join(work, 'face-mesh-broken.bundle');
    // The detector's graph and weights under the mesh's name and contract: signed, intact, wrong input shape.
    writeFileSync(file, buildBundle({ ...mesh.manifest, version: BAD_VERSION, files: detector.manifest.files }, detector.files));
    await fleet(svc, ['sign', file, '--key', path.join(work, 'keys', `${KEY_ID}.key.pem`), '--key-id', KEY_ID, '--name', 'face-mesh', '--version', BAD_VERSION]);
    const push = await fleet(svc, ['push', file, '--to', `store=${STORE}`, '--canary', '50%', '--json']);
    const rollout = JSON.parse(push.out).rollout as { id: string };

    const paused = await waitRollout(rollout.id, ['paused', 'completed', 'aborted']);
    expect(paused.rollout.status).toBe('paused');
    expect(paused.rollout.statusReason).toMatch(/wave 0: 1 of 1 devices failed/);
    expect(paused.totals).toMatchObject({ failed: 1, pending: 1 });
    const jobs = (
      await Promise.all(DEVICES.map(async (id) => (await svc.api('GET', `/api/devices/${STORE}/${id}`)).body.jobs as Array<{ rolloutId: string; deviceId: string; outcome: string; state: string; reason: string; servingVersion: string }>))
    )
      .flat()
      .filter((j) => j.rolloutId === rollout.id && j.outcome === 'failed');
    expect(jobs).toHaveLength(1);
    const failedJob = jobs[0];
    expect(failedJob).toMatchObject({ state: 'failed', reason: 'smoke-test-failed', servingVersion: GOOD_VERSION });
    const audit = (await svc.api('GET', '/api/audit?limit=100')).body.audit as Array<{ action: string; target: string }>;
    expect(audit.find((a) => a.action === 'rollout.auto-pause')).toMatchObject({ target: rollout.id });

    // Pushed again to the mirror that failed it: the fleet knows the device never tries it again.
    const again = await fleet(svc, ['push', file, '--to', `device=${STORE}/${failedJob.deviceId}`, '--json']);
    const skipped = await waitRollout(JSON.parse(again.out).rollout.id, ['completed', 'paused', 'aborted']);
    expect(skipped.totals).toEqual({ skipped: 1 });

    for (const d of daemons) await expectServing(d, GOOD_VERSION);
    const devices = (await svc.api('GET', `/api/devices?store=${STORE}`)).body.devices as Array<{ models: Record<string, string> }>;
    expect(devices.map((d) => d.models['face-mesh'])).toEqual([GOOD_VERSION, GOOD_VERSION]);
    expect(bundledVersion).not.toBe(GOOD_VERSION);
  });
});

describe('device MQTT TLS config', () => {
  it('an unreadable mqtt.tls file stops start-up with exit 78 and a message naming the key', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-tls-config-'));
    const config = path.join(dir, 'mirror.json');
    writeFileSync(config, JSON.stringify({ mqtt: { url: 'mqtts://127.0.0.1:1', tls: { ca: path.join(dir, 'missing-ca.crt') } } }));
    const child = runDaemonProcess({ args: ['--config', config] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(78);
    expect(out).toContain('config key \\"mqtt.tls.ca\\": cannot read');
  });
});
