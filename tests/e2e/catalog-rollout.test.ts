/**
 * A product catalog rolled out by the real fleet service to real daemons, through the repository's
 * Mosquitto config and ACL (TLS, one client certificate per mirror), with the shipped tools:
 * `make-bundle --catalog` validates the catalog and builds the artifact, the `fleet` CLI signs it
 * (`--kind catalog --name catalog`) and pushes it. The fleet counts a mirror done when it reports
 * `committed` and its telemetry shows the new version under `models.catalog`; every mirror then
 * renders the new default product.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../fleet/cli/cli.ts';
import { BUNDLED_CATALOG_FILE } from '../../device/tryon/catalog.ts';
import { startFleet, until, type TestService } from '../fleet/support.ts';
import { startTlsBroker, tlsBrokerAvailable, type TlsBroker } from '../fleet/tls-broker.ts';
import { appliedInFrames } from '../helpers/frames.ts';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.ts';

const run = promisify(execFile);
const HAVE = tlsBrokerAvailable();
if (!HAVE) console.warn('[tests] mosquitto not found: skipping the catalog rollout end-to-end suite');

const STORE = 'e2e-catalog-store';
const DEVICES = ['mirror-cat-1', 'mirror-cat-2'];
const KEY_ID = 'release-catalog';
const VERSION = '2026.4.0-e2e';
const NEW_DEFAULT = { productId: 'velour-velvet-matte', shadeId: 'berry-velvet' };

interface Health {
  models: Record<string, string>;
  catalog: { version: string; default: { productId: string; shadeId: string } | null };
}

async function health(d: RunningDaemon): Promise<Health> {
  return (await (await fetch(`${d.url}/healthz`)).json()) as Health;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<string> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), env });
  if (code !== 0) throw new Error(`fleet ${args.join(' ')} exited ${code}: ${err}${out}`);
  return out;
}

describe.skipIf(!HAVE)('catalog rollout: real daemons against the real fleet service (TLS + ACL broker)', { timeout: 90_000 }, () => {
  let broker: TlsBroker;
  let svc: TestService;
  const daemons: RunningDaemon[] = [];
  const work = mkdtempSync(path.join(os.tmpdir(), 'catalog-e2e-'));

  beforeAll(async () => {
    broker = await startTlsBroker(DEVICES.map((d) => `${STORE}/${d}`));
    const keys = JSON.parse(await cli(['keys', 'generate', '--out', path.join(work, 'keys'), '--key-id', KEY_ID, '--json'])) as { publicKeyRaw: string };
    svc = await startFleet('sqlite', {
      mqtt: { url: broker.url, clientId: 'fleet-service', ...broker.files('fleet-service') },
      trustedKeys: { [KEY_ID]: keys.publicKeyRaw },
      rollouts: { tickMs: 200, watchSeconds: 2, stuckTimeoutS: 60, failureThreshold: 0.05, minDevicesDone: 1, waveGrowth: 2 },
    });
    daemons.push(
      ...(await Promise.all(
        DEVICES.map((deviceId) => {
          const files = broker.files(`${STORE}/${deviceId}`);
          const config = path.join(work, `${deviceId}.json`);
          const stateDir = path.join(work, `state-${deviceId}`);
          writeFileSync(
            config,
            JSON.stringify({
              source: `clip:${path.join(repoRoot, 'device/assets/demo-clip')}`,
              stateDir,
              mqtt: { url: broker.url, storeId: STORE, deviceId, metricsIntervalMs: 500, tls: { ca: files.caFile, cert: files.certFile, key: files.keyFile } },
              updates: { publicKeys: { [KEY_ID]: keys.publicKeyRaw }, chunkTimeoutMs: 3000, minFpsRatio: 0.2 },
            }),
          );
          return startDaemon({ args: ['--config', config], env: { MIRROR_STATE_DIR: stateDir }, timeoutMs: 60_000 });
        }),
      )),
    );
    await until(async () => {
      const r = await svc.api('GET', `/api/devices?store=${STORE}`);
      return r.body.devices.filter((d: { state: string; models: Record<string, string> }) => d.state === 'online' && d.models.catalog).length === DEVICES.length;
    }, 200);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
    await svc?.stop();
    await broker?.stop();
  });

  it('a signed catalog, built with make-bundle --catalog and pushed with the CLI, rolls out in waves; every mirror renders its default product', async () => {
    const t0 = performance.now();
    const bundled = JSON.parse(readFileSync(BUNDLED_CATALOG_FILE, 'utf8')) as { version: string; default: { productId: string; shadeId: string } };
    for (const d of daemons) expect((await health(d)).catalog).toMatchObject({ version: bundled.version, default: bundled.default });

    const source = path.join(work, 'catalog-source.json');
    writeFileSync(source, JSON.stringify({ ...bundled, version: VERSION, default: NEW_DEFAULT }, null, 2));
    // make-bundle refuses a bad catalog, naming the field ...
    const bad = path.join(work, 'catalog-bad.json');
    writeFileSync(bad, JSON.stringify({ ...bundled, default: { ...NEW_DEFAULT, shadeId: 'no-such-shade' } }));
    const refused = await run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device/tools/make-bundle.ts'), '--catalog', bad, '--out', `${bad}.artifact`], { cwd: repoRoot }).then(
      () => '',
      (e: { stderr: string }) => e.stderr,
    );
    expect(refused).toContain('catalog field "default.shadeId": "no-such-shade" is not a shade of "velour-velvet-matte"');
    // ... and builds the artifact from a good one; the operator signs it with the fleet CLI.
    const file = path.join(work, 'catalog.artifact.json');
    await run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device/tools/make-bundle.ts'), '--catalog', source, '--out', file], { cwd: repoRoot });
    const env = { FLEET_URL: svc.url, FLEET_TOKEN: svc.token };
    await cli(['sign', file, '--key', path.join(work, 'keys', `${KEY_ID}.key.pem`), '--key-id', KEY_ID, '--kind', 'catalog', '--name', 'catalog', '--version', VERSION], env);
    const rollout = JSON.parse(await cli(['push', file, '--to', `store=${STORE}`, '--canary', '50%', '--json'], env)).rollout as { id: string; waves: number; targets: number };
    expect(rollout).toMatchObject({ targets: 2, waves: 2 });

    const done = await until(async () => {
      const r = await svc.api('GET', `/api/rollouts/${rollout.id}`);
      return ['completed', 'paused', 'aborted'].includes(r.body.rollout.status) && r.body;
    }, 200);
    expect(done.rollout.status).toBe('completed');
    expect(done.totals).toEqual({ succeeded: 2 });
    console.log(`[e2e] catalog rollout of ${VERSION} to ${DEVICES.length} real daemons completed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    for (const d of daemons) {
      const h = await health(d);
      expect(h.catalog).toMatchObject({ version: VERSION, default: NEW_DEFAULT });
      expect(h.models.catalog).toBe(VERSION);
      for (const a of await appliedInFrames(d.url)) expect(a).toEqual([NEW_DEFAULT.productId]);
    }
    const devices = (await svc.api('GET', `/api/devices?store=${STORE}`)).body.devices as Array<{ deviceId: string; models: Record<string, string> }>;
    for (const d of devices) {
      expect(d.models.catalog).toBe(VERSION);
      const jobs = (await svc.api('GET', `/api/devices/${STORE}/${d.deviceId}`)).body.jobs as Array<{ rolloutId: string; outcome: string; state: string; servingVersion: string }>;
      expect(jobs.find((j) => j.rolloutId === rollout.id)).toMatchObject({ outcome: 'succeeded', state: 'committed', servingVersion: VERSION });
    }
    expect(svc.ingest.stats().invalidBy).toEqual({});
  });
});
