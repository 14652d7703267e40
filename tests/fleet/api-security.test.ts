/**
 * The fleet API under attack (issue 13 item 10): password guessing is throttled and locked out
 * (the right password is refused during the lockout), the audit log does not grow with every
 * guess, every answer carries security headers, and a NUL in a query or a body is a 400 naming
 * the field (it was a bare 500 on PostgreSQL). Plus the Prometheus endpoint, one registry per service.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsTopic, telemetryTopic } from '../../fleet/protocol/topics.ts';
import { ADMIN, pgRequired, startFleet, type TestService } from './support.ts';

const PG = await pgRequired();

describe('login throttling and lockout', () => {
  let svc: TestService;
  let clock = Date.now();
  beforeAll(async () => {
    svc = await startFleet('sqlite', { login: { maxFailures: 5, maxFailuresPerIp: 1000, lockoutMs: 15 * 60_000 } }, { mqtt: false, now: () => clock });
    const add = await svc.api('POST', '/api/users', { username: 'victim', password: 'right-password-1', role: 'operator' });
    expect(add.status).toBe(201);
  });
  afterAll(async () => {
    await svc?.stop();
  });
  const login = (password: string, username = 'victim') => svc.api('POST', '/api/login', { username, password }, null);

  it('300 wrong passwords, then the right one: refused with 429 and Retry-After until the lockout ends; 5 audit rows, not 300', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++) statuses.push((await login(`wrong-${i}`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));

    const res = await fetch(`${svc.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'victim', password: 'right-password-1' }) });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBe(15 * 60);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FLEET_ERR_RATE_LIMITED');

    const audit = (await svc.api('GET', '/api/audit?limit=1000')).body.audit.filter((a: { actor: string }) => a.actor === 'victim');
    // Four failures, the fifth starts the lockout (one row saying so), the 295 refused write nothing.
    expect(audit.filter((a: { action: string }) => a.action === 'login.failed')).toHaveLength(4);
    expect(audit.filter((a: { action: string }) => a.action === 'login.locked')).toHaveLength(1);
    expect(audit).toHaveLength(5);

    clock += 15 * 60_000 + 1000;
    const ok = await login('right-password-1');
    expect(ok.status).toBe(200);
    expect(ok.body.token).toEqual(expect.any(String));
  });

  it('a parallel burst of 40 guesses gets at most 5 password checks', async () => {
    const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => login(`burst-${i}`, 'admin')));
    const checked = rs.filter((r) => r.status === 401).length;
    expect(checked).toBeLessThanOrEqual(5);
    expect(rs.filter((r) => r.status === 429).length).toBe(40 - checked);
    // The real admin is locked out too now (that is the point); another account is not.
    expect((await login(ADMIN.password, 'admin')).status).toBe(429);
    const other = await login('right-password-1');
    expect(other.status, JSON.stringify(other.body)).toBe(200);
  });
});

describe('security headers', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startFleet('sqlite', {}, { mqtt: false });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('every answer carries them: an API answer, a refusal, health', async () => {
    for (const [path, auth] of [['/api/me', true], ['/api/devices', false], ['/healthz', false]] as const) {
      const res = await fetch(svc.url + path, { headers: auth ? { authorization: `Bearer ${svc.token}` } : {} });
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
      expect(res.headers.get('strict-transport-security'), path).toMatch(/max-age=\d+/);
      expect(res.headers.get('content-security-policy'), path).toMatch(/frame-ancestors 'self'/);
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
  });
});

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !PG)(`control characters in requests, on ${kind}`, () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startFleet(kind, {}, { mqtt: false });
    });
    afterAll(async () => {
      await svc?.stop();
    });

    it('a NUL in a query string or a JSON body is a 400 naming the field, not a 500', async () => {
      const q = await svc.api('GET', '/api/audit?action=login%00x');
      expect(q.status).toBe(400);
      expect(q.body.error).toMatchObject({ code: 'FLEET_ERR_BAD_REQUEST', field: 'query.action' });
      const b = await svc.api('POST', '/api/login', { username: 'adm\u0000in', password: 'whatever-1' }, null);
      expect(b.status).toBe(400);
      expect(b.body.error).toMatchObject({ code: 'FLEET_ERR_BAD_REQUEST', field: 'body.username' });
      expect((await svc.api('GET', '/api/audit?action=login')).status).toBe(200);
    });
  });
}

describe('Prometheus /metrics', () => {
  let a: TestService;
  let b: TestService;
  beforeAll(async () => {
    [a, b] = await Promise.all([startFleet('sqlite', {}, { mqtt: false }), startFleet('sqlite', {}, { mqtt: false })]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });
  const scrape = async (svc: TestService) => {
    const res = await fetch(`${svc.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('counts what the ingest did, per service (two services in one process do not share a registry)', async () => {
    const addr = { storeId: 'm-store', deviceId: 'm-dev' };
    const metrics = () =>
      Buffer.from(JSON.stringify({ v: 1, msgId: randomUUID(), deviceId: addr.deviceId, ts: Date.now(), intervalS: 5, fps: 30, latencyP50Ms: 1, latencyP95Ms: 2, droppedFrames: 0, processedFrames: 1, backends: {}, models: {}, uptimeS: 1, rssBytes: 1 }));
    const dup = metrics();
    await a.ingest.deliver(telemetryTopic(addr), dup);
    await a.ingest.deliver(telemetryTopic(addr), dup);
    await a.ingest.deliver(telemetryTopic(addr), metrics());
    await a.ingest.deliver(eventsTopic(addr), Buffer.from('{not json'));
    const text = await scrape(a);
    expect(value(text, 'fleet_ingest_received_total')).toBe(4);
    expect(value(text, 'fleet_ingest_messages_total{result="stored"}')).toBe(2);
    expect(value(text, 'fleet_ingest_messages_total{result="duplicate"}')).toBe(1);
    expect(value(text, 'fleet_ingest_messages_total{result="invalid"}')).toBe(1);
    expect(value(text, 'fleet_ingest_messages_total{result="dead-lettered"}')).toBe(0);
    expect(value(text, 'fleet_dead_letters')).toBe(0);
    expect(value(text, 'fleet_ingest_waiting_seconds')).toBe(0);
    expect(value(text, 'fleet_rollouts{status="running"}')).toBe(0);
    expect(text).toMatch(/^fleet_ingest_lag_seconds\{quantile="0.95"\} /m);
    expect(value(await scrape(b), 'fleet_ingest_received_total')).toBe(0);
  });
});
