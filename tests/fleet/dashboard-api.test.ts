/**
 * The dashboard's API: the cookie session (HttpOnly, SameSite=Strict, CSRF-checked), a store
 * manager held to their own store on every store route, figures that agree whatever events
 * arrived (a fleet that joined after the mirror misses session.start), the store's time zone in
 * the hourly series and the CSV, and the built dashboard served at `/`. In process, no broker:
 * messages go in through the ingest handler the MQTT client calls.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsTopic, statusTopic } from '../../fleet/protocol/topics.ts';
import { startFleet, type TestService } from './support.ts';

const HOUR = 3_600_000;

describe('dashboard API: cookie session, store scope, figures', () => {
  let svc: TestService;
  let dist: string;

  const event = (storeId: string, deviceId: string, type: string, data: Record<string, unknown>, ts = Date.now()) =>
    svc.ingest.handle(eventsTopic({ storeId, deviceId }), Buffer.from(JSON.stringify({ v: 1, msgId: randomUUID(), deviceId, ts, type, data })));
  const online = (storeId: string, deviceId: string) =>
    svc.ingest.handle(
      statusTopic({ storeId, deviceId }),
      Buffer.from(JSON.stringify({ v: 1, state: 'online', deviceId, storeId, connectionSeq: 1, ts: Date.now(), firmwareVersion: '1', models: { mesh: '1' } })),
    );

  /** A browser-like request: the cookie jar is the one string it is given. */
  const http = async (method: string, url: string, opts: { cookie?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.cookie) headers.cookie = opts.cookie;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(svc.url + url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const text = await res.text();
    const json = res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined;
    return { status: res.status, headers: res.headers, text, body: json };
  };
  const CSRF = { 'x-fleet-csrf': '1' };
  const cookieLogin = async (username: string, password: string) => {
    const r = await http('POST', '/api/session', { body: { username, password }, headers: CSRF });
    return { ...r, cookie: (r.headers.get('set-cookie') ?? '').split(';')[0] };
  };

  beforeAll(async () => {
    dist = await mkdtemp(path.join(os.tmpdir(), 'dashboard-dist-'));
    await writeFile(path.join(dist, 'index.html'), '<!doctype html><title>Fleet dashboard</title>');
    svc = await startFleet('sqlite', { dashboardDir: dist }, { mqtt: false });
    await online('paris-01', 'm1');
    await online('berlin-03', 'm1');
    for (const [u, store] of [['claire', 'paris-01'], ['bernd', 'berlin-03']]) {
      expect((await svc.api('POST', '/api/users', { username: u, password: `${u}-password-1`, role: 'manager', storeId: store })).status).toBe(201);
    }
    expect((await svc.api('POST', '/api/users', { username: 'olga', password: 'olga-password-1', role: 'operator' })).status).toBe(201);
  });
  afterAll(async () => {
    await svc?.stop();
    await rm(dist, { recursive: true, force: true });
  });

  it('a cookie login sets an HttpOnly SameSite=Strict session the page never reads; a wrong password sets nothing', async () => {
    const bad = await cookieLogin('claire', 'not-her-password');
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();

    const ok = await cookieLogin('claire', 'claire-password-1');
    expect(ok.status).toBe(200);
    const set = ok.headers.get('set-cookie')!;
    expect(set).toMatch(/^fleet_session=[A-Za-z0-9_-]{40,}; /);
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Strict/);
    expect(set).toMatch(/; Path=\//);
    expect(JSON.stringify(ok.body)).not.toContain(ok.cookie.split('=')[1]);
    expect(ok.body.user).toEqual({ username: 'claire', role: 'manager', storeId: 'paris-01' });
    expect((await http('GET', '/api/me', { cookie: ok.cookie })).body).toEqual({ username: 'claire', role: 'manager', storeId: 'paris-01' });
    expect((await http('GET', '/api/me', { cookie: 'fleet_session=' + 'x'.repeat(43) })).status).toBe(401);
  });

  it('CSRF: a cookie login or change without the header, or from another origin, is refused; the bearer API needs no header', async () => {
    const noHeader = await http('POST', '/api/session', { body: { username: 'olga', password: 'olga-password-1' } });
    expect(noHeader.status).toBe(403);
    expect(noHeader.body.error.field).toBe('x-fleet-csrf');
    const { cookie } = await cookieLogin('olga', 'olga-password-1');
    const settings = { timeZone: 'Europe/Paris', name: 'Paris Opéra' };
    const forged = await http('PUT', '/api/stores/paris-01/settings', { cookie, body: settings });
    expect(forged.status).toBe(403);
    const otherSite = await http('PUT', '/api/stores/paris-01/settings', { cookie, body: settings, headers: { ...CSRF, origin: 'https://evil.example' } });
    expect(otherSite.status).toBe(403);
    expect(otherSite.body.error.field).toBe('origin');
    const same = await http('PUT', '/api/stores/paris-01/settings', { cookie, body: settings, headers: { ...CSRF, origin: svc.url } });
    expect(same.status).toBe(200);
    expect(same.body.store).toMatchObject({ storeId: 'paris-01', timeZone: 'Europe/Paris', name: 'Paris Opéra' });
    expect((await svc.api('PUT', '/api/stores/berlin-03/settings', { timeZone: 'Europe/Berlin' })).status).toBe(200);
    const audit = (await svc.api('GET', '/api/audit?action=store.settings')).body.audit;
    expect(audit.map((a: any) => `${a.actor}:${a.target}`).sort()).toEqual(['admin:berlin-03', 'olga:paris-01']);
  });

  it('logout ends the cookie session', async () => {
    const { cookie } = await cookieLogin('olga', 'olga-password-1');
    const out = await http('POST', '/api/logout', { cookie, headers: CSRF });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^fleet_session=;.*Expires=Thu, 01 Jan 1970/);
    expect((await http('GET', '/api/me', { cookie })).status).toBe(401);
  });

  it("a store manager reads only their own store: every store route answers 403 for another's", async () => {
    const { cookie } = await cookieLogin('claire', 'claire-password-1');
    expect((await http('GET', '/api/stores', { cookie })).body.stores.map((s: any) => s.storeId)).toEqual(['paris-01']);
    for (const url of ['/api/stores/berlin-03', '/api/stores/berlin-03/stats', '/api/stores/berlin-03/stats?days=7', '/api/stores/berlin-03/export.csv', '/api/devices?store=berlin-03']) {
      const r = await http('GET', url, { cookie });
      expect(r.status, url).toBe(403);
      expect(r.text, url).not.toMatch(/sessions|hour_start/);
    }
    expect((await http('PUT', '/api/stores/berlin-03/settings', { cookie, body: { timeZone: 'UTC' }, headers: CSRF })).status).toBe(403);
    expect((await http('GET', '/api/stores/paris-01/stats', { cookie })).status).toBe(200);
    expect((await http('GET', '/api/stores/paris-01/export.csv', { cookie })).status).toBe(200);
    // The same rules hold with the manager's bearer token.
    const token = (await svc.api('POST', '/api/login', { username: 'bernd', password: 'bernd-password-1' }, null)).body.token;
    expect((await svc.api('GET', '/api/stores/paris-01/stats', undefined, token)).status).toBe(403);
    expect((await svc.api('GET', '/api/stores/berlin-03/stats', undefined, token)).status).toBe(200);
  });

  it('the figures agree when the fleet missed session.start (it joined after the mirror)', async () => {
    const store = 'late-01';
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    // Session a began before the fleet listened: only its later events arrive.
    await event(store, 'm1', 'product.tried', { sessionId: a, productId: 'lip-ruby' });
    await event(store, 'm1', 'session.end', { sessionId: a, dwellMs: 30_000, productsTried: 1, looksSaved: 0, reason: 'idle' });
    await event(store, 'm1', 'session.start', { sessionId: b });
    await event(store, 'm1', 'product.tried', { sessionId: b, productId: 'lip-nude' });
    await event(store, 'm1', 'look.saved', { sessionId: b, lookId: 'look-1', products: 1, productIds: 'lip-nude' });
    await event(store, 'm1', 'session.end', { sessionId: b, dwellMs: 90_000, productsTried: 1, looksSaved: 1, reason: 'idle' });
    await event(store, 'm1', 'session.start', { sessionId: c });
    const s = (await svc.api('GET', `/api/stores/${store}/stats`)).body;
    expect(s).toMatchObject({ sessions: 3, sessionsTried: 2, sessionsSaved: 1, conversion: 0.5, looksSaved: 1 });
    expect(s.dwell).toMatchObject({ measured: 2, totalMs: 120_000, medianMs: 60_000, maxMs: 90_000 });
    expect(s.productsTried).toEqual([
      { productId: 'lip-nude', count: 1 },
      { productId: 'lip-ruby', count: 1 },
    ]);
    expect(s.hourly.reduce((n: number, h: any) => n + h.sessions, 0)).toBe(3);
    expect(s.daily.reduce((n: number, d: any) => n + d.sessions, 0)).toBe(3);
  });

  it('whatever subset of a day of events arrives, sessions >= sessions that tried >= sessions that saved, and the series add up', async () => {
    const kinds = ['session.start', 'product.tried', 'look.saved', 'session.end'] as const;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.subarray([...kinds], { minLength: 1 }), { minLength: 1, maxLength: 6 }), async (sessions) => {
        const store = `prop-${run++}`;
        for (const arrived of sessions) {
          const sessionId = randomUUID();
          for (const type of arrived) {
            const data =
              type === 'product.tried' ? { sessionId, productId: 'p1' }
              : type === 'look.saved' ? { sessionId, lookId: 'l1', products: 1, productIds: 'p1' }
              : type === 'session.end' ? { sessionId, dwellMs: 1000, productsTried: 1, looksSaved: 1, reason: 'idle' }
              : { sessionId };
            await event(store, 'm1', type, data);
          }
        }
        const s = (await svc.api('GET', `/api/stores/${store}/stats`)).body;
        expect(s.sessions).toBe(sessions.length);
        expect(s.sessions).toBeGreaterThanOrEqual(s.sessionsTried);
        expect(s.sessionsTried).toBe(sessions.filter((x) => x.includes('product.tried')).length);
        expect(s.sessionsTried).toBeGreaterThanOrEqual(s.productsTried.reduce((n: number, p: any) => Math.max(n, p.count), 0));
        expect(s.conversion === null || (s.conversion >= 0 && s.conversion <= 1)).toBe(true);
        expect(s.hourly.reduce((n: number, h: any) => n + h.sessions, 0)).toBe(s.sessions);
      }),
      { numRuns: 25 },
    );
  });

  it("hours and days are the store's local ones, in the stats and in the CSV", async () => {
    const store = 'tokyo-01';
    expect((await svc.api('PUT', `/api/stores/${store}/settings`, { timeZone: 'Mars/Olympus' })).body.error.field).toBe('timeZone');
    expect((await svc.api('PUT', `/api/stores/${store}/settings`, { timeZone: 'Asia/Tokyo' })).status).toBe(200);
    // 2026-06-30 23:30 UTC is 08:30 on July 1st in Tokyo.
    const t = Date.UTC(2026, 5, 30, 23, 30);
    await event(store, 'm1', 'session.start', { sessionId: 'tokyo-s1' }, t);
    await event(store, 'm1', 'session.start', { sessionId: 'tokyo-s2' }, t + 10 * 60_000);
    const q = `from=${t - 2 * HOUR}&to=${t + 2 * HOUR}`;
    const s = (await svc.api('GET', `/api/stores/${store}/stats?${q}`)).body;
    expect(s.timeZone).toBe('Asia/Tokyo');
    expect(s.hourly.map((h: any) => [h.key, h.sessions])).toEqual([
      ['2026-07-01T06', 0],
      ['2026-07-01T07', 0],
      ['2026-07-01T08', 2],
      ['2026-07-01T09', 0],
      ['2026-07-01T10', 0],
    ]);
    expect(s.hourly[2].start).toBe(Date.UTC(2026, 5, 30, 23, 0));
    expect(s.daily).toEqual([{ key: '2026-07-01', start: Date.UTC(2026, 5, 30, 15, 0), sessions: 2, tried: 0, saved: 0 }]);
    const csv = await fetch(`${svc.url}/api/stores/${store}/export.csv?${q}`, { headers: { authorization: `Bearer ${svc.token}` } });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="tokyo-01-sessions-2026-07-01-to-2026-07-01.csv"');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('hour_start_local,hour_start_utc,sessions,sessions_tried,sessions_saved');
    expect(lines).toContain('2026-07-01T08:00:00+09:00,2026-06-30T23:00:00.000Z,2,0,0');
    expect((await svc.api('GET', `/api/stores/${store}/stats?days=94`)).body.error.field).toBe('days');
    expect((await svc.api('GET', `/api/stores/${store}/stats?from=${t}&to=${t}`)).body.error.field).toBe('query');
    // A range longer than the series span keeps its totals; the series cover its last 93 days.
    const all = (await svc.api('GET', `/api/stores/${store}/stats?from=0`)).body;
    expect(all.sessions).toBe(2);
    expect(all.daily).toHaveLength(94);
  });

  it('serves the built dashboard at / (with the security headers), and API misses stay JSON', async () => {
    const page = await fetch(svc.url + '/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Fleet dashboard</title>');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const miss = await svc.api('GET', '/api/no-such-route');
    expect(miss.status).toBe(404);
  });
});
