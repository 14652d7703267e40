/**
 * Devices, their telemetry and the per-store dashboard numbers.
 */
import type { EventType, SystemMetricsMessage } from '../../protocol/schemas.ts';
import { num, numOrNull, type Row, type SqlDriver, type SqlValue } from './driver.ts';
import { json, parseJson, toDevice, type DeviceRow, type StoreScope, type StoreStats } from './rows.ts';

export class DevicesRepo {
  constructor(private readonly db: SqlDriver) {}

  async listDevices(scope: StoreScope = {}): Promise<DeviceRow[]> {
    const rows =
      scope.storeId === undefined
        ? await this.db.all('SELECT * FROM devices ORDER BY store_id, device_id')
        : await this.db.all('SELECT * FROM devices WHERE store_id = ? ORDER BY device_id', [scope.storeId]);
    return rows.map(toDevice);
  }

  async getDevice(storeId: string, deviceId: string): Promise<DeviceRow | undefined> {
    const rows = await this.db.all('SELECT * FROM devices WHERE store_id = ? AND device_id = ?', [storeId, deviceId]);
    return rows.length ? toDevice(rows[0]) : undefined;
  }

  async setTags(storeId: string, deviceId: string, tags: string[]): Promise<boolean> {
    return (await this.db.run('UPDATE devices SET tags = ? WHERE store_id = ? AND device_id = ?', [json(tags), storeId, deviceId])) === 1;
  }

  async telemetry(storeId: string, deviceId: string, since: number, limit: number): Promise<Row[]> {
    const rows = await this.db.all(
      `SELECT ts, received_at, interval_s, fps, latency_p50_ms, latency_p95_ms, dropped_frames, processed_frames, uptime_s,
              rss_bytes, cpu_load, models, system_metrics, device_ts
       FROM metrics WHERE store_id = ? AND device_id = ? AND ts >= ? ORDER BY ts DESC LIMIT ?`,
      [storeId, deviceId, since, limit],
    );
    return rows.map((r) => ({
      ts: num(r.ts),
      /** What the device's clock said (differs from `ts` when it was ahead of the fleet's). */
      deviceTs: numOrNull(r.device_ts),
      receivedAt: num(r.received_at),
      intervalS: num(r.interval_s),
      fps: num(r.fps),
      latencyP50Ms: num(r.latency_p50_ms),
      latencyP95Ms: num(r.latency_p95_ms),
      droppedFrames: num(r.dropped_frames),
      processedFrames: num(r.processed_frames),
      uptimeS: num(r.uptime_s),
      rssBytes: num(r.rss_bytes),
      cpuLoad: numOrNull(r.cpu_load),
      models: parseJson(r.models, {}),
      system: parseJson<SystemMetricsMessage | null>(r.system_metrics, null),
    }));
  }

  async storeIds(scope: StoreScope = {}): Promise<Array<{ storeId: string; devices: number; online: number }>> {
    const where = scope.storeId === undefined ? '' : 'WHERE store_id = ?';
    const rows = await this.db.all(
      `SELECT store_id, COUNT(*) AS devices, SUM(CASE WHEN state = 'online' THEN 1 ELSE 0 END) AS online
       FROM devices ${where} GROUP BY store_id ORDER BY store_id`,
      scope.storeId === undefined ? [] : [scope.storeId],
    );
    return rows.map((r) => ({ storeId: String(r.store_id), devices: num(r.devices), online: num(r.online) }));
  }

  async storeStats(storeId: string, from: number, to: number, top = 10): Promise<StoreStats> {
    const range = 'store_id = ? AND ts >= ? AND ts < ? AND type = ?';
    const of = (type: EventType): SqlValue[] => [storeId, from, to, type];
    const s = await this.db.all(
      `SELECT COUNT(*) AS n, COALESCE(SUM(dwell_ms), 0) AS total, AVG(dwell_ms) AS avg, MAX(dwell_ms) AS max FROM events WHERE ${range}`,
      of('session.end'),
    );
    const tried = await this.db.all(
      `SELECT product_id, COUNT(*) AS n FROM events WHERE ${range} AND product_id IS NOT NULL
       GROUP BY product_id ORDER BY n DESC, product_id LIMIT ?`,
      [...of('product.tried'), top],
    );
    // A saved look names its products as one comma-separated field: counted here, per product.
    const looks = await this.db.all(`SELECT data FROM events WHERE ${range}`, of('look.saved'));
    const saved = new Map<string, number>();
    for (const r of looks) {
      const ids = parseJson<{ productIds?: unknown }>(r.data, {}).productIds;
      if (typeof ids !== 'string') continue;
      for (const id of new Set(ids.split(',').filter(Boolean))) saved.set(id, (saved.get(id) ?? 0) + 1);
    }
    return {
      storeId,
      from,
      to,
      sessions: num(s[0].n),
      dwell: { totalMs: num(s[0].total), avgMs: numOrNull(s[0].avg), maxMs: numOrNull(s[0].max) },
      productsTried: tried.map((r) => ({ productId: String(r.product_id), count: num(r.n) })),
      productsSaved: [...saved]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, top)
        .map(([productId, count]) => ({ productId, count })),
      looksSaved: looks.length,
    };
  }
}
