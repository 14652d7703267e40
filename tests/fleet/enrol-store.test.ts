/**
 * Enrolment state on both stores (SQLite always, PostgreSQL when reachable): a token is spent
 * once even when many requests race for it; unknown, used and expired tokens are told apart; a
 * revocation marks the device's certificates and the CRL query lists them until they expire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnrolRepo } from '../../fleet/service/enrol/enrol-repo.ts';
import type { FleetStore } from '../../fleet/service/store/fleet-store.ts';
import { openTestStore, storeConfigOrSkip, type TestStoreConfig } from './support.ts';

const T0 = 1_800_000_000_000;
const HOUR = 3_600_000;

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`enrolment store (${kind})`, () => {
    /** Undefined where PostgreSQL is skipped (storeConfigOrSkip). */
    let cfg: TestStoreConfig | undefined;
    let store: FleetStore;
    let repo: EnrolRepo;

    beforeAll(async () => {
      const made = await storeConfigOrSkip(kind);
      if (!made) return;
      cfg = made;
      store = await openTestStore(made);
      repo = new EnrolRepo(store.db);
    });
    afterAll(async () => {
      await store?.close();
      await cfg?.cleanup();
    });

    let serial = 0;
    const issue = async (t: { storeId: string; deviceId: string }) => ({
      serial: `${kind}-${++serial}`,
      storeId: t.storeId,
      deviceId: t.deviceId,
      notBefore: T0,
      notAfter: T0 + 24 * HOUR,
    });

    it('twelve requests racing for one token: exactly one certificate', async ({ skip: skipTest }) => {
      if (!cfg) return skipTest();
      await repo.addToken('h-race', { storeId: 's1', deviceId: 'd1', createdBy: 'op', createdAt: T0, expiresAt: T0 + HOUR });
      const results = await Promise.all(Array.from({ length: 12 }, () => repo.spendToken('h-race', T0 + 1000, issue)));
      const won = results.filter((r) => typeof r !== 'string');
      expect(won).toHaveLength(1);
      expect(results.filter((r) => r === 'used')).toHaveLength(11);
      expect(await repo.deviceCerts('s1', 'd1')).toHaveLength(1);
      expect((await repo.getToken('h-race'))?.usedAt).toBe(T0 + 1000);
    });

    it('unknown, expired and used tokens are told apart', async ({ skip: skipTest }) => {
      if (!cfg) return skipTest();
      expect(await repo.spendToken('h-none', T0, issue)).toBe('unknown');
      await repo.addToken('h-old', { storeId: 's1', deviceId: 'd2', createdBy: 'op', createdAt: T0, expiresAt: T0 + HOUR });
      expect(await repo.spendToken('h-old', T0 + HOUR, issue)).toBe('expired');
      expect(await repo.spendToken('h-race', T0 + 2000, issue)).toBe('used');
    });

    it('a failed issue leaves the token unspent', async ({ skip: skipTest }) => {
      if (!cfg) return skipTest();
      await repo.addToken('h-fail', { storeId: 's1', deviceId: 'd3', createdBy: 'op', createdAt: T0, expiresAt: T0 + HOUR });
      await expect(repo.spendToken('h-fail', T0 + 1, () => Promise.reject(new Error('CA down')))).rejects.toThrow('CA down');
      expect((await repo.getToken('h-fail'))?.usedAt).toBeNull();
      expect(typeof (await repo.spendToken('h-fail', T0 + 2, issue))).toBe('object');
    });

    it('revocation lists the device\'s certificates in the CRL until they expire', async ({ skip: skipTest }) => {
      if (!cfg) return skipTest();
      const serials = await repo.revokeDevice('s1', 'd1', 'op', 'stolen', T0 + HOUR);
      expect(serials).toHaveLength(1);
      expect(await repo.revokeDevice('s1', 'd1', 'op', 'again', T0 + HOUR)).toEqual([]);
      expect(await repo.revokedUnexpired(T0 + 2 * HOUR)).toEqual([{ serial: serials[0], revokedAt: T0 + HOUR }]);
      // d3's certificate is not revoked; once d1's expires it leaves the CRL.
      expect(await repo.revokedUnexpired(T0 + 25 * HOUR)).toEqual([]);
      expect((await repo.deviceCerts('s1', 'd1'))[0]).toMatchObject({ revokedAt: T0 + HOUR, revokedBy: 'op' });
    });
  });
}
