/**
 * The enrolment endpoint needs no login, so it is rate-limited per client address; and without
 * `enrol` in the config the service says enrolment is off instead of failing obscurely.
 */
import { chmodSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type TestService } from './support.ts';

describe('enrolment endpoint limits', () => {
  let svc: TestService;
  let off: TestService;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'enrol-limits-'));
    svc = await startFleet('sqlite', { enrol: { caCertFile: path.join(dir, 'ca.crt'), caKeyFile: path.join(dir, 'ca.key'), maxAttemptsPerMinute: 3 } }, { mqtt: false });
    off = await startFleet('sqlite', {}, { mqtt: false });
  });
  afterAll(async () => {
    await svc?.stop();
    await off?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const attempt = (s: TestService) => s.api('POST', '/enrol/v1', { token: `mten_${randomBytes(32).toString('base64url')}`, csr: 'QUJD'.repeat(25) }, null);

  it('refuses the fourth attempt in a minute from one address with 429 and Retry-After', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await attempt(svc)).status);
    expect(statuses).toEqual([400, 400, 400, 429]);
    const res = await fetch(`${svc.url}/enrol/v1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a service without enrolment configured says so', async () => {
    const r = await attempt(off);
    expect(r.status).toBe(409);
    expect(r.body.error.message).toMatch(/enrolment is not configured/);
  });
});

describe('the fleet CA at start', () => {
  it('a CA key readable by others stops the service with a config error naming the key', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'enrol-ca-'));
    try {
      const caCertFile = path.join(dir, 'ca.crt');
      const caKeyFile = path.join(dir, 'ca.key');
      const first = await startFleet('sqlite', { enrol: { caCertFile, caKeyFile } }, { mqtt: false });
      await first.stop();
      expect(statSync(caKeyFile).mode & 0o777).toBe(0o600);
      chmodSync(caKeyFile, 0o644);
      await expect(startFleet('sqlite', { enrol: { caCertFile, caKeyFile } }, { mqtt: false })).rejects.toThrow(/fleet config key "enrol.caKeyFile": .*readable by group or others/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
