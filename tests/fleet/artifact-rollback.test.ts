/**
 * Issue 13 item 5, fleet side: a signed rollback (`fleet sign --rollback-from`) survives the fleet
 * service. Its `rollbackFrom` is stored (the `rollback_from` column, added to a database created
 * before it existed) and offered unchanged, so the device's signature check and downgrade rule
 * see exactly what the operator signed; a tampered `rollbackFrom` is refused on upload.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, signArtifact } from '../../fleet/cli/signing.ts';
import { checkSignature, parsePublicKey } from '../../fleet/protocol/signing.ts';
import { startMosquitto } from '../../fleet/sim/broker.ts';
import { SimDevice } from '../../fleet/sim/device-sim.ts';
import { openPostgres } from '../../fleet/service/store/postgres.ts';
import { SCHEMA_SQL } from '../../fleet/service/store/schema.ts';
import { openSqlite } from '../../fleet/service/store/sqlite.ts';
import { makeStoreConfig, pgRequired, startFleet, until, uploadArtifact, type TestStoreConfig } from './support.ts';

const key = generateSigningKey();
const trusted = new Map([['release', parsePublicKey(key.publicKeyRaw)]]);

/** A store laid out as before `rollback_from` (schema version 3), holding one plain artifact. */
async function olderStore(cfg: TestStoreConfig): Promise<void> {
  const { sqlitePath, databaseUrl, databaseSchema } = cfg.config;
  const db = databaseUrl ? await openPostgres({ url: databaseUrl, schema: databaseSchema }) : openSqlite(sqlitePath!);
  try {
    const v3 = SCHEMA_SQL.replace(/\n\s*rollback_from TEXT,/, '');
    expect(v3).not.toContain('rollback_from');
    await db.exec(v3);
    await db.exec("INSERT INTO fleet_meta (key, value) VALUES ('schema_version', '3')");
    await db.run(
      `INSERT INTO artifacts (id, kind, name, version, size, sha256, signature, key_id, file, uploaded_by, uploaded_at)
       VALUES ('old-mesh', 'model', 'face-mesh', '2026.9.1', 1, ?, 'AAAA', 'release', '/nowhere', 'admin', 1)`,
      ['0'.repeat(64)],
    );
  } finally {
    await db.close();
  }
}

describe.each(['sqlite', 'postgres'] as const)('a signed rollback through the fleet service (%s)', (kind) => {
  it('is stored on an older database, offered with rollbackFrom intact, and still verifies; a tampered one is refused', async (ctx) => {
    if (kind === 'postgres' && !(await pgRequired())) return ctx.skip();
    const cfg = await makeStoreConfig(kind);
    await olderStore(cfg);
    const broker = await startMosquitto();
    const svc = await startFleet(kind, { ...cfg.config, mqtt: { url: broker.url }, trustedKeys: { release: key.publicKeyPem }, rollouts: { tickMs: 50 } });
    const device = new SimDevice({ url: broker.url, storeId: 'store-rb', deviceId: 'mirror-rb', models: { 'face-mesh': '2026.9.3' } });
    try {
      // The row from before the migration reads as a plain artifact.
      const old = (await svc.api('GET', '/api/artifacts/old-mesh')).body.artifact;
      expect(old.version).toBe('2026.9.1');
      expect(old).not.toHaveProperty('rollbackFrom');

      const bytes = randomBytes(4096);
      const meta = signArtifact(bytes, { id: 'mesh-back', kind: 'model', name: 'face-mesh', version: '2026.9.2', keyId: 'release', rollbackFrom: '2026.9.3' }, key.privateKeyPem);
      expect(meta.rollbackFrom).toBe('2026.9.3');

      // Tampered on the way in: a later floor, or the rollback stripped off. Neither verifies.
      for (const forged of [{ ...meta, rollbackFrom: '2026.9.9' }, (({ rollbackFrom: _r, ...plain }) => plain)(meta)]) {
        const res = await uploadArtifact(svc, bytes, forged);
        expect(res.status).toBe(422);
        expect(res.body.error).toMatchObject({ code: 'FLEET_ERR_ARTIFACT_REJECTED', reason: 'bad-signature', field: 'signature' });
      }
      expect((await svc.api('GET', '/api/artifacts/mesh-back')).status).toBe(404);

      const up = await uploadArtifact(svc, bytes, meta);
      expect(up.status).toBe(201);
      expect(up.body.artifact.rollbackFrom).toBe('2026.9.3');
      expect((await svc.api('GET', '/api/artifacts/mesh-back')).body.artifact.rollbackFrom).toBe('2026.9.3');

      await device.start();
      await until(async () => (await svc.store.devices.getDevice('store-rb', 'mirror-rb'))?.state === 'online');
      expect((await svc.api('POST', '/api/rollouts', { artifactId: meta.id, selector: {} })).status).toBe(201);
      const offer = await until(() => device.offers[0]);
      // Exactly what was signed, nothing added or dropped, and the protocol's own check passes.
      expect(offer.artifact).toEqual(meta);
      expect(checkSignature(offer.artifact, trusted)).toEqual({ ok: true });
    } finally {
      await device.client?.endAsync(true).catch(() => undefined);
      await svc.stop();
      await broker.stop();
      await cfg.cleanup();
    }
  });
});
