/**
 * The rollout lease on both stores (SQLite always, PostgreSQL when reachable). On PostgreSQL each
 * instance has its own connection pool to one database, as separate service instances have; a
 * SQLite file is opened by one process only (exclusive locking), so there the instances share one
 * connection and the lease only has to be right, not contended. One holder at a time,
 * renewed by its holder only, taken over only after it expired, handed over at once on release;
 * instances racing for an expired lease: exactly one wins. And the Lease wrapper the engine uses
 * reports leading/following as the table says.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lease } from '../../fleet/service/lease.ts';
import { ArtifactStore } from '../../fleet/service/rollouts/artifacts.ts';
import { RolloutEngine } from '../../fleet/service/rollouts/engine.ts';
import type { LeasesRepo } from '../../fleet/service/store/leases-repo.ts';
import type { FleetStore } from '../../fleet/service/store/fleet-store.ts';
import { openTestStore, storeConfigOrSkip, type TestStoreConfig } from './support.ts';

const T0 = 1_800_000_000_000;
const TTL = 10_000;
const quiet = { info: () => {}, warn: () => {} };

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`rollout lease (${kind})`, () => {
    /** Undefined where PostgreSQL is skipped (storeConfigOrSkip). */
    let cfg: TestStoreConfig | undefined;
    /** One store (connection) per instance, all on the same database. */
    const instances: FleetStore[] = [];

    beforeAll(async () => {
      const made = await storeConfigOrSkip(kind);
      if (!made) return;
      cfg = made;
      const open = () => openTestStore(made);
      instances.push(await open());
      for (let i = 1; i < 8; i++) instances.push(kind === 'postgres' ? await open() : instances[0]);
    });
    afterAll(async () => {
      for (const s of new Set(instances)) await s.close();
      await cfg?.cleanup();
    });

    it('one holder until it expires; the holder renews, another takes over only after expiry or release', async ({ skip: skipTest }) => {
      if (!cfg) return skipTest();
      const [a, b] = instances.map((s) => s.leases);
      expect(await a.acquire('ticks', 'A', TTL, T0)).toBe(true);
      expect(await b.acquire('ticks', 'B', TTL, T0 + 1)).toBe(false);
      // A renews before expiry: B still cannot take it at A's first expiry.
      expect(await a.acquire('ticks', 'A', TTL, T0 + TTL - 1)).toBe(true);
      expect(await b.acquire('ticks', 'B', TTL, T0 + TTL)).toBe(false);
      expect(await a.get('ticks')).toEqual({ name: 'ticks', holder: 'A', acquiredAt: T0, expiresAt: T0 + 2 * TTL - 1 });
      // A stops renewing (it died): B takes over at the expiry, and A's late renewal fails.
      expect(await b.acquire('ticks', 'B', TTL, T0 + 2 * TTL - 1)).toBe(true);
      expect(await a.acquire('ticks', 'A', TTL, T0 + 2 * TTL)).toBe(false);
      expect(await a.get('ticks')).toMatchObject({ holder: 'B', acquiredAt: T0 + 2 * TTL - 1 });
      // Releasing someone else's lease does nothing; releasing one's own hands it over at once.
      await a.release('ticks', 'A');
      expect(await a.acquire('ticks', 'A', TTL, T0 + 2 * TTL + 1)).toBe(false);
      await b.release('ticks', 'B');
      expect(await a.acquire('ticks', 'A', TTL, T0 + 2 * TTL + 2)).toBe(true);
      // Another name is another lease.
      expect(await b.acquire('other', 'B', TTL, T0 + 2 * TTL + 2)).toBe(true);
    });

    it('eight instances racing for an expired lease: exactly one wins', async ({ skip: skipTest }) => {
      if (!cfg) return skipTest();
      for (let round = 0; round < 5; round++) {
        const at = T0 + 1_000_000 * (round + 1);
        const won = await Promise.all(instances.map((s, i) => s.leases.acquire('race', `I${i}`, TTL, at)));
        expect(won.filter(Boolean)).toHaveLength(1);
        expect((await instances[0].leases.get('race'))?.holder).toBe(`I${won.indexOf(true)}`);
      }
    });

    it('the Lease the engine holds: leading while it renews, following while another holds it', async ({ skip: skipTest }) => {
      if (!cfg) return skipTest();
      let now = T0 + 10_000_000;
      const logs: string[] = [];
      const log = { info: (_: object, msg?: string) => logs.push(`${msg}`), warn: quiet.warn };
      const a = new Lease(instances[0].leases, 'rollouts', 'svc-a', TTL, () => now, log);
      const b = new Lease(instances[1].leases, 'rollouts', 'svc-b', TTL, () => now, quiet);
      expect(await a.hold()).toBe(true);
      expect(await b.hold()).toBe(false);
      expect(a.status()).toEqual({ name: 'rollouts', holder: 'svc-a', leader: true, expiresAt: now + TTL });
      expect(b.status()).toMatchObject({ leader: false, expiresAt: null });
      now += TTL / 2;
      expect(await a.hold()).toBe(true);
      now += TTL - 1;
      expect(await b.hold()).toBe(false); // renewed half-way: still a's
      now += 1;
      expect(await b.hold()).toBe(true);
      expect(await a.hold()).toBe(false);
      expect(logs).toEqual(['lease taken: leading', 'lease lost: following']);
      await b.release();
      expect(await a.hold()).toBe(true);
    });

    it("the engine's stop hands the lease back even while a renewal is in flight", async ({ skip: skipTest }) => {
      if (!cfg) return skipTest();
      const repo = instances[0].leases;
      // The renewal's query is held until stop() has been called.
      let renewing: () => void = () => {};
      let inFlight = false;
      const slowRepo = Object.assign(Object.create(repo) as LeasesRepo, {
        acquire: async (...args: Parameters<LeasesRepo['acquire']>) => {
          inFlight = true;
          await new Promise<void>((resolve) => (renewing = resolve));
          return repo.acquire(...args);
        },
      });
      const lease = new Lease(slowRepo, 'stop-race', 'svc-stop', TTL, Date.now, quiet);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'fleet-lease-stop-'));
      const engine = new RolloutEngine({
        store: instances[0],
        artifacts: new ArtifactStore(instances[0], dir, new Map()),
        publish: async () => {},
        log: { info: () => {}, warn: () => {}, error: () => {} },
        config: { stuckTimeoutS: 600, tickMs: 5, failureThreshold: 0.05, minDevicesDone: 10, waveGrowth: 2, watchSeconds: 60 },
        downloadSecret: 'x'.repeat(32),
        lease,
      });
      engine.start();
      while (!inFlight) await new Promise((r) => setTimeout(r, 5));
      const stopped = engine.stop();
      renewing();
      await stopped;
      expect(await repo.get('stop-race')).toBeUndefined();
      expect(lease.status().leader).toBe(false);
      await rm(dir, { recursive: true, force: true });
    });
  });
}
