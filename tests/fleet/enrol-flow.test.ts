/**
 * Enrolment end to end, all real parts: Mosquitto with the shipped TLS config and ACL (crlfile and
 * dynamic-security plugin included), the fleet service holding the broker's CA, the mirror's own
 * enrolment module and its telemetry agent.
 *  - token (operator API) → the mirror makes its key, sends a CSR → certificate with CN
 *    `{store}/{device}` from the token → TLS connection through the ACL → metrics ingested;
 *  - a reused, an expired and a forged token refused, each saying why; a CSR asking for another
 *    CN still gets the token's identity;
 *  - revocation: the live connection is cut, reconnecting is refused, another mirror is untouched.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../fleet/cli/cli.ts';
import { validateConfig } from '../../device/config/load.ts';
import { readStartupKeys } from '../../device/daemon/secrets.ts';
import { enrolOnStart } from '../../device/enrol/first-start.ts';
import { enrol, EnrolError, identityFiles, type IdentityFiles } from '../../device/enrol/enrol.ts';
import { createTelemetryAgent, type TelemetryAgent } from '../../device/telemetry/mqtt-agent.ts';
import { recordingLogger } from '../telemetry/support.ts';
import { startFleet, until, type TestService } from './support.ts';
import { findDynsecPlugin, startTlsBroker, tlsBrokerAvailable, type TlsBroker } from './tls-broker.ts';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');
const HAVE = tlsBrokerAvailable();
if (!HAVE) console.warn('[tests] mosquitto not found: skipping the enrolment suite');
if (HAVE && !findDynsecPlugin()) console.warn('[tests] mosquitto dynamic-security plugin not found: skipping the revocation test');

describe.skipIf(!HAVE)('enrolment: token → certificate → TLS broker → telemetry; revocation', () => {
  let broker: TlsBroker;
  let svc: TestService;
  let work: string;
  let skewMs = 0;
  const agents: TelemetryAgent[] = [];

  beforeAll(async () => {
    broker = await startTlsBroker([]);
    work = await mkdtemp(path.join(os.tmpdir(), 'enrol-flow-'));
    svc = await startFleet(
      'sqlite',
      {
        mqtt: { url: broker.url, clientId: 'fleet-service', ...broker.files('fleet-service') },
        enrol: {
          caCertFile: path.join(broker.dir, 'ca.crt'),
          caKeyFile: path.join(broker.dir, 'ca.key'),
          crlFile: path.join(broker.dir, 'crl.pem'),
          reloadCommand: ['kill', '-HUP', String(broker.pid)],
          dynsecKick: broker.dynsec,
          // This suite makes a dozen attempts from one address (the limit has its own test).
          maxAttemptsPerMinute: 100,
        },
      },
      { now: () => Date.now() + skewMs },
    );
  }, 60_000);
  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => undefined);
    await svc?.stop();
    await broker?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const token = async (storeId: string, deviceId: string, ttlS?: number): Promise<string> => {
    const r = await svc.api('POST', '/api/enrol/tokens', { storeId, deviceId, ...(ttlS ? { ttlS } : {}) });
    expect(r.status).toBe(200);
    return r.body.token as string;
  };

  const startAgent = async (storeId: string, deviceId: string, files: IdentityFiles) => {
    const logger = recordingLogger();
    const agent = createTelemetryAgent({
      url: broker.url,
      storeId,
      deviceId,
      firmwareVersion: '1.0.0',
      intervalMs: 300,
      stateDir: path.join(work, `${deviceId}-state`),
      snapshot: () => ({ fps: 30, latencyP50Ms: 20, latencyP95Ms: 30, droppedFrames: 0, processedFrames: 1, backends: {}, models: {} }),
      logger,
      systemMetrics: false,
      ca: readFileSync(files.ca),
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
      reconnect: { initialMs: 200, maxMs: 400 },
      startTimeoutMs: 10_000,
    });
    agents.push(agent);
    await agent.start();
    return { agent, logger };
  };

  const metricsOf = async (storeId: string, deviceId: string) => (await svc.store.devices.telemetry(storeId, deviceId, 0, 5000)).length;

  let a: { agent: TelemetryAgent; logger: ReturnType<typeof recordingLogger> };
  let filesA: IdentityFiles;
  let tokenA: string;

  it('a mirror enrols with a one-time token and its telemetry arrives over TLS through the ACL', async () => {
    tokenA = await token('paris-01', 'mirror-a');
    filesA = identityFiles(path.join(work, 'a'));
    const r = await enrol({ fleetUrl: svc.url, token: tokenA, files: filesA });
    expect(r).toMatchObject({ status: 'enrolled', identity: 'paris-01/mirror-a' });
    for (const f of [filesA.key, filesA.cert, filesA.ca]) expect(statSync(f).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(filesA.cert));
    expect(cert.subject).toBe('CN=paris-01/mirror-a');
    expect(cert.verify(new X509Certificate(readFileSync(path.join(broker.dir, 'ca.crt'))).publicKey)).toBe(true);

    a = await startAgent('paris-01', 'mirror-a', filesA);
    await until(async () => (await metricsOf('paris-01', 'mirror-a')) >= 2 || undefined);
    expect((await svc.store.devices.getDevice('paris-01', 'mirror-a'))?.state).toBe('online');

    const audit = await svc.store.auditLog.listAudit(50);
    expect(audit.find((x) => x.action === 'enrol.token')).toMatchObject({ actor: 'admin', target: 'paris-01/mirror-a' });
    expect(audit.find((x) => x.action === 'enrol.certificate')).toMatchObject({ target: 'paris-01/mirror-a' });
  });

  it('enrolling again keeps the identity it has; the used token is refused, naming why', async () => {
    const before = readFileSync(filesA.key);
    expect(await enrol({ fleetUrl: svc.url, token: tokenA, files: filesA })).toMatchObject({ status: 'already-enrolled', identity: 'paris-01/mirror-a' });
    expect(readFileSync(filesA.key)).toEqual(before);

    const err = await enrol({ fleetUrl: svc.url, token: tokenA, files: identityFiles(path.join(work, 'a2')) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnrolError);
    expect((err as EnrolError).field).toBe('token');
    expect((err as EnrolError).message).toMatch(/already used/);
  });

  it('an expired or forged token is refused, naming why; a malformed request names its field', async () => {
    const t = await token('paris-01', 'mirror-x', 60);
    skewMs = 61_000;
    const expired = await enrol({ fleetUrl: svc.url, token: t, files: identityFiles(path.join(work, 'x')) }).catch((e: unknown) => e as EnrolError);
    skewMs = 0;
    expect(expired).toBeInstanceOf(EnrolError);
    expect((expired as EnrolError).message).toMatch(/token: .*expired/);

    const forged = `mten_${randomBytes(32).toString('base64url')}`;
    const f = await enrol({ fleetUrl: svc.url, token: forged, files: identityFiles(path.join(work, 'f')) }).catch((e: unknown) => e as EnrolError);
    expect((f as EnrolError).message).toMatch(/token: unknown enrolment token/);

    const bad = await svc.api('POST', '/enrol/v1', { token: forged, csr: 'QUJD'.repeat(25) }, null);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ field: 'csr' });
    const missing = await svc.api('POST', '/enrol/v1', { csr: 'QUJD'.repeat(25) }, null);
    expect(missing.body.error).toMatchObject({ code: 'FLEET_ERR_BAD_REQUEST', field: 'token' });
    // A refused CSR does not spend the token: it still enrols afterwards.
    const t2 = await token('paris-01', 'mirror-y');
    expect((await svc.api('POST', '/enrol/v1', { token: t2, csr: 'QUJD'.repeat(25) }, null)).status).toBe(400);
    expect(await enrol({ fleetUrl: svc.url, token: t2, files: identityFiles(path.join(work, 'y')) })).toMatchObject({ status: 'enrolled', identity: 'paris-01/mirror-y' });
    // Only operators make tokens.
    expect((await svc.api('POST', '/api/enrol/tokens', { storeId: 'paris-01', deviceId: 'z' }, null)).status).toBe(401);
  });

  it('mirrorctl enrol gives a mirror its identity, and says so when it already has one', async () => {
    const dir = path.join(work, 'ctl');
    const t = await token('lyon-02', 'mirror-c');
    const ctl = (...argv: string[]) =>
      run(process.execPath, ['--import', 'tsx', path.join(REPO, 'device/control/mirrorctl.ts'), 'enrol', ...argv], { cwd: REPO, timeout: 60_000 });
    expect((await ctl('--token', t, '--fleet', svc.url, '--dir', dir)).stdout).toMatch(/enrolled as lyon-02\/mirror-c/);
    expect((await ctl('--token', t, '--fleet', svc.url, '--dir', dir)).stdout).toMatch(/already enrolled as lyon-02\/mirror-c/);
    expect(statSync(path.join(dir, 'mirror.key')).mode & 0o777).toBe(0o600);
  });

  it('the daemon enrols on its first start from mqtt.enrol; an enrolment that fails does not stop it', async () => {
    const dir = path.join(work, 'daemon');
    const tokenFile = path.join(work, 'daemon-token');
    writeFileSync(tokenFile, `${await token('lyon-02', 'mirror-d')}\n`);
    const config = (fleetUrl: string, sub: string) =>
      validateConfig({ mqtt: { url: broker.url, storeId: 'lyon-02', deviceId: 'mirror-d', enrol: { fleetUrl, tokenFile }, tls: identityFiles(path.join(dir, sub)) } });
    const logger = recordingLogger();
    // Nothing listens on port 9 of loopback: the fleet is unreachable.
    const offline = config('http://127.0.0.1:9', 'x');
    expect(await enrolOnStart(offline, logger, 5000)).toBe('failed');
    expect(logger.lines.at(-1)?.msg).toMatch(/enrolment failed: the mirror runs/);
    expect(readStartupKeys(offline).mqttTls.cert).toBeUndefined();

    const online = config(svc.url, 'y');
    expect(await enrolOnStart(online, logger)).toBe('enrolled');
    expect(await enrolOnStart(online, logger)).toBe('already-enrolled');
    const keys = readStartupKeys(online).mqttTls;
    expect(new X509Certificate(keys.cert!).subject).toBe('CN=lyon-02/mirror-d');
    const c = await mqtt.connectAsync(broker.url, { clientId: 'lyon-02:mirror-d', ca: keys.ca, cert: keys.cert, key: keys.key, reconnectPeriod: 0, connectTimeout: 10_000 });
    await c.endAsync();
  });

  it.skipIf(!findDynsecPlugin())('a revoked mirror is cut off and cannot reconnect; another mirror is untouched', async () => {
    // The operator's CLI this time: `fleet enrol-token` and `fleet revoke`.
    const cli = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli([...argv, '--url', svc.url, '--token', svc.token, '--json'], { out: (x) => out.push(x), err: (x) => err.push(x), env: {} });
      expect(err).toEqual([]);
      expect(code).toBe(0);
      return JSON.parse(out.join('\n'));
    };
    const tokenB = (await cli('enrol-token', '--store', 'paris-01', '--device', 'mirror-b')).token as string;
    const filesB = identityFiles(path.join(work, 'b'));
    await enrol({ fleetUrl: svc.url, token: tokenB, files: filesB });
    const b = await startAgent('paris-01', 'mirror-b', filesB);
    await until(() => (a.agent.health().connected && b.agent.health().connected) || undefined);

    const r = await cli('revoke', '--store', 'paris-01', '--device', 'mirror-a', '--reason', 'stolen');
    expect(r).toMatchObject({ ok: true, crl: true, kicked: true });
    expect(r.serials).toHaveLength(1);

    // The live connection is cut, and every reconnect (200-400 ms apart) is refused at the handshake.
    await until(() => !a.agent.health().connected || undefined);
    const lost = a.logger.lines.length;
    await until(() => a.logger.lines.slice(lost).filter((l) => /MQTT connect failed/.test(l.msg ?? '')).length >= 2 || undefined);
    expect(a.agent.health().connected).toBe(false);
    const direct = await mqtt
      .connectAsync(broker.url, { clientId: 'revoked-probe', ca: readFileSync(filesA.ca), cert: readFileSync(filesA.cert), key: readFileSync(filesA.key), reconnectPeriod: 0, connectTimeout: 5000 })
      .then(async (c) => {
        await c.endAsync(true);
        return 'connected';
      })
      .catch(() => 'refused');
    expect(direct).toBe('refused');

    // Mirror B keeps publishing on its connection.
    const n = await metricsOf('paris-01', 'mirror-b');
    await until(async () => (await metricsOf('paris-01', 'mirror-b')) >= n + 2 || undefined);
    expect(b.agent.health().connected).toBe(true);

    const audit = await svc.store.auditLog.listAudit(50, 'device.revoke');
    expect((await svc.store.auditLog.listAudit(50, 'enrol.token')).map((x) => x.target)).toContain('paris-01/mirror-b');
    expect(audit[0]).toMatchObject({ actor: 'admin', target: 'paris-01/mirror-a', detail: { reason: 'stolen' } });
    expect((await svc.api('POST', '/api/devices/paris-01/nobody/revoke', {})).status).toBe(404);
  });
});
