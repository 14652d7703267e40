/**
 * A device whose clock is ten years ahead must not freeze its dashboard (issue 13 item 7): the
 * fleet bounds device timestamps by its own clock and orders such messages by receive time.
 * Through the service's real ingest and store, on SQLite and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsTopic, telemetryTopic } from '../../fleet/protocol/topics.ts';
import { pgRequired, startFleet, type TestService } from './support.ts';

const PG = await pgRequired();
const TEN_YEARS_MS = 10 * 365 * 86_400_000;
const addr = { storeId: 'skew-store', deviceId: 'skew-mirror' };

const metrics = (ts: number, fps: number) =>
  Buffer.from(
    JSON.stringify({
      v: 1, msgId: randomUUID(), deviceId: addr.deviceId, ts, intervalS: 5, fps, latencyP50Ms: 10, latencyP95Ms: 20,
      droppedFrames: 0, processedFrames: 10, backends: {}, models: {}, uptimeS: 1, rssBytes: 1,
    }),
  );

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !PG)(`device clock ahead of the fleet's, on ${kind}`, () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startFleet(kind, {}, { mqtt: false });
    });
    afterAll(async () => {
      await svc?.stop();
    });

    it('a metrics message ten years ahead does not freeze the dashboard: the next real one shows', async () => {
      const future = Date.now() + TEN_YEARS_MS;
      await svc.ingest.handle(telemetryTopic(addr), metrics(future, 5));
      await svc.ingest.handle(telemetryTopic(addr), metrics(Date.now() + 1000, 29));
      const d = (await svc.api('GET', `/api/devices/${addr.storeId}/${addr.deviceId}`)).body.device;
      expect(d.fps).toBe(29);
      expect(d.metricsAt).toBeLessThan(Date.now() + 60_000);
      const tel = (await svc.api('GET', `/api/devices/${addr.storeId}/${addr.deviceId}/telemetry`)).body.telemetry;
      expect(tel.map((t: { fps: number }) => t.fps)).toEqual([29, 5]);
      // The lie is kept for the record, beside the time the fleet orders by.
      expect(tel[1].deviceTs).toBe(future);
      expect(tel[1].ts).toBeLessThan(Date.now() + 60_000);
    });

    it('a device row frozen by an earlier future timestamp takes the next sample', async () => {
      await svc.store.db.run('UPDATE devices SET metrics_at = ? WHERE store_id = ? AND device_id = ?', [Date.now() + TEN_YEARS_MS, addr.storeId, addr.deviceId]);
      await svc.ingest.handle(telemetryTopic(addr), metrics(Date.now() + 2000, 31));
      expect((await svc.api('GET', `/api/devices/${addr.storeId}/${addr.deviceId}`)).body.device.fps).toBe(31);
    });

    it("a future-dated event counts in today's store stats", async () => {
      const ev = { v: 1, msgId: randomUUID(), deviceId: addr.deviceId, ts: Date.now() + TEN_YEARS_MS, type: 'session.end', data: { sessionId: 's-1', dwellMs: 5000, productsTried: 1, looksSaved: 0, reason: 'idle' } };
      await svc.ingest.handle(eventsTopic(addr), Buffer.from(JSON.stringify(ev)));
      const stats = (await svc.api('GET', `/api/stores/${addr.storeId}/stats`)).body;
      expect(stats).toMatchObject({ sessions: 1, dwell: { totalMs: 5000 } });
    });
  });
}
