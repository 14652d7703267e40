/**
 * The dashboard API's access rules: nothing without a valid bearer token, a store manager sees
 * only their own store and cannot run rollouts, only admins add users, and every login (good or
 * bad) lands in the audit log. Runs without a broker: data goes in through the ingest handler.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsTopic, statusTopic, telemetryTopic } from '../../fleet/protocol/topics.ts';
import { startFleet, type TestService } from './support.ts';

describe('dashboard API authentication and store scope', () => {
  let svc: TestService;
  let manager: string;

  const feed = async (storeId: string, deviceId: string) => {
    const addr = { storeId, deviceId };
    const now = Date.now();
    const j = (o: unknown) => Buffer.from(JSON.stringify(o));
    await svc.ingest.handle(statusTopic(addr), j({ v: 1, state: 'online', deviceId, storeId, connectionSeq: 1, ts: now, firmwareVersion: '1', models: { mesh: '1' } }));
    await svc.ingest.handle(
      telemetryTopic(addr),
      j({ v: 1, msgId: randomUUID(), deviceId, ts: now, intervalS: 5, fps: 30, latencyP50Ms: 10, latencyP95Ms: 20, droppedFrames: 0, processedFrames: 10, backends: {}, models: { mesh: '1' }, uptimeS: 5, rssBytes: 1 }),
    );
    await svc.ingest.handle(eventsTopic(addr), j({ v: 1, msgId: randomUUID(), deviceId, ts: now, type: 'session.end', data: { sessionId: 's-1', dwellMs: 1000, productsTried: 0, looksSaved: 0, reason: 'idle' } }));
  };

  beforeAll(async () => {
    svc = await startFleet('sqlite', {}, { mqtt: false });
    await feed('paris-01', 'm1');
    await feed('paris-01', 'm2');
    await feed('berlin-03', 'm1');
    const add = await svc.api('POST', '/api/users', { username: 'claire', password: 'manager-pass-1', role: 'manager', storeId: 'paris-01' });
    expect(add.status).toBe(201);
    const login = await svc.api('POST', '/api/login', { username: 'claire', password: 'manager-pass-1' }, null);
    expect(login.status).toBe(200);
    manager = login.body.token;
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('refuses every API route without a token, or with a made-up one', async () => {
    for (const path of ['/api/devices', '/api/stores', '/api/stores/paris-01/stats', '/api/rollouts', '/api/audit', '/api/health', '/api/users']) {
      const none = await svc.api('GET', path, undefined, null);
      expect(none.status, path).toBe(401);
      expect(none.body.error.code).toBe('FLEET_ERR_AUTH');
      const fake = await svc.api('GET', path, undefined, 'x'.repeat(43));
      expect(fake.status, path).toBe(401);
    }
    expect((await svc.api('POST', '/api/rollouts', { artifactId: 'a', selector: {} }, null)).status).toBe(401);
  });

  it('a wrong password gets no token and is audited', async () => {
    const bad = await svc.api('POST', '/api/login', { username: 'claire', password: 'nope-nope-nope' }, null);
    expect(bad.status).toBe(401);
    expect(bad.body.token).toBeUndefined();
    const audit = (await svc.api('GET', '/api/audit')).body.audit;
    expect(audit.some((a: any) => a.action === 'login.failed' && a.actor === 'claire')).toBe(true);
    expect(audit.some((a: any) => a.action === 'login' && a.actor === 'claire')).toBe(true);
  });

  it('a store manager sees only their own store', async () => {
    const devices = await svc.api('GET', '/api/devices', undefined, manager);
    expect(devices.status).toBe(200);
    expect(devices.body.devices.map((d: any) => `${d.storeId}/${d.deviceId}`)).toEqual(['paris-01/m1', 'paris-01/m2']);
    expect((await svc.api('GET', '/api/stores', undefined, manager)).body.stores.map((s: any) => s.storeId)).toEqual(['paris-01']);
    expect((await svc.api('GET', '/api/stores/paris-01/stats', undefined, manager)).body).toMatchObject({ sessions: 2, devices: 2 });
    for (const path of ['/api/stores/berlin-03/stats', '/api/devices/berlin-03/m1', '/api/devices/berlin-03/m1/telemetry', '/api/devices?store=berlin-03']) {
      const r = await svc.api('GET', path, undefined, manager);
      expect(r.status, path).toBe(403);
    }
    const health = (await svc.api('GET', '/api/health', undefined, manager)).body.stores;
    expect(health.map((s: any) => s.storeId)).toEqual(['paris-01']);
    // The operator view sees both stores.
    expect((await svc.api('GET', '/api/stores')).body.stores.map((s: any) => s.storeId)).toEqual(['berlin-03', 'paris-01']);
  });

  it('a store manager cannot push, pause or read the audit log, nor add users', async () => {
    expect((await svc.api('POST', '/api/rollouts', { artifactId: 'a', selector: {} }, manager)).status).toBe(403);
    expect((await svc.api('POST', '/api/rollouts/ro-x/pause', undefined, manager)).status).toBe(403);
    expect((await svc.api('GET', '/api/audit', undefined, manager)).status).toBe(403);
    expect((await svc.api('POST', '/api/users', { username: 'eve', password: 'password-123', role: 'admin' }, manager)).status).toBe(403);
  });

  it('a token stops working after logout', async () => {
    const login = await svc.api('POST', '/api/login', { username: 'claire', password: 'manager-pass-1' }, null);
    const t = login.body.token;
    expect((await svc.api('GET', '/api/me', undefined, t)).status).toBe(200);
    expect((await svc.api('POST', '/api/logout', undefined, t)).status).toBe(200);
    expect((await svc.api('GET', '/api/me', undefined, t)).status).toBe(401);
  });
});
