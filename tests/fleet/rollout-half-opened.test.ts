/**
 * An instance that stops half-way through opening a wave (killed between moving the wave and
 * offering its jobs, or a publish that fails there) must not wedge the rollout: the wave has
 * moved, so no instance would open it again, and its unoffered jobs stay `pending`, which no
 * timeout covers. The ticking instance offers them once the wave has been open longer than the
 * stuck timeout, each job once. Real engines on the real stores; offers captured where they
 * would go to the broker.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../fleet/service/rollouts/artifacts.ts';
import { RolloutEngine } from '../../fleet/service/rollouts/engine.ts';
import type { FleetStore } from '../../fleet/service/store/fleet-store.ts';
import { openTestStore, storeConfigOrSkip, type TestStoreConfig } from './support.ts';

const STORE = 'half-store';
const ARTIFACT = { id: 'mesh-half', kind: 'model' as const, name: 'face-mesh', version: '2.0.0', size: 1000, sha256: 'b'.repeat(64), signature: 'c2ln', keyId: 'k' };
const STUCK_S = 600;
const CONFIG = { stuckTimeoutS: STUCK_S, tickMs: 1000, failureThreshold: 0.05, minDevicesDone: 10, waveGrowth: 2, watchSeconds: 60 };

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`a wave half-opened by an instance that stopped (${kind})`, () => {
    let cfg: TestStoreConfig | undefined;
    let dir: string;
    const stores: FleetStore[] = [];
    /** Offers per job id, from either engine. */
    const offers: string[] = [];
    const warnings: string[] = [];
    /** The first engine's broker fails after this many offers (the instance "dies" mid-wave). */
    let failAfter = Infinity;
    /** The survivor's clock runs ahead by this much (the time that passed since). */
    let ahead = 0;
    let opener: RolloutEngine;
    let survivor: RolloutEngine;

    beforeAll(async () => {
      const made = await storeConfigOrSkip(kind);
      if (!made) return;
      cfg = made;
      dir = await mkdtemp(path.join(os.tmpdir(), 'fleet-half-'));
      stores.push(await openTestStore(made));
      stores.push(kind === 'postgres' ? await openTestStore(made) : stores[0]);
      const record = (topic: string, payload: Buffer) => {
        if (topic.endsWith('/update/offer')) offers.push((JSON.parse(payload.toString()) as { jobId: string }).jobId);
      };
      const log = { info: () => {}, warn: (_o: object, msg?: string) => void warnings.push(msg ?? ''), error: () => {} };
      const common = { artifacts: new ArtifactStore(stores[0], dir, new Map()), log, config: CONFIG, downloadSecret: 'x'.repeat(32) };
      opener = new RolloutEngine({
        ...common,
        store: stores[0],
        publish: async (topic, payload) => {
          if (topic.endsWith('/update/offer') && offers.length >= failAfter) throw new Error('broker connection lost');
          record(topic, payload);
        },
      });
      survivor = new RolloutEngine({ ...common, store: stores[1], publish: async (topic, payload) => record(topic, payload), now: () => Date.now() + ahead });
      await stores[0].artifacts.putArtifact({ ...ARTIFACT, file: path.join(dir, 'a.bin'), uploadedBy: 'test', uploadedAt: Date.now() });
    });
    afterAll(async () => {
      for (const s of new Set(stores)) await s.close();
      await cfg?.cleanup();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('the survivor offers the jobs left pending once the stuck timeout has passed, each once, and the rollout completes', async ({ skip: skipTest }) => {
      if (!cfg) return skipTest();
      const store = stores[1];
      const devices = ['d1', 'd2', 'd3'];
      for (const [i, deviceId] of devices.entries()) {
        const status = { v: 1 as const, state: 'online' as const, deviceId, storeId: STORE, connectionSeq: i + 1, ts: Date.now(), firmwareVersion: '1', models: { 'face-mesh': '1.0.0' } };
        await store.messages.ingestStatus(STORE, status, Date.now());
      }
      // Canary of 1, then a wave of 2.
      const r = await opener.create({ artifactId: ARTIFACT.id, selector: { devices: devices.map((d) => `${STORE}/${d}`) }, options: { canaryPercent: 30 } }, 'test');
      expect(r.waves).toBe(2);
      const succeed = async (jobId: string) => store.rollouts.updateJob(jobId, { outcome: 'succeeded', state: 'committed', servingVersion: ARTIFACT.version }, Date.now() + ahead);
      await succeed((await store.rollouts.jobs(r.id, 0))[0].jobId);

      // The opener moves to wave 1, offers its first job, and its broker fails on the second.
      failAfter = offers.length + 1;
      await expect(opener.tick()).rejects.toThrow('broker connection lost');
      const wave1 = await store.rollouts.jobs(r.id, 1);
      expect((await store.rollouts.getRollout(r.id))?.wave).toBe(1);
      expect(wave1.map((j) => j.outcome).sort()).toEqual(['offered', 'pending']);
      const [first] = wave1.filter((j) => j.outcome === 'offered');
      const [left] = wave1.filter((j) => j.outcome === 'pending');
      await succeed(first.jobId);

      // Within the stuck timeout the opener may still be at it: nobody else offers.
      ahead = (STUCK_S - 5) * 1000;
      await survivor.tick();
      expect(offers.filter((id) => id === left.jobId)).toHaveLength(0);
      expect(warnings).not.toContain('wave resumed: its opener stopped before offering every job');

      // Past it, the ticking instance offers what was left, once.
      ahead = (STUCK_S + 5) * 1000;
      await survivor.tick();
      await survivor.tick();
      expect(offers.filter((id) => id === left.jobId)).toHaveLength(1);
      expect(offers.filter((id) => id === first.jobId)).toHaveLength(1);
      expect(warnings.filter((w) => w === 'wave resumed: its opener stopped before offering every job')).toHaveLength(1);
      expect((await store.rollouts.jobs(r.id, 1)).find((j) => j.jobId === left.jobId)?.outcome).toBe('offered');

      await succeed(left.jobId);
      await survivor.tick();
      expect((await store.rollouts.getRollout(r.id))?.status).toBe('completed');
    });
  });
}
