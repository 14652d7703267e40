/**
 * Certificate renewal before expiry, all real parts: Mosquitto with the shipped TLS config and
 * ACL, the fleet service holding the broker's CA, the mirror's own enrolment module.
 *  - an enrolled mirror not yet due keeps its certificate; due, it renews with its current key as
 *    proof: a new key and certificate (new serial, same CN, 0600), which connect over TLS through
 *    the ACL; audited; the daemon's start path renews too;
 *  - refused, naming the field: a CSR signed by another key (signature), a certificate of another
 *    CA (certificate), a revoked certificate (certificate: revoked); the mirror's files untouched.
 */
import { generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../device/config/load.ts';
import { enrolOnStart } from '../../device/enrol/first-start.ts';
import { enrol, EnrolError, identityFiles, renew, type IdentityFiles } from '../../device/enrol/enrol.ts';
import { FleetCa } from '../../fleet/service/ca/fleet-ca.ts';
import { recordingLogger } from '../telemetry/support.ts';
import { startFleet, type TestService } from './support.ts';
import { startTlsBroker, tlsBrokerAvailable, type TlsBroker } from './tls-broker.ts';

const HAVE = tlsBrokerAvailable();
const YEAR_DAYS = 400;

describe.skipIf(!HAVE)('certificate renewal: current key as proof → new certificate → TLS broker; refusals', () => {
  let broker: TlsBroker;
  let svc: TestService;
  let work: string;

  beforeAll(async () => {
    broker = await startTlsBroker([]);
    work = await mkdtemp(path.join(os.tmpdir(), 'enrol-renew-'));
    svc = await startFleet('sqlite', {
      mqtt: { url: broker.url, clientId: 'fleet-service', ...broker.files('fleet-service') },
      enrol: { caCertFile: path.join(broker.dir, 'ca.crt'), caKeyFile: path.join(broker.dir, 'ca.key'), maxAttemptsPerMinute: 100 },
    });
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
    await broker?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const enrolled = async (storeId: string, deviceId: string): Promise<IdentityFiles> => {
    const t = await svc.api('POST', '/api/enrol/tokens', { storeId, deviceId });
    const files = identityFiles(path.join(work, deviceId));
    expect(await enrol({ fleetUrl: svc.url, token: t.body.token, files })).toMatchObject({ status: 'enrolled' });
    return files;
  };
  const snapshot = (f: IdentityFiles) => [f.key, f.cert, f.ca].map((x) => readFileSync(x, 'utf8'));
  const connects = async (f: IdentityFiles, clientId: string) => {
    const c = await mqtt.connectAsync(broker.url, { clientId, ca: readFileSync(f.ca), cert: readFileSync(f.cert), key: readFileSync(f.key), reconnectPeriod: 0, connectTimeout: 10_000 });
    await c.endAsync();
  };

  it('not due: nothing changes; due: a new key and certificate, same identity, that connect through the ACL', async () => {
    const files = await enrolled('nice-01', 'mirror-r');
    const before = snapshot(files);
    const old = new X509Certificate(before[1]);
    expect(await renew({ fleetUrl: svc.url, files, renewBeforeDays: 30 })).toMatchObject({ status: 'not-due', identity: 'nice-01/mirror-r' });
    expect(snapshot(files)).toEqual(before);

    const r = await renew({ fleetUrl: svc.url, files, renewBeforeDays: YEAR_DAYS });
    expect(r).toMatchObject({ status: 'renewed', identity: 'nice-01/mirror-r' });
    const cert = new X509Certificate(readFileSync(files.cert));
    expect(cert.subject).toBe('CN=nice-01/mirror-r');
    expect(cert.serialNumber.toLowerCase()).toBe((r as { serial: string }).serial);
    expect(cert.serialNumber).not.toBe(old.serialNumber);
    expect(readFileSync(files.key, 'utf8')).not.toBe(before[0]);
    for (const f of [files.key, files.cert, files.ca]) expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(existsSync(`${files.key}.pending`)).toBe(false);
    await connects(files, 'nice-01:mirror-r');

    const certs = await svc.enrolment!.repo.deviceCerts('nice-01', 'mirror-r');
    expect(certs.map((c) => c.serial)).toEqual([old.serialNumber.toLowerCase(), cert.serialNumber.toLowerCase()]);
    const audit = await svc.store.auditLog.listAudit(20, 'enrol.renew');
    expect(audit[0]).toMatchObject({ actor: 'device:nice-01/mirror-r', target: 'nice-01/mirror-r' });
  });

  it('the daemon renews at start when its certificate is within mqtt.enrol.renewBeforeDays', async () => {
    const files = await enrolled('nice-01', 'mirror-s');
    const serial = new X509Certificate(readFileSync(files.cert)).serialNumber;
    const tokenFile = path.join(work, 'unused-token');
    writeFileSync(tokenFile, 'spent');
    const config = (renewBeforeDays: number) =>
      validateConfig({ mqtt: { url: broker.url, storeId: 'nice-01', deviceId: 'mirror-s', tls: files, enrol: { fleetUrl: svc.url, tokenFile, renewBeforeDays } } });
    const logger = recordingLogger();
    expect(await enrolOnStart(config(30), logger)).toBe('already-enrolled');
    expect(new X509Certificate(readFileSync(files.cert)).serialNumber).toBe(serial);
    expect(await enrolOnStart(config(YEAR_DAYS), logger)).toBe('renewed');
    expect(new X509Certificate(readFileSync(files.cert)).serialNumber).not.toBe(serial);
    await connects(files, 'nice-01:mirror-s');
  });

  it('refused, naming the field: a CSR not signed by the current key, another CA\'s certificate, a revoked one', async () => {
    const files = await enrolled('nice-01', 'mirror-t');
    const current = new X509Certificate(readFileSync(files.cert));
    const request = async (certificate: Buffer, signWith: Parameters<typeof sign>[2]) => {
      const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
      const csr = Buffer.from((await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } })).rawData);
      const body = { certificate: certificate.toString('base64'), csr: csr.toString('base64'), signature: sign('sha256', csr, signWith).toString('base64') };
      return svc.api('POST', '/enrol/v1/renew', body, null);
    };
    // Signed by a key that is not the certificate's.
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const forged = await request(current.raw, stranger);
    expect(forged.status).toBe(403);
    expect(forged.body.error).toMatchObject({ field: 'signature' });
    // Another CA's certificate, properly signed by its own key.
    const { ca: other } = await FleetCa.open(path.join(work, 'other-ca.crt'), path.join(work, 'other-ca.key'), Date.now());
    const ownKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ownCsr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=x',
      keys: { privateKey: await crypto.subtle.importKey('pkcs8', ownKeys.privateKey.export({ format: 'der', type: 'pkcs8' }), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']), publicKey: await crypto.subtle.importKey('spki', ownKeys.publicKey.export({ format: 'der', type: 'spki' }), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']) },
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const foreign = await other.issueFor(ownCsr, 'nice-01/mirror-t', Date.now(), 30);
    const alien = await request(new X509Certificate(foreign.pem).raw, ownKeys.privateKey);
    expect(alien.status).toBe(403);
    expect(alien.body.error).toMatchObject({ field: 'certificate', reason: 'bad-certificate' });
    expect(alien.body.error.message).toMatch(/not issued by this fleet's CA/);

    // Revoked: the mirror's renewal is refused and its files stay as they were.
    expect((await svc.api('POST', '/api/devices/nice-01/mirror-t/revoke', { reason: 'test' })).status).toBe(200);
    const before = snapshot(files);
    const err = await renew({ fleetUrl: svc.url, files, renewBeforeDays: YEAR_DAYS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnrolError);
    expect((err as EnrolError).field).toBe('certificate');
    expect((err as EnrolError).message).toMatch(/revoked/);
    expect(snapshot(files)).toEqual(before);
    expect(existsSync(`${files.key}.pending`)).toBe(false);
    expect((await svc.store.auditLog.listAudit(20, 'enrol.renew-refused')).length).toBe(3);
  });
});
