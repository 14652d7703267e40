/**
 * The operator console drives a real rollout: a real daemon (device/main.ts on the demo clip)
 * joined to the real fleet service through the repository's Mosquitto config (TLS, its own client
 * certificate); the bundle built by make-bundle, signed by the `fleet` CLI and uploaded. From the
 * page, in Chromium: choose the artifact and the store, confirm, and watch the rollout run to
 * `completed` while the daemon switches to the new version. Then a roll back is asked for,
 * cancelled at its confirmation (nothing happens), asked again and confirmed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../fleet/cli/cli.ts';
import { startFleet, until, uploadArtifact, type TestService } from '../fleet/support.ts';
import { startTlsBroker, tlsBrokerAvailable, type TlsBroker } from '../fleet/tls-broker.ts';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { ensureDashboardBuilt, openBrowser, screenshot, seriousViolations, signIn, type Browser } from './dashboard-support.ts';

const run = promisify(execFile);
const HAVE = tlsBrokerAvailable();
if (!HAVE) console.warn('[tests] mosquitto not found: skipping the console rollout suite');

const STORE = 'console-store';
const DEVICE = 'mirror-console-1';
const KEY_ID = 'release-console';
const VERSION = '3.4.0-console';
const OPERATOR = { username: 'olga', password: 'olga-password-1' };

describe.skipIf(!HAVE)('operator console: a rollout started from the page reaches a real daemon', { timeout: 480_000 }, () => {
  let broker: TlsBroker;
  let svc: TestService;
  let daemon: RunningDaemon;
  let browser: Browser;
  const work = mkdtempSync(path.join(os.tmpdir(), 'dashboard-rollout-'));

  const cli = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(args, { out: (s) => (out += s), err: (s) => (err += s), env: { INIT_CWD: work } });
    if (code !== 0) throw new Error(`fleet ${args.join(' ')}: ${err}`);
    return out;
  };
  const servedVersion = async () => ((await (await fetch(`${daemon.url}/healthz`)).json()) as { models: Record<string, string> }).models['face-mesh'];

  beforeAll(async () => {
    await ensureDashboardBuilt();
    broker = await startTlsBroker([`${STORE}/${DEVICE}`]);
    const keys = JSON.parse(await cli(['keys', 'generate', '--out', path.join(work, 'keys'), '--key-id', KEY_ID, '--json'])) as { publicKeyRaw: string };
    svc = await startFleet('sqlite', {
      mqtt: { url: broker.url, clientId: 'fleet-service', ...broker.files('fleet-service') },
      trustedKeys: { [KEY_ID]: keys.publicKeyRaw },
      rollouts: { tickMs: 200, watchSeconds: 2, stuckTimeoutS: 120, failureThreshold: 0.05, minDevicesDone: 1, waveGrowth: 2 },
    });
    const files = broker.files(`${STORE}/${DEVICE}`);
    const config = path.join(work, 'mirror.json');
    writeFileSync(
      config,
      JSON.stringify({
        source: `clip:${path.join(repoRoot, 'device/assets/demo-clip')}`,
        stateDir: path.join(work, 'state'),
        mqtt: { url: broker.url, storeId: STORE, deviceId: DEVICE, metricsIntervalMs: 500, tls: { ca: files.caFile, cert: files.certFile, key: files.keyFile } },
        updates: { publicKeys: { [KEY_ID]: keys.publicKeyRaw }, chunkTimeoutMs: 3000, minFpsRatio: 0.2 },
      }),
    );
    daemon = await startDaemon({ args: ['--config', config], env: { MIRROR_STATE_DIR: path.join(work, 'state') }, timeoutMs: 120_000 });
    await until(async () => (await svc.api('GET', `/api/devices?store=${STORE}`)).body.devices.some((d: { state: string }) => d.state === 'online'), 200);

    // The release: built by make-bundle, signed by the CLI, uploaded (not pushed: the page starts it).
    const bundle = path.join(work, 'face-mesh.bundle');
    await run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device/tools/make-bundle.ts'), '--model', 'face-mesh', '--version', VERSION, '--out', bundle], { cwd: repoRoot });
    await cli(['sign', bundle, '--key', path.join(work, 'keys', `${KEY_ID}.key.pem`), '--key-id', KEY_ID, '--name', 'face-mesh', '--version', VERSION]);
    const meta = JSON.parse(readFileSync(path.join(work, 'face-mesh.manifest.json'), 'utf8'));
    expect((await uploadArtifact(svc, readFileSync(bundle), meta)).status).toBe(201);
    await svc.api('POST', '/api/users', { ...OPERATOR, role: 'operator' });
    browser = await openBrowser();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop('SIGKILL');
    await svc?.stop();
    await broker?.stop();
  });

  it('start, confirm, watch the waves complete on the mirror; roll back only after its confirmation', async () => {
    const { page } = browser;
    const before = await servedVersion();
    expect(before).not.toBe(VERSION);
    await signIn(page, svc.url, OPERATOR.username, OPERATOR.password);
    await page.waitForURL(/#\/console\/fleet$/);
    await page.getByRole('link', { name: 'Rollouts', exact: true }).click();
    await page.getByLabel('Artifact', { exact: true }).selectOption({ label: `face-mesh ${VERSION} (model, key ${KEY_ID})` });
    await page.getByLabel('Target', { exact: true }).selectOption(STORE);
    await page.getByRole('button', { name: 'Start rollout…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Start this rollout?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(`face-mesh ${VERSION} goes to the mirrors of store ${STORE}`);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'console-rollout-confirm');
    expect((await svc.api('GET', '/api/rollouts')).body.rollouts).toEqual([]);
    await dialog.getByRole('button', { name: 'Start rollout' }).click();

    // Live progress: what the card shows, sampled while the device downloads, verifies and switches.
    const card = page.locator('article[data-rollout]').first();
    await card.waitFor();
    const seen = new Set<string>();
    /** The device's own update states as the card listed them. */
    const states = new Set<string>();
    let shotRunning = false;
    await until(async () => {
      const status = (await card.getByTestId('rollout-status').textContent()) ?? '';
      seen.add(`${status} ${await card.getByTestId('rollout-progress').getAttribute('value')}`);
      const jobs = card.getByTestId('rollout-jobs').locator('tbody tr td');
      if ((await jobs.count()) >= 3) states.add((await jobs.nth(2).textContent()) ?? '');
      if (status === 'running' && !shotRunning) {
        shotRunning = true;
        await screenshot(page, 'console-rollout-running');
      }
      return status === 'completed' || status === 'paused' || status === 'aborted';
    }, 200);
    expect(await card.getByTestId('rollout-status').textContent()).toBe('completed');
    expect(await card.getByTestId('rollout-progress').getAttribute('value')).toBe('1');
    expect([...seen]).toContain('running 0');
    expect(await card.locator('table').first().locator('tbody tr').allTextContents()).toEqual(['canary111000']);
    await card.getByText('Devices (1)').click();
    const job = (await card.getByTestId('rollout-jobs').locator('tbody tr').first().locator('th, td').allTextContents()).map((t) => t.trim());
    expect(job).toEqual([`${STORE}/${DEVICE}`, '0', 'succeeded', 'committed', VERSION, '']);
    // The card followed the device through its update, not just its end.
    expect(states.size, [...states].join(', ')).toBeGreaterThan(1);
    const id = await card.getAttribute('data-rollout');
    // It reached the real daemon: the mirror serves the new version.
    await until(async () => (await servedVersion()) === VERSION, 200);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'console-rollout-completed');

    // A roll back asked for and cancelled at the confirmation changes nothing.
    await card.getByRole('button', { name: 'Roll back…' }).click();
    const confirm = page.getByRole('dialog', { name: `Roll back rollout ${id}?` });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await svc.api('GET', `/api/rollouts/${id}`)).body.rollout.status).toBe('completed');
    await card.getByRole('button', { name: 'Roll back…' }).click();
    await page.getByRole('dialog', { name: `Roll back rollout ${id}?` }).getByRole('button', { name: 'Roll back' }).click();
    await until(async () => (await card.getByTestId('rollout-status').textContent()) === 'rolled-back', 200);
    const audit = (await svc.api('GET', '/api/audit?limit=50')).body.audit as Array<{ actor: string; action: string; target: string }>;
    expect(audit.find((a) => a.action === 'rollout.push')).toMatchObject({ actor: OPERATOR.username, target: id });
    expect(audit.find((a) => a.action === 'rollout.rollback')).toMatchObject({ actor: OPERATOR.username, target: id });
    await screenshot(page, 'console-rollout-rolled-back');
  });
});
