/**
 * Catalog updates against the real daemon on a real Mosquitto, with the minimal fleet stand-in
 * answering chunk requests: the same safe path as models (signature, sha256, staged beside the
 * serving catalog, smoke test on golden frames, atomic switch, watch, commit). A good signed
 * catalog, v2 or a v1 one still in the fleet's hands (migrated on the mirror), ends with its
 * default product on the shopper's lips (`applied` in the kiosk frames) and its version in
 * /healthz, status and metrics; every failure leaves the old catalog serving.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage } from '../../fleet/protocol/schemas.ts';
import { channelFilter } from '../../fleet/protocol/topics.ts';
import { BUNDLED_CATALOG_FILE, type CatalogSummary, type CatalogV2 } from '../../device/tryon/catalog.ts';
import { labOf } from '../../device/tools/catalog-lab.ts';
import { appliedInFrames } from '../helpers/frames.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { subscribe, uniqueId, type Subscriber } from '../telemetry/support.ts';
import { generateSigningKey, makeArtifact, startFleetDouble, type FleetDouble } from './fleet-double.ts';

const STORE = 'store-catalog-test';
const BUNDLED = JSON.parse(readFileSync(BUNDLED_CATALOG_FILE, 'utf8')) as CatalogV2;
const BUNDLED_SHADES = BUNDLED.products.reduce((n, p) => n + p.shades.length, 0);
const DEFAULT = 'lumiere-rouge-satin';
const at = (c: CatalogV2, productId: string) => c.products.find((p) => p.id === productId)!;
const idx = (productId: string): number => BUNDLED.products.findIndex((p) => p.id === productId);

interface Health {
  models: Record<string, string>;
  catalog: CatalogSummary;
  processedFrames: number;
  update: { jobId: string; state: string; reason?: string } | null;
}

async function health(d: RunningDaemon): Promise<Health> {
  return (await (await fetch(`${d.url}/healthz`)).json()) as Health;
}

/** The catalog serving in /healthz and on the shopper's lips. */
async function expectCatalogServing(d: RunningDaemon, version: string, defaultProductId: string): Promise<void> {
  const h = await health(d);
  expect(h.catalog).toMatchObject({ version, default: { productId: defaultProductId } });
  expect(h.models.catalog).toBe(version);
  const applied = await appliedInFrames(d.url, 10);
  for (const a of applied) expect(a).toEqual([defaultProductId]);
}

function catalogBytes(version: string, edit: (c: CatalogV2) => void = () => {}): Buffer {
  const c = structuredClone(BUNDLED);
  c.version = version;
  edit(c);
  return Buffer.from(JSON.stringify(c, null, 2));
}

describe('catalog update on the real daemon', { timeout: 240_000 }, () => {
  let broker: TestBroker;
  const key = generateSigningKey('fleet-test');
  const deviceId = uniqueId('mirror');
  const addr = { storeId: STORE, deviceId };
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'mirror-catalog-state-'));
  let config = '';
  let daemon: RunningDaemon;
  let fleet: FleetDouble;
  let metricsSub: Subscriber;
  let statusSub: Subscriber;

  beforeAll(async () => {
    broker = await startMosquitto();
    fleet = await startFleetDouble(broker.url, addr);
    metricsSub = await subscribe(broker.url, channelFilter('telemetry', addr));
    statusSub = await subscribe(broker.url, channelFilter('status', addr));
    config = path.join(mkdtempSync(path.join(os.tmpdir(), 'mirror-catalog-config-')), 'mirror.json');
    writeFileSync(
      config,
      JSON.stringify({
        stateDir,
        mqtt: { url: broker.url, storeId: STORE, deviceId, metricsIntervalMs: 500 },
        updates: { publicKeys: { [key.keyId]: key.publicKeyBase64 }, chunkTimeoutMs: 2000, minFpsRatio: 0.2 },
      }),
    );
    daemon = await startDaemon({ args: ['--config', config], env: { MIRROR_STATE_DIR: stateDir } });
    await statusSub.waitFor((m) => (m.json as { state?: string })?.state === 'online', 30_000, 'birth');
  }, 90_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await fleet?.close();
    await metricsSub?.close();
    await statusSub?.close();
    await broker?.stop();
  });

  it('boots on the bundled catalog: its default shade on the lips, its version in /healthz and the status message', async () => {
    const h = await health(daemon);
    expect(h.catalog).toEqual({
      version: BUNDLED.version,
      products: BUNDLED.products.length,
      shades: BUNDLED_SHADES,
      looks: BUNDLED.looks.length,
      default: { productId: DEFAULT, shadeId: 'ruby' },
      artifactId: null,
    });
    await expectCatalogServing(daemon, BUNDLED.version, DEFAULT);
    const birth = await statusSub.waitFor((m) => (m.json as { models?: Record<string, string> })?.models?.catalog === BUNDLED.version, 15_000, 'status with the catalog');
    expect(birth).toBeTruthy();
  });

  it('wrong signature: rejected before any chunk is requested, the old catalog keeps serving', async () => {
    const bytes = catalogBytes('2026.9.0-badsig');
    const artifact = makeArtifact(bytes, { id: 'catalog-badsig', name: 'catalog', version: '2026.9.0-badsig', key, resignWith: generateSigningKey('fleet-test') });
    expect(artifact.kind).toBe('catalog');
    await fleet.offerUntilHeard({ jobId: 'job-cat-badsig', artifact, bytes });
    const s = await fleet.waitForState((x) => x.jobId === 'job-cat-badsig' && x.state === 'rejected');
    expect(s).toMatchObject({ reason: 'bad-signature', servingVersion: BUNDLED.version });
    expect(fleet.requests.filter((r) => r.jobId === 'job-cat-badsig')).toHaveLength(0);
    await expectCatalogServing(daemon, BUNDLED.version, DEFAULT);
  });

  it('malformed v2 catalog (an eyeshadow pattern it does not know): failed at verifying, the reason naming the field, the old catalog serving', async () => {
    const version = '2026.9.1-malformed';
    const quad = idx('atelier-quad-shadow');
    const bytes = catalogBytes(version, (c) => ((c.products[quad].shades[3].style as { pattern: string }).pattern = 'halo'));
    const artifact = makeArtifact(bytes, { id: 'catalog-malformed', name: 'catalog', version, key });
    await fleet.offer({ jobId: 'job-cat-malformed', artifact, bytes });
    const s = await fleet.waitForState((x) => x.jobId === 'job-cat-malformed' && x.state === 'failed');
    expect(s.reason).toBe('bad-catalog');
    expect(s.detail).toBe(`catalog field "products.${quad}.shades.3.style.pattern": must be one of lid, lidCrease, lidCreaseOuter`);
    expect(s.servingVersion).toBe(BUNDLED.version);
    expect(fleet.states.filter((x) => x.jobId === 'job-cat-malformed').map((x) => x.state)).toEqual(['announced', 'downloading', 'verifying', 'failed']);
    await expectCatalogServing(daemon, BUNDLED.version, DEFAULT);
    expect((await health(daemon)).update).toMatchObject({ jobId: 'job-cat-malformed', state: 'failed', reason: 'bad-catalog' });
  });

  it('a lab that is not its hex: refused as bad-catalog naming the shade', async () => {
    const version = '2026.9.3-lab';
    const red = idx('velour-velvet-matte');
    const bytes = catalogBytes(version, (c) => (c.products[red].shades[0].lab = [60, 10, 10]));
    const artifact = makeArtifact(bytes, { id: 'catalog-lab', name: 'catalog', version, key });
    await fleet.offer({ jobId: 'job-cat-lab', artifact, bytes });
    const s = await fleet.waitForState((x) => x.jobId === 'job-cat-lab' && x.state === 'failed');
    expect(s).toMatchObject({ reason: 'bad-catalog', servingVersion: BUNDLED.version });
    expect(s.detail).toMatch(new RegExp(`^catalog field "products\\.${red}\\.shades\\.0\\.lab": \\[60, 10, 10\\] is ΔE2000 \\d+\\.\\d\\d from hex #b3121f`));
    await expectCatalogServing(daemon, BUNDLED.version, DEFAULT);
  });

  it('a lipstick shade that renders nothing visible (opacity 0): smoke-test-failed, the old catalog serving', async () => {
    const version = '2026.9.2-invisible';
    const bytes = catalogBytes(version, (c) => (at(c, 'kora-glass-gloss').shades[1].opacity = 0));
    const artifact = makeArtifact(bytes, { id: 'catalog-invisible', name: 'catalog', version, key });
    await fleet.offer({ jobId: 'job-cat-invisible', artifact, bytes });
    const s = await fleet.waitForState((x) => x.jobId === 'job-cat-invisible' && x.state === 'failed');
    expect(s.reason).toBe('smoke-test-failed');
    expect(s.detail).toContain('product "kora-glass-gloss" shade "clear-pink"');
    await expectCatalogServing(daemon, BUNDLED.version, DEFAULT);
  });

  it('signed catalog end to end: the new default product on the lips, the new version in /healthz, status and metrics; kept across a restart', async () => {
    const version = '2026.5.0';
    const bytes = catalogBytes(version, (c) => {
      c.default = { productId: 'kora-glass-gloss', shadeId: 'coral-crush' };
      at(c, 'kora-glass-gloss').shades.push({ id: 'spring-peach', name: 'Spring Peach', hex: '#f08a6c', lab: labOf('#f08a6c'), opacity: 0.5, finish: 'gloss', style: { style: 'full' } });
    });
    // 4 KiB chunks, so the catalog (tens of KiB) is pulled in several pieces like a model.
    const artifact = makeArtifact(bytes, { id: 'catalog-2026-5-0', name: 'catalog', version, key });
    await fleet.offer({ jobId: 'job-cat-good', artifact, bytes, chunkSize: 4096, watchSeconds: 2 });
    const committed = await fleet.waitForState((x) => x.jobId === 'job-cat-good' && x.state === 'committed', 120_000, 'committed');
    expect(committed.servingVersion).toBe(version);
    expect(fleet.states.filter((x) => x.jobId === 'job-cat-good').map((x) => x.state)).toEqual([
      'announced',
      'downloading',
      'verifying',
      'staged',
      'smoke-testing',
      'active',
      'watching',
      'committed',
    ]);
    expect(fleet.requests.filter((r) => r.jobId === 'job-cat-good').map((r) => r.index)).toEqual([...Array(Math.ceil(bytes.byteLength / 4096)).keys()]);
    await expectCatalogServing(daemon, version, 'kora-glass-gloss');
    expect((await health(daemon)).catalog).toEqual({
      version,
      products: BUNDLED.products.length,
      shades: BUNDLED_SHADES + 1,
      looks: BUNDLED.looks.length,
      default: { productId: 'kora-glass-gloss', shadeId: 'coral-crush' },
      artifactId: 'catalog-2026-5-0',
    });
    const metrics = await metricsSub.waitFor((m) => {
      const p = parseMessage(m.topic, m.payload);
      return p.ok && p.kind === 'metrics' && p.value.models.catalog === version && p.value.update?.state === 'committed';
    }, 15_000, 'metrics with the new catalog version');
    const m = parseMessage(metrics.topic, metrics.payload);
    expect(m.ok && m.kind === 'metrics' && m.value.catalog).toEqual({ version, products: BUNDLED.products.length, shades: BUNDLED_SHADES + 1, looks: BUNDLED.looks.length, artifactId: 'catalog-2026-5-0' });
    // Offered again: the device says it already serves it.
    await fleet.offer({ jobId: 'job-cat-good-again', artifact, bytes });
    expect(await fleet.waitForState((x) => x.jobId === 'job-cat-good-again')).toMatchObject({ state: 'rejected', reason: 'already-serving' });

    // The committed pointer is what a boot loads.
    await daemon.stop('SIGKILL');
    daemon = await startDaemon({ args: ['--config', config], env: { MIRROR_STATE_DIR: stateDir } });
    await expectCatalogServing(daemon, version, 'kora-glass-gloss');
  });

  it('a v1 catalog still delivered by the fleet: migrated on the mirror and served as v2; a restart loads it again', async () => {
    const version = '2026.6.0-v1';
    const v1 = {
      version,
      defaultProductId: 'demo-lipstick-ruby',
      products: [
        { id: 'demo-lipstick-ruby', name: 'Ruby Satin', category: 'lipstick', colour: '#a4213f', opacity: 0.6, finish: 'satin' },
        { id: 'lipstick-plum-noir', name: 'Plum Noir', category: 'lipstick', colour: '#4e1a3a', opacity: 0.7, finish: 'matte' },
        { id: 'lipstick-coral-crush', name: 'Coral Crush', category: 'lipstick', colour: '#e0604f', opacity: 0.55 },
      ],
    };
    const bytes = Buffer.from(JSON.stringify(v1));
    const artifact = makeArtifact(bytes, { id: 'catalog-v1', name: 'catalog', version, key });
    // The daemon was just restarted: offered until it answers (its subscription may still be on the way).
    await fleet.offerUntilHeard({ jobId: 'job-cat-v1', artifact, bytes, watchSeconds: 2 });
    const committed = await fleet.waitForState((x) => x.jobId === 'job-cat-v1' && x.state === 'committed', 120_000, 'committed');
    expect(committed.servingVersion).toBe(version);
    expect((await health(daemon)).catalog).toEqual({
      version,
      products: 3,
      shades: 3,
      looks: 0,
      default: { productId: 'demo-lipstick-ruby', shadeId: 'demo-lipstick-ruby' },
      artifactId: 'catalog-v1',
    });
    await expectCatalogServing(daemon, version, 'demo-lipstick-ruby');
    await daemon.stop('SIGKILL');
    daemon = await startDaemon({ args: ['--config', config], env: { MIRROR_STATE_DIR: stateDir } });
    await expectCatalogServing(daemon, version, 'demo-lipstick-ruby');
  });

  it('power cut while watching a catalog: the restarted daemon serves the last committed catalog and reports rolled-back', async () => {
    const version = '2026.7.0-watch-cut';
    const bytes = catalogBytes(version, (c) => (c.default = { productId: 'velour-velvet-matte', shadeId: 'plum-noir' }));
    const artifact = makeArtifact(bytes, { id: 'catalog-watch-cut', name: 'catalog', version, key });
    await fleet.offerUntilHeard({ jobId: 'job-cat-watch-cut', artifact, bytes, watchSeconds: 600 });
    await fleet.waitForState((x) => x.jobId === 'job-cat-watch-cut' && x.state === 'watching', 120_000);
    await expectCatalogServing(daemon, version, 'velour-velvet-matte');
    await daemon.stop('SIGKILL');

    daemon = await startDaemon({ args: ['--config', config], env: { MIRROR_STATE_DIR: stateDir } });
    await expectCatalogServing(daemon, '2026.6.0-v1', 'demo-lipstick-ruby');
    const s = await fleet.waitForState((x) => x.jobId === 'job-cat-watch-cut' && x.state === 'rolled-back', 60_000);
    expect(s).toMatchObject({ reason: 'interrupted', servingVersion: '2026.6.0-v1' });
  });
});
