/**
 * The operator CLI's `stores` and `stats`: the same figures the dashboard shows, in the store's
 * time zone, through the same API and the same store scope (a manager's token gets only their store).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../fleet/cli/cli.ts';
import { eventsTopic, statusTopic } from '../../fleet/protocol/topics.ts';
import { startFleet, type TestService } from './support.ts';

describe('fleet CLI: stores and stats', () => {
  let svc: TestService;
  let managerToken: string;

  const cli = async (argv: string[], token = svc.token) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s), env: { FLEET_URL: svc.url, FLEET_TOKEN: token } });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const event = (storeId: string, type: string, data: Record<string, unknown>) =>
    svc.ingest.handle(eventsTopic({ storeId, deviceId: 'm1' }), Buffer.from(JSON.stringify({ v: 1, msgId: randomUUID(), deviceId: 'm1', ts: Date.now(), type, data })));

  beforeAll(async () => {
    svc = await startFleet('sqlite', {}, { mqtt: false });
    for (const storeId of ['paris-01', 'berlin-03']) {
      await svc.ingest.handle(
        statusTopic({ storeId, deviceId: 'm1' }),
        Buffer.from(JSON.stringify({ v: 1, state: 'online', deviceId: 'm1', storeId, connectionSeq: 1, ts: Date.now(), firmwareVersion: '1', models: { mesh: '1' } })),
      );
    }
    await svc.api('PUT', '/api/stores/paris-01/settings', { timeZone: 'Europe/Paris', name: 'Paris Opéra' });
    // One session whose session.start never reached the fleet, one complete with a saved look.
    const [a, b] = [randomUUID(), randomUUID()];
    await event('paris-01', 'product.tried', { sessionId: a, productId: 'lip-ruby' });
    await event('paris-01', 'session.start', { sessionId: b });
    await event('paris-01', 'product.tried', { sessionId: b, productId: 'lip-ruby' });
    await event('paris-01', 'look.saved', { sessionId: b, lookId: 'look-1', products: 1, productIds: 'lip-ruby' });
    await event('paris-01', 'session.end', { sessionId: b, dwellMs: 64_000, productsTried: 1, looksSaved: 1, reason: 'idle' });
    await svc.api('POST', '/api/users', { username: 'claire', password: 'claire-password-1', role: 'manager', storeId: 'paris-01' });
    managerToken = (await svc.api('POST', '/api/login', { username: 'claire', password: 'claire-password-1' }, null)).body.token;
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('`stores` lists every store with its time zone; a manager sees only theirs', async () => {
    const all = await cli(['stores']);
    expect(all.code, all.err).toBe(0);
    const lines = all.out.split('\n');
    expect(lines[0]).toMatch(/^store +name +time zone +devices +online$/);
    expect(lines.find((l) => l.startsWith('paris-01'))).toMatch(/^paris-01 +Paris Opéra +Europe\/Paris +1 +1$/);
    expect(lines.find((l) => l.startsWith('berlin-03'))).toMatch(/^berlin-03 +- +UTC +1 +1$/);
    const mine = await cli(['stores', '--json'], managerToken);
    expect(JSON.parse(mine.out).stores.map((s: any) => s.storeId)).toEqual(['paris-01']);
  });

  it('`stats` prints sessions, conversion, median dwell and top products for the last days', async () => {
    const s = await cli(['stats', 'paris-01', '--days', '1']);
    expect(s.code, s.err).toBe(0);
    expect(s.out).toMatch(/\(Europe\/Paris\)/);
    expect(s.out).toContain('sessions 2   tried a product 2   saved a look 1   try-to-save 50%');
    expect(s.out).toContain('median dwell 64 s (of 1 ended sessions)');
    expect(s.out).toContain('top tried  lip-ruby (2)');
    expect(s.out).toContain('top saved  lip-ruby (1)');
    const json = JSON.parse((await cli(['stats', 'paris-01', '--json'])).out);
    expect(json).toMatchObject({ storeId: 'paris-01', sessions: 2, sessionsTried: 2, timeZone: 'Europe/Paris' });
    expect(json.daily).toHaveLength(7);
  });

  it("`stats` for another store with a manager's token fails with the API's 403; a bad time exits 2", async () => {
    const r = await cli(['stats', 'berlin-03'], managerToken);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/403 FLEET_ERR_FORBIDDEN store "berlin-03" is not yours/);
    expect((await cli(['stats', 'paris-01', '--from', 'yesterday'])).code).toBe(2);
    expect((await cli(['stats'])).code).toBe(2);
  });
});
