/**
 * A fleet database created before `system_metrics` existed (schema version 1) gets the column on
 * start-up; its old rows read `system: null` and new metrics with `system` are stored.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MetricsMessage } from '../../fleet/protocol/schemas.ts';
import { FleetStore } from '../../fleet/service/store/fleet-store.ts';
import { SCHEMA_SQL, SCHEMA_VERSION } from '../../fleet/service/store/schema.ts';
import { openSqlite } from '../../fleet/service/store/sqlite.ts';

const metrics = (over: Partial<MetricsMessage> = {}): MetricsMessage => ({
  v: 1,
  msgId: randomUUID(),
  deviceId: 'mirror-1',
  ts: Date.now(),
  intervalS: 10,
  fps: 30,
  latencyP50Ms: 20,
  latencyP95Ms: 30,
  droppedFrames: 0,
  processedFrames: 100,
  backends: {},
  models: { mesh: '1.0.0' },
  uptimeS: 5,
  rssBytes: 1000,
  ...over,
});

describe('fleet store schema migration', () => {
  it('a version-1 SQLite database gains system_metrics; old rows read null, new ones keep `system`', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fleet-migrate-'));
    const file = path.join(dir, 'fleet.db');
    try {
      // The version-1 tables: today's DDL without the columns added since.
      const v1 = openSqlite(file);
      await v1.exec(SCHEMA_SQL.replace(/,\n\s*system_metrics TEXT/g, ''));
      await v1.run("INSERT INTO fleet_meta (key, value) VALUES ('schema_version', '1')");
      const old = new FleetStore(v1);
      await expect(v1.all('SELECT system_metrics FROM metrics')).rejects.toThrow();
      // Ingest on the old layout is what version 1 did; write a row the way it did.
      await v1.run(
        `INSERT INTO metrics (msg_id, store_id, device_id, ts, received_at, interval_s, fps, latency_p50_ms, latency_p95_ms,
           dropped_frames, processed_frames, uptime_s, rss_bytes, cpu_load, models) VALUES (?, 's1', 'mirror-1', 1, 1, 10, 30, 20, 30, 0, 1, 1, 1, NULL, '{}')`,
        [randomUUID()],
      );
      await v1.run("INSERT INTO devices (store_id, device_id, first_seen, last_seen) VALUES ('s1', 'mirror-1', 1, 1)");
      await old.close();

      const store = new FleetStore(openSqlite(file));
      await store.init();
      await store.init(); // idempotent
      try {
        expect((await store.devices.getDevice('s1', 'mirror-1'))?.system).toBeNull();
        expect((await store.devices.telemetry('s1', 'mirror-1', 0, 10))[0]).toMatchObject({ system: null });
        const system = { cpuLoad: 0.3, temperaturesC: { x86_pkg_temp: 55 } };
        await store.messages.ingestMetrics('s1', metrics({ system }), Date.now());
        expect((await store.devices.getDevice('s1', 'mirror-1'))?.system).toEqual(system);
        expect((await store.devices.telemetry('s1', 'mirror-1', 0, 10))[0]).toMatchObject({ system });
        const meta = await store.db.all("SELECT value FROM fleet_meta WHERE key = 'schema_version'");
        expect(meta[0].value).toBe(String(SCHEMA_VERSION));
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
