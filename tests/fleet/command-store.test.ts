/**
 * The fleet's command records on SQLite always and on PostgreSQL when reachable: a command row,
 * its result applied exactly once (a redelivered or second instance's copy changes nothing), the
 * per-device listing; and the command API's refusals before anything is signed or sent (roles,
 * a manager's store, arguments naming the field, an unknown device, commands without MQTT).
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '../../fleet/protocol/commands.ts';
import { pgRequired, startFleet, type TestService } from './support.ts';

const PG = await pgRequired();

const keyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'cmd-key-')), 'k.pem');
writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));

function command(fields: Partial<Command> = {}): Command {
  return {
    v: 1,
    id: randomUUID(),
    name: 'logs',
    args: { lines: 10 },
    storeId: 's1',
    deviceId: 'm1',
    issuedAt: 1000,
    expiresAt: 61_000,
    nonce: 'n'.repeat(22),
    issuedBy: 'op',
    keyId: 'k',
    signature: 'AA==',
    ...fields,
  };
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !PG)(`command records on ${kind}`, () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startFleet(kind, { commands: { privateKeyFile: keyFile } }, { mqtt: false });
    });
    afterAll(async () => svc?.stop());

    it('stores a command and applies its first result only', async () => {
      const repo = svc.commands.repo;
      const c = command();
      await repo.insert(c);
      expect(await repo.get(c.id)).toMatchObject({ id: c.id, name: 'logs', args: { lines: 10 }, issuedBy: 'op', status: 'sent', output: null, resultAt: null });
      const result = { v: 1 as const, commandId: c.id, name: 'logs' as const, storeId: 's1', deviceId: 'm1', ts: 5, status: 'ok' as const };
      // A result naming another device does not touch it.
      expect(await repo.applyResult({ ...result, deviceId: 'm2' }, null, 6)).toBe(false);
      expect(await repo.applyResult(result, { lines: ['a'], truncated: false }, 7)).toBe(true);
      expect(await repo.applyResult({ ...result, status: 'refused', reason: 'replayed' }, null, 8)).toBe(false);
      expect(await repo.get(c.id)).toMatchObject({ status: 'ok', reason: null, output: { lines: ['a'], truncated: false }, resultAt: 7 });
      const refused = command({ issuedAt: 2000 });
      await repo.insert(refused);
      await repo.applyResult({ ...result, commandId: refused.id, status: 'refused', reason: 'wrong-target', field: 'storeId', error: 'storeId: no' }, null, 9);
      const list = await repo.listForDevice('s1', 'm1', 10);
      expect(list.map((r) => r.id)).toEqual([refused.id, c.id]);
      expect(list[0]).toMatchObject({ status: 'refused', reason: 'wrong-target', field: 'storeId', error: 'storeId: no' });
      expect(await repo.listForDevice('s1', 'm2', 10)).toEqual([]);
    });

    it('a command past its expiry with no result is marked unanswered once, audited, and a late result still lands', async () => {
      const repo = svc.commands.repo;
      const stale = command({ issuedAt: 10, expiresAt: 20, issuedBy: 'night-op' });
      const live = command({ issuedAt: Date.now(), expiresAt: Date.now() + 60_000 });
      await repo.insert(stale);
      await repo.insert(live);
      expect(await svc.commands.sweep()).toBeGreaterThanOrEqual(1);
      expect(await svc.commands.sweep()).toBe(0);
      expect((await repo.get(stale.id))?.status).toBe('unanswered');
      expect((await repo.get(live.id))?.status).toBe('sent');
      const audit = (await svc.api('GET', '/api/audit?action=command.result')).body.audit as Array<{ actor: string; detail: { commandId: string; status: string } }>;
      expect(audit.filter((a) => a.detail.commandId === stale.id)).toEqual([expect.objectContaining({ actor: 'night-op', detail: expect.objectContaining({ status: 'unanswered' }) })]);
      // The mirror's answer, queued through an outage, arrives after all.
      const late = { v: 1 as const, commandId: stale.id, name: 'logs' as const, storeId: 's1', deviceId: 'm1', ts: 30, status: 'ok' as const };
      expect(await repo.applyResult(late, { lines: [], truncated: false }, 40)).toBe(true);
      expect((await repo.get(stale.id))?.status).toBe('ok');
    });

    it('the API refuses before signing: bad args (field named), roles and stores, unknown devices, no MQTT', async () => {
      // The device as the ingest would have recorded it from its birth message.
      await svc.store.messages.ingestStatus('s1', { v: 1, state: 'online', storeId: 's1', deviceId: 'm1', connectionSeq: 1, ts: 1, firmwareVersion: '1', models: {} }, 1);
      const bad = await svc.api('POST', '/api/devices/s1/m1/commands', { name: 'logs', args: { lines: 0 } });
      expect(bad).toMatchObject({ status: 400, body: { error: { field: 'args.lines' } } });
      const unknownArg = await svc.api('POST', '/api/devices/s1/m1/commands', { name: 'restart', args: { now: true } });
      expect(unknownArg).toMatchObject({ status: 400, body: { error: { field: 'args.now' } } });
      expect((await svc.api('POST', '/api/devices/s1/m1/commands', { name: 'reboot' })).status).toBe(400);
      expect((await svc.api('POST', '/api/devices/s1/nobody/commands', { name: 'self-test' })).status).toBe(404);
      // Signed and valid, but this service runs without MQTT: nothing is recorded or sent.
      const noMqtt = await svc.api('POST', '/api/devices/s1/m1/commands', { name: 'self-test' });
      expect(noMqtt).toMatchObject({ status: 409, body: { error: { code: 'FLEET_ERR_CONFLICT' } } });
      expect(noMqtt.body.error.message).toMatch(/MQTT/);

      await svc.api('POST', '/api/users', { username: 'mgr-s1', password: 'manager-password-1', role: 'manager', storeId: 's1' });
      const mgr = (await svc.api('POST', '/api/login', { username: 'mgr-s1', password: 'manager-password-1' }, null)).body.token as string;
      expect((await svc.api('POST', '/api/devices/s1/m1/commands', { name: 'logs' }, mgr)).status).toBe(403);
      expect((await svc.api('POST', '/api/devices/s2/m1/commands', { name: 'self-test' }, mgr)).status).toBe(403);
      const c = command();
      await svc.commands.repo.insert(c);
      expect((await svc.api('GET', `/api/commands/${c.id}`, undefined, mgr)).status).toBe(200);
      const other = command({ storeId: 's2' });
      await svc.commands.repo.insert(other);
      expect((await svc.api('GET', `/api/commands/${other.id}`, undefined, mgr)).status).toBe(404);
      expect((await svc.api('GET', '/api/devices/s2/m1/commands', undefined, mgr)).status).toBe(403);
      expect((await svc.api('POST', '/api/devices/s1/m1/commands', { name: 'self-test' }, null)).status).toBe(401);
    });
  });
}
