/**
 * Two rollout engines (two service instances) on one database evaluating the same settled wave at
 * the same moment, as happens when a device report reaches one instance while the other ticks:
 * the next wave opens once and each of its jobs is offered once (the wave move is a conditional
 * write). Real engines on the real stores, each instance with its own PostgreSQL pool (and, on
 * SQLite, which one process opens, sharing the connection); offers captured where they would go
 * to the broker.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../fleet/service/rollouts/artifacts.ts';
import { RolloutEngine } from '../../fleet/service/rollouts/engine.ts';
import type { FleetStore } from '../../fleet/service/store/fleet-store.ts';
import { openTestStore, storeConfigOrSkip, type TestStoreConfig } from './support.ts';

const STORE = 'twin-store';
const ARTIFACT = { id: 'mesh-twin', kind: 'model' as const, name: 'face-mesh', version: '2.0.0', size: 1000, sha256: 'a'.repeat(64), signature: 'c2ln', keyId: 'k' };
const ROUNDS = 6;

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`two engines on one ${kind} database`, () => {
    /** Undefined where PostgreSQL is skipped (storeConfigOrSkip). */
    let cfg: TestStoreConfig | undefined;
    let dir: string;
    const stores: FleetStore[] = [];
    const engines: RolloutEngine[] = [];
    const offers: string[] = [];
    const opened: Array<{ rolloutId: string; wave: number }> = [];

    beforeAll(async () => {
      const made = await storeConfigOrSkip(kind);
      if (!made) return;
      cfg = made;
      dir = await mkdtemp(path.join(os.tmpdir(), 'fleet-twins-'));
      const open = () => openTestStore(made);
      stores.push(await open());
      stores.push(kind === 'postgres' ? await open() : stores[0]);
      const log = { info: (o: object, msg?: string) => msg === 'wave opened' && opened.push(o as (typeof opened)[number]), warn: () => {}, error: () => {} };
      for (const store of stores) {
        engines.push(
          new RolloutEngine({
            store,
            artifacts: new ArtifactStore(store, dir, new Map()),
            publish: async (topic) => void (topic.endsWith('/update/offer') && offers.push(topic)),
            log,
            config: { stuckTimeoutS: 600, tickMs: 1000, failureThreshold: 0.05, minDevicesDone: 10, waveGrowth: 2, watchSeconds: 60 },
            downloadSecret: 'x'.repeat(32),
          }),
        );
      }
      await stores[0].artifacts.putArtifact({ ...ARTIFACT, file: path.join(dir, 'a.bin'), uploadedBy: 'test', uploadedAt: Date.now() });
    });
    afterAll(async () => {
      for (const s of new Set(stores)) await s.close();
      await cfg?.cleanup();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it(`${ROUNDS} rollouts: both engines evaluate the settled canary at once, wave 1 opens once, its jobs offered once`, async ({ skip: skipTest }) => {
      if (!cfg) return skipTest();
      const [a, b] = engines;
      for (let round = 0; round < ROUNDS; round++) {
        const devices = ['d1', 'd2', 'd3'].map((d) => `r${round}-${d}`);
        for (const [i, deviceId] of devices.entries()) {
          const status = { v: 1 as const, state: 'online' as const, deviceId, storeId: STORE, connectionSeq: round * 10 + i + 1, ts: Date.now(), firmwareVersion: '1', models: { 'face-mesh': '1.0.0' } };
          await stores[0].messages.ingestStatus(STORE, status, Date.now());
        }
        // Canary of 1, then a wave of 2.
        const r = await a.create({ artifactId: ARTIFACT.id, selector: { devices: devices.map((d) => `${STORE}/${d}`) }, options: { canaryPercent: 30 } }, 'test');
        expect(r.waves).toBe(2);
        const [canary] = await stores[0].rollouts.jobs(r.id, 0);
        // The canary is done (committed and seen serving: the report path is rollout-thresholds'), nobody has evaluated yet.
        await stores[0].rollouts.updateJob(canary.jobId, { outcome: 'succeeded', state: 'committed', servingVersion: ARTIFACT.version }, Date.now());
        const before = offers.length;
        await Promise.all([a.tick(), b.tick()]);
        expect((await stores[1].rollouts.getRollout(r.id))?.wave).toBe(1);
        expect(offers.length - before, `round ${round}: offers for wave 1`).toBe(2);
        expect(opened.filter((o) => o.rolloutId === r.id && o.wave === 1), `round ${round}`).toHaveLength(1);
      }
    });
  });
}
