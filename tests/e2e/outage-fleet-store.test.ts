/**
 * Issue 5's outage test, end to end into the fleet's own store: the real daemon (device/main.ts
 * on the demo clip) → a loopback TCP link that goes dead → a real Mosquitto → the real fleet
 * service (SQLite in a temp dir) ingesting.
 *
 *  - the link to the broker is down for 10 s; the daemon keeps queueing its metrics and shopper
 *    events in its on-disk outbox;
 *  - in the middle of the outage the daemon is killed (SIGKILL, a power cut) and 500 shopper
 *    events are queued in its outbox (the device's own Outbox and event publisher, the daemon's
 *    topic), 50 of them twice, as a device whose PUBACKs were lost sends them again;
 *  - the daemon starts again, still offline; then the link comes back.
 *
 * Afterwards the fleet store holds exactly those 500 events, each once (same ids, same order of
 * `seq`), the dashboard API counts them, ingest reports the redeliveries as duplicates dropped,
 * the metrics the daemon queued while offline arrived too, and the daemon's outbox is empty.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventPublisher } from '../../device/telemetry/events.ts';
import { Outbox, OUTBOX_FILE } from '../../device/telemetry/outbox.ts';
import { eventsTopic } from '../../fleet/protocol/topics.ts';
import { startFleet, until, type TestService } from '../fleet/support.ts';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { findMosquitto, startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { recordingLogger, sleep, startTcpProxy, type TcpProxy } from '../telemetry/support.ts';

const HAVE = findMosquitto() !== undefined;
if (!HAVE) console.warn('[tests] mosquitto not found: skipping the outage-into-the-fleet-store suite');

const STORE = 'outage-store';
const DEVICE = 'mirror-outage';
const OUTAGE_MS = 10_000;
const EVENTS = 500;
const REDELIVERED = 50;
const PRODUCTS = 5;

interface Health {
  mqtt: { connected: boolean } | null;
  outbox: { pending: number } | null;
}

describe.skipIf(!HAVE)('a 10 s broker outage with 500 events queued, into the real fleet store', () => {
  let broker: TestBroker;
  let proxy: TcpProxy;
  let svc: TestService;
  let work: string;
  const daemons: RunningDaemon[] = [];

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'outage-fleet-'));
    broker = await startMosquitto();
    proxy = await startTcpProxy(broker.port);
    svc = await startFleet('sqlite', { mqtt: { url: broker.url } });
  });

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
    await svc?.stop();
    await proxy?.close();
    await broker?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('every event stored exactly once afterwards; redeliveries dropped as duplicates; queued metrics arrive', async () => {
    const t0 = performance.now();
    const stateDir = path.join(work, 'state');
    const config = path.join(work, 'mirror.json');
    writeFileSync(
      config,
      JSON.stringify({
        source: `clip:${path.join(repoRoot, 'device/assets/demo-clip')}`,
        stateDir,
        mqtt: { url: proxy.url, storeId: STORE, deviceId: DEVICE, metricsIntervalMs: 1000 },
      }),
    );
    const start = async () => {
      const d = await startDaemon({ args: ['--config', config], env: { MIRROR_STATE_DIR: stateDir }, timeoutMs: 60_000 });
      daemons.push(d);
      return d;
    };
    const health = async (d: RunningDaemon) => (await (await fetch(`${d.url}/healthz`)).json()) as Health;
    const storedMetrics = async (from = 0) =>
      Number((await svc.store.db.all('SELECT COUNT(*) AS n FROM metrics WHERE device_id = ? AND ts >= ?', [DEVICE, from]))[0].n);

    // Online: the fleet has the mirror and its telemetry.
    let daemon = await start();
    await until(async () => (await svc.store.devices.getDevice(STORE, DEVICE))?.state === 'online' && (await storedMetrics()) > 0, 100);

    // The outage: the store's link to the broker dies.
    const outageStart = Date.now();
    proxy.setDown(true);
    await until(async () => (await health(daemon)).mqtt?.connected === false, 50);
    // At least one metrics interval queued on disk by the first daemon.
    await until(async () => ((await health(daemon)).outbox?.pending ?? 0) > 0, 100);

    // Power cut mid-outage; 500 events queued on disk while it is down (50 of them twice).
    await daemon.stop('SIGKILL');
    const logger = recordingLogger();
    const outbox = new Outbox({ file: path.join(stateDir, OUTBOX_FILE), logger });
    const topic = eventsTopic({ storeId: STORE, deviceId: DEVICE });
    const sent: Array<{ msgId: string; seq: number; payload: Buffer }> = [];
    const events = createEventPublisher({
      deviceId: DEVICE,
      logger,
      send: (payload, message) => {
        outbox.append('event', topic, payload);
        sent.push({ msgId: message.msgId, seq: message.data!.seq as number, payload });
      },
    });
    const sessionId = 'outage-session';
    for (let seq = 0; seq < EVENTS; seq++) events.emit('product.tried', { sessionId, productId: `outage-p${seq % PRODUCTS}`, seq });
    for (const s of sent.slice(100, 100 + REDELIVERED)) outbox.append('event', topic, s.payload);
    outbox.close(); // commits the last batch: then every record is on disk (pending)
    const queued = outbox.stats().pending;
    expect(sent).toHaveLength(EVENTS);
    expect(queued).toBeGreaterThanOrEqual(EVENTS + REDELIVERED);

    // Back up, still offline: the backlog is on disk and nothing has reached the fleet.
    daemon = await start();
    // The kiosk (and /healthz) listens before the telemetry step has started (device/daemon/
    // transport.ts): wait until /healthz reports the MQTT link and outbox at all.
    const h = await until(async () => {
      const now = await health(daemon);
      return now.mqtt !== null && now.outbox !== null ? now : undefined;
    }, 50);
    expect(h.mqtt?.connected).toBe(false);
    expect(h.outbox?.pending).toBeGreaterThanOrEqual(queued);
    const ours = async () =>
      (await svc.store.db.all("SELECT msg_id, data FROM events WHERE store_id = ? AND device_id = ? AND product_id LIKE 'outage-p%'", [STORE, DEVICE])).map(
        (r) => ({ msgId: String(r.msg_id), seq: (JSON.parse(String(r.data)) as { seq: number }).seq }),
      );
    await sleep(Math.max(0, outageStart + OUTAGE_MS - Date.now()));
    expect(await ours()).toHaveLength(0);
    const before = svc.ingest.stats();

    // The link returns: the daemon reconnects (jittered backoff) and drains the outbox.
    proxy.setDown(false);
    const outageMs = Date.now() - outageStart;
    await until(async () => (await ours()).length >= EVENTS, 100);
    await until(async () => (await health(daemon)).outbox?.pending === 0, 100);
    await until(() => svc.ingest.stats().duplicates - before.duplicates >= REDELIVERED, 50);

    // Exactly the 500 events, each once.
    const stored = await ours();
    expect(stored).toHaveLength(EVENTS);
    expect(new Set(stored.map((e) => e.msgId))).toEqual(new Set(sent.map((e) => e.msgId)));
    expect(stored.map((e) => e.seq).sort((a, b) => a - b)).toEqual([...Array(EVENTS).keys()]);
    const bySeq = new Map(sent.map((e) => [e.seq, e.msgId]));
    for (const e of stored) expect(e.msgId).toBe(bySeq.get(e.seq));

    // The dashboard API counts them (each product tried 100 times), and ingest dropped the repeats.
    const stats = (await svc.api('GET', `/api/stores/${STORE}/stats`)).body as { productsTried: Array<{ productId: string; count: number }> };
    const tried = stats.productsTried.filter((p) => p.productId.startsWith('outage-p'));
    expect(tried.sort((a, b) => a.productId.localeCompare(b.productId))).toEqual(
      [...Array(PRODUCTS).keys()].map((i) => ({ productId: `outage-p${i}`, count: EVENTS / PRODUCTS })),
    );
    const ingest = (await svc.api('GET', '/api/ingest')).body as { ingest: { duplicates: number; invalid: number; invalidBy: Record<string, number> } };
    expect(ingest.ingest.duplicates - before.duplicates).toBeGreaterThanOrEqual(REDELIVERED);
    expect(ingest.ingest.invalidBy).toEqual({});

    // The metrics both daemons queued while offline were stored too (their ts is in the outage).
    const offlineMetrics = Number(
      (await svc.store.db.all('SELECT COUNT(*) AS n FROM metrics WHERE device_id = ? AND ts >= ? AND ts < ?', [DEVICE, outageStart, outageStart + outageMs]))[0].n,
    );
    expect(offlineMetrics).toBeGreaterThan(0);
    expect((await svc.store.devices.getDevice(STORE, DEVICE))?.state).toBe('online');
    console.log(
      `[e2e] outage ${(outageMs / 1000).toFixed(1)} s, ${queued} records queued (${EVENTS} events + ${REDELIVERED} repeats + telemetry); ` +
        `stored ${stored.length} events, ${ingest.ingest.duplicates - before.duplicates} duplicates dropped, ${offlineMetrics} offline metrics; ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s in all`,
    );
  }, 120_000);
});
