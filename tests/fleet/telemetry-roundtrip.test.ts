/**
 * Device → Mosquitto → fleet ingest → store → dashboard API, on SQLite always and on PostgreSQL
 * when one is reachable. The device is a light MQTT client publishing valid protocol v1 messages.
 */
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimDevice } from '../../fleet/sim/device-sim.ts';
import { eventsTopic, statusTopic, telemetryTopic } from '../../fleet/protocol/topics.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { pgRequired, startFleet, until, type TestService } from './support.ts';

const PG = await pgRequired();

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !PG)(`telemetry round trip on ${kind}`, () => {
    let broker: TestBroker;
    let svc: TestService;
    let dev: SimDevice;

    beforeAll(async () => {
      broker = await startMosquitto();
      svc = await startFleet(kind, { mqtt: { url: broker.url } });
      dev = new SimDevice({ url: broker.url, storeId: 'paris-01', deviceId: 'mirror-7', models: { 'face-mesh': '1.2.0' }, firmwareVersion: '0.4.2' });
      await dev.start();
    });
    afterAll(async () => {
      await dev?.stop();
      await svc?.stop();
      await broker?.stop();
    });

    it('metrics and events published by a device reach the dashboard API', async () => {
      await dev.sendMetrics({ fps: 29.5, latencyP95Ms: 33 });
      const sessionId = randomUUID();
      await dev.sendEvent('session.start', { sessionId });
      await dev.sendEvent('product.tried', { sessionId, productId: 'lip-ruby' });
      await dev.sendEvent('product.tried', { sessionId, productId: 'lip-ruby' });
      await dev.sendEvent('product.tried', { sessionId, productId: 'lip-nude' });
      await dev.sendEvent('look.saved', { sessionId, lookId: randomUUID(), products: 2, productIds: 'lip-ruby,lip-nude' });
      await dev.sendEvent('session.end', { sessionId, dwellMs: 42_000, productsTried: 2, looksSaved: 1, reason: 'idle' });
      await until(async () => (await svc.store.messages.counts()).events === 6);

      const list = await svc.api('GET', '/api/devices');
      expect(list.status).toBe(200);
      const d = list.body.devices.find((x: any) => x.deviceId === 'mirror-7');
      expect(d).toMatchObject({ storeId: 'paris-01', state: 'online', firmwareVersion: '0.4.2', fps: 29.5, latencyP95Ms: 33, health: 'ok' });
      expect(d.models).toEqual({ 'face-mesh': '1.2.0' });

      const stats = await svc.api('GET', '/api/stores/paris-01/stats');
      expect(stats.status).toBe(200);
      expect(stats.body).toMatchObject({ sessions: 1, dwell: { totalMs: 42_000 }, looksSaved: 1, devices: 1 });
      expect(stats.body.productsTried).toEqual([
        { productId: 'lip-ruby', count: 2 },
        { productId: 'lip-nude', count: 1 },
      ]);
      expect(stats.body.productsSaved).toEqual([
        { productId: 'lip-nude', count: 1 },
        { productId: 'lip-ruby', count: 1 },
      ]);

      const tel = await svc.api('GET', '/api/devices/paris-01/mirror-7/telemetry');
      expect(tel.body.telemetry.length).toBe(1);
      expect(tel.body.telemetry[0]).toMatchObject({ fps: 29.5, latencyP95Ms: 33 });
    });

    it('the machine health in metrics (`system`: CPU, memory, temperatures, GPU) is stored and served with the device and its telemetry', async () => {
      const system = {
        cpuLoad: 0.42,
        load1: 1.5,
        memTotalBytes: 8 * 1024 ** 3,
        memAvailableBytes: 5 * 1024 ** 3,
        temperaturesC: { 'CPU-therm': 48.5, 'GPU-therm': 51 },
        gpuLoad: 0.63,
        gpuTemperatureC: 51,
      };
      // One at a time, each stored before the next (the latest sample wins, by ts).
      const send = async (o: Parameters<SimDevice['sendMetrics']>[0]) => {
        const n = (await svc.store.messages.counts()).metrics;
        const sent = await dev.sendMetrics(o);
        await until(async () => (await svc.store.messages.counts()).metrics === n + 1);
        return sent;
      };
      const m = await send({ system });
      const d = (await svc.api('GET', '/api/devices/paris-01/mirror-7')).body.device;
      expect(d).toMatchObject({ system, health: 'ok' });
      const tel = (await svc.api('GET', '/api/devices/paris-01/mirror-7/telemetry')).body.telemetry;
      expect(tel[0]).toMatchObject({ ts: m.ts, system });
      // A hot SoC makes the device degraded, with the zone named.
      await send({ system: { temperaturesC: { 'CPU-therm': 96.5 } } });
      const h = (await svc.api('GET', '/api/devices/paris-01/mirror-7')).body.device;
      expect(h).toMatchObject({ health: 'degraded', problems: ['CPU-therm 97 °C > 90'] });
      // Metrics without it (an older device) clear it rather than keep a stale reading.
      await send({});
      expect((await svc.api('GET', '/api/devices/paris-01/mirror-7')).body.device).toMatchObject({ system: null, health: 'ok' });
    });

    it('a redelivered message (same msgId) is stored once', async () => {
      const before = await svc.store.messages.counts();
      const m = dev.metrics();
      const payload = Buffer.from(JSON.stringify(m));
      await dev.client.publishAsync(telemetryTopic(dev.addr), payload, { qos: 1 });
      await dev.client.publishAsync(telemetryTopic(dev.addr), payload, { qos: 1 });
      const marker = await dev.sendEvent('session.start', { sessionId: randomUUID() });
      await until(async () => (await svc.store.messages.counts()).events === before.events + 1);
      await until(() => svc.ingest.stats().duplicates >= 1);
      expect((await svc.store.messages.counts()).metrics).toBe(before.metrics + 1);
      expect(marker.msgId).toBeTruthy();
    });

    it('a late last will from an older connection does not mark a reconnected device offline', async () => {
      const addr = { storeId: 'paris-01', deviceId: 'mirror-9' };
      const c = await mqtt.connectAsync(broker.url, { clientId: `will-${randomUUID().slice(0, 8)}` });
      const status = (state: 'online' | 'offline', seq: number, reason?: string) =>
        Buffer.from(
          JSON.stringify({ v: 1, state, deviceId: 'mirror-9', storeId: 'paris-01', connectionSeq: seq, ts: Date.now(), firmwareVersion: '1', models: {}, ...(reason ? { reason } : {}) }),
        );
      await c.publishAsync(statusTopic(addr), status('online', 5), { qos: 1 });
      await until(async () => (await svc.store.devices.getDevice('paris-01', 'mirror-9'))?.state === 'online');
      const stale = svc.ingest.stats().staleStatus;
      await c.publishAsync(statusTopic(addr), status('offline', 4, 'connection-lost'), { qos: 1 });
      await until(() => svc.ingest.stats().staleStatus === stale + 1 || undefined);
      expect((await svc.store.devices.getDevice('paris-01', 'mirror-9'))?.state).toBe('online');
      // ...while the will of the current connection does apply.
      await c.publishAsync(statusTopic(addr), status('offline', 5, 'connection-lost'), { qos: 1 });
      await until(async () => (await svc.store.devices.getDevice('paris-01', 'mirror-9'))?.state === 'offline');
      await c.endAsync();
    });

    it('malformed messages are counted by field and never stop ingest', async () => {
      const c = await mqtt.connectAsync(broker.url, { clientId: `bad-${randomUUID().slice(0, 8)}` });
      const before = svc.ingest.stats();
      await c.publishAsync(telemetryTopic(dev.addr), Buffer.from('{not json'), { qos: 1 });
      await c.publishAsync(telemetryTopic(dev.addr), Buffer.from(JSON.stringify({ ...dev.metrics(), fps: -3 })), { qos: 1 });
      await c.publishAsync(eventsTopic(dev.addr), Buffer.from(JSON.stringify({ v: 1, msgId: randomUUID(), deviceId: 'someone-else', ts: 1, type: 'x' })), { qos: 1 });
      await c.publishAsync('mirror/v1/paris-01/mirror-7/update/state', Buffer.from(JSON.stringify({ v: 1 })), { qos: 1 });
      await c.endAsync();
      await until(() => svc.ingest.stats().invalid >= before.invalid + 4 || undefined);
      const s = svc.ingest.stats();
      expect(s.invalidBy['bad-json:(payload)']).toBeGreaterThanOrEqual(1);
      expect(s.invalidBy['bad-field:fps']).toBeGreaterThanOrEqual(1);
      expect(s.invalidBy['topic-mismatch:deviceId']).toBeGreaterThanOrEqual(1);
      // Still ingesting.
      const n = (await svc.store.messages.counts()).metrics;
      await dev.sendMetrics();
      await until(async () => (await svc.store.messages.counts()).metrics === n + 1);
    });
  });
}
