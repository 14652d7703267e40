/**
 * Devices and their telemetry.
 */
import type { SystemMetricsMessage } from '../../protocol/schemas.ts';
import { num, numOrNull, type Row, type SqlDriver } from './driver.ts';
import { json, parseJson, toDevice, type DeviceRow, type StoreScope } from './rows.ts';

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
}
