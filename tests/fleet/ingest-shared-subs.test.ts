/**
 * Two fleet-service instances behind one real Mosquitto and one PostgreSQL database, splitting the
 * ingest through MQTT shared subscriptions (issue 21 part 5): every message stored exactly once
 * (the same message published twice, which the broker may hand to either instance, is one row:
 * the seen_messages ledger), both instances doing part of the work; and both instances evaluating
 * the same offline mirror raise one alert and send one notification between them. Small on
 * purpose (a few devices): the 5,000-mirror figure is `npm run bench:fleet`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../fleet/protocol/schemas.ts';
import { telemetryTopic } from '../../fleet/protocol/topics.ts';
import { createFleetService, type FleetService } from '../../fleet/service/app.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { SimDevice } from '../../fleet/sim/device-sim.ts';
import { startWebhookReceiver, type WebhookReceiver } from './alert-support.ts';
import { ADMIN, makeStoreConfig, pgRequired, until, type TestStoreConfig } from './support.ts';

const PG = await pgRequired();

describe.skipIf(!PG)('two ingest instances on shared subscriptions, one PostgreSQL', () => {
  let broker: TestBroker;
  let db: TestStoreConfig;
  let hook: WebhookReceiver;
  const svcs: FleetService[] = [];
  const devices: SimDevice[] = [];
  let clock = Date.now();

  beforeAll(async () => {
    [broker, hook] = await Promise.all([startMosquitto(), startWebhookReceiver()]);
    db = await makeStoreConfig('postgres');
    for (const name of ['fleet-a', 'fleet-b']) {
      svcs.push(
        await createFleetService(
          {
            host: '127.0.0.1',
            port: 0,
            logLevel: 'silent',
            bootstrapAdmin: `${ADMIN.username}:${ADMIN.password}`,
            ...db.config,
            mqtt: { url: broker.url, clientId: `${name}-${randomUUID().slice(0, 8)}`, cleanSession: true, shareGroup: 'ingest' },
            alerts: { evaluateMs: 600_000, offline: { afterS: 600 }, webhooks: [{ name: 'hook', url: hook.url, backoffMs: 10 }] },
          },
          { now: () => clock },
        ),
      );
    }
    for (let i = 0; i < 4; i++) {
      const d = new SimDevice({ url: broker.url, storeId: 'nice-01', deviceId: `mirror-${i}`, mqtt: { reconnectPeriod: 0 } });
      await d.start();
      devices.push(d);
    }
  });
  afterAll(async () => {
    for (const d of devices) await d.client?.endAsync(true).catch(() => undefined);
    for (const s of svcs) await s.close();
    await Promise.all([broker?.stop(), hook?.close(), db?.cleanup()]);
  });

  it('every message is stored exactly once, the load split between the two', async () => {
    const [a, b] = svcs;
    const ids = new Set<string>();
    let published = 0;
    for (let round = 0; round < 25; round++) {
      for (const d of devices) {
        const m = await d.sendMetrics();
        ids.add(m.msgId);
        published++;
        const e = await d.sendEvent('session.start', { sessionId: randomUUID().slice(0, 8) });
        ids.add(e.msgId);
        published++;
        if (round % 5 === 0) {
          // The same message again (an outbox replay, a redelivery): whichever instance gets it, one row.
          const again = encodeMessage('metrics', m);
          if (!again.ok) throw new Error(again.error);
          await d.client.publishAsync(telemetryTopic(d.addr), again.payload, { qos: 1 });
          published++;
        }
      }
    }
    const dups = published - ids.size;
    const handled = () => {
      const [sa, sb] = [a.ingest.stats(), b.ingest.stats()];
      return sa.stored.metrics + sa.stored.events + sb.stored.metrics + sb.stored.events + sa.duplicates + sb.duplicates;
    };
    await until(() => handled() === published);
    const [sa, sb] = [a.ingest.stats(), b.ingest.stats()];
    const counts = await a.store.messages.counts();
    expect(counts.metrics + counts.events).toBe(ids.size);
    expect(counts.seen).toBe(ids.size);
    expect(sa.duplicates + sb.duplicates).toBe(dups);
    expect(sa.deadLettered + sb.deadLettered).toBe(0);
    expect(sa.invalid + sb.invalid).toBe(0);
    // Each instance stored a real share, and neither saw a message the other stored.
    const storedA = sa.stored.metrics + sa.stored.events;
    const storedB = sb.stored.metrics + sb.stored.events;
    expect(storedA).toBeGreaterThan(ids.size / 10);
    expect(storedB).toBeGreaterThan(ids.size / 10);
    expect(storedA + storedB).toBe(ids.size);
    expect(sa.received + sb.received).toBeLessThan(published + devices.length * 2 + 1);
  });

  it('both instances evaluating one offline mirror raise one alert and notify once', async () => {
    const [a, b] = svcs;
    const d = devices[0];
    d.client.stream.destroy();
    await d.client.endAsync(true).catch(() => undefined);
    await until(async () => (await a.store.devices.getDevice('nice-01', 'mirror-0'))?.state === 'offline');
    clock += 11 * 60_000;
    const [ra, rb] = await Promise.all([a.alerts.evaluate(), b.alerts.evaluate()]);
    const raised = [...ra.raised, ...rb.raised].filter((x) => x.deviceId === 'mirror-0');
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ kind: 'offline', subject: 'nice-01/mirror-0' });
    // Again from both: nothing new.
    const again = await Promise.all([a.alerts.evaluate(), b.alerts.evaluate()]);
    expect(again.flatMap((r) => r.raised).filter((x) => x.deviceId === 'mirror-0')).toEqual([]);
    expect((await a.alerts.repo.list({ status: 'open', limit: 100 })).filter((x) => x.deviceId === 'mirror-0')).toHaveLength(1);
    await until(() => hook.bodies.length > 0);
    await Promise.all([a.notifier.flush(), b.notifier.flush()]);
    const notices = hook.bodies.flatMap((x) => x.notices).filter((n: any) => n.alert.deviceId === 'mirror-0');
    expect(notices.map((n: any) => n.event)).toEqual(['raised']);
  });
});
