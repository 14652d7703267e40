/**
 * Enrolment, the use cases: an operator makes a one-time token for `{store}/{device}`; a new
 * mirror spends it with a CSR for a certificate with that CN (the token decides the identity,
 * never the CSR); an operator revokes a device (CRL to the broker, live connection cut). Every
 * step is audited with who did it. The HTTP shapes are in routes.ts.
 */
import { createHash, randomBytes, verify, X509Certificate } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { FleetConfigError, type FleetConfig } from '../config.ts';
import { CaError, FleetCa } from '../ca/fleet-ca.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import { installCrl, kickByUsername } from './broker-revoke.ts';
import { EnrolRepo, type SpendRefusal } from './enrol-repo.ts';

export type EnrolConfig = NonNullable<FleetConfig['enrol']>;

/** Tokens are 32 random bytes, base64url, with a prefix that says what they are in a log or a paste. */
const TOKEN_PREFIX = 'mten_';
export const ENROL_TOKEN = /^mten_[A-Za-z0-9_-]{43}$/;

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export class EnrolRefused extends Error {
  constructor(
    readonly field: string,
    readonly reason: SpendRefusal | 'bad-csr' | 'bad-certificate' | 'revoked' | 'bad-signature',
    message: string,
  ) {
    super(message);
  }
}

const REFUSALS: Record<SpendRefusal, string> = {
  unknown: 'unknown enrolment token (never issued by this fleet, or mistyped)',
  used: 'this enrolment token was already used; ask the operator for a new one',
  expired: 'this enrolment token has expired; ask the operator for a new one',
};

export interface Enrolled {
  certificate: string;
  ca: string;
  storeId: string;
  deviceId: string;
  serial: string;
  notAfter: number;
}

export class Enrolment {
  readonly repo: EnrolRepo;
  private crlTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly store: FleetStore,
    private readonly ca: FleetCa,
    private readonly cfg: EnrolConfig,
    private readonly mqtt: FleetConfig['mqtt'],
    private readonly log: FastifyBaseLogger,
    private readonly now: () => number,
  ) {
    this.repo = new EnrolRepo(store.db);
  }

  static async open(store: FleetStore, cfg: EnrolConfig, mqttCfg: FleetConfig['mqtt'], log: FastifyBaseLogger, now: () => number): Promise<Enrolment> {
    const { ca, created } = await FleetCa.open(cfg.caCertFile, cfg.caKeyFile, now()).catch((err: unknown) => {
      const field = err instanceof CaError ? err.field : 'caCertFile';
      throw new FleetConfigError(`fleet config key "enrol.${field}": ${(err as Error).message}`);
    });
    if (created) log.warn({ caCertFile: cfg.caCertFile }, 'no fleet CA found: created a new one (give the broker this cafile)');
    const e = new Enrolment(store, ca, cfg, mqttCfg, log, now);
    // The CRL is re-signed at start and daily: a CRL past its nextUpdate makes the broker refuse everyone.
    await e.publishCrl();
    e.crlTimer = setInterval(() => void e.publishCrl().catch((err) => log.error({ err }, 'CRL refresh failed')), 86_400_000);
    e.crlTimer.unref();
    return e;
  }

  close(): void {
    clearInterval(this.crlTimer);
  }

  async createToken(actor: string, storeId: string, deviceId: string, ttlS: number | undefined): Promise<{ token: string; expiresAt: number }> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const t = this.now();
    const expiresAt = t + (ttlS ?? this.cfg.tokenTtlS) * 1000;
    await this.repo.addToken(hashToken(token), { storeId, deviceId, createdBy: actor, createdAt: t, expiresAt });
    await this.store.auditLog.audit(actor, 'enrol.token', `${storeId}/${deviceId}`, { expiresAt }, t);
    return { token, expiresAt };
  }

  /** Spends `token` for a certificate over the CSR's key. Throws EnrolRefused naming the field. */
  async enrol(token: string, csrDer: Buffer, from: string): Promise<Enrolled> {
    let csr;
    try {
      csr = await FleetCa.parseCsr(csrDer);
    } catch (err) {
      if (err instanceof CaError) throw new EnrolRefused(err.field, 'bad-csr', `${err.field}: ${err.message}`);
      throw err;
    }
    const t = this.now();
    const hash = hashToken(token);
    const got = await this.repo.spendToken(hash, t, async (row) => {
      const cert = await this.ca.issueFor(csr, `${row.storeId}/${row.deviceId}`, t, this.cfg.certDays);
      return { serial: cert.serial, storeId: row.storeId, deviceId: row.deviceId, notBefore: cert.notBefore, notAfter: cert.notAfter, pem: cert.pem };
    });
    if (typeof got === 'string') {
      // The hash prefix lets an operator match the refusal to the token they made, without the secret.
      await this.store.auditLog.audit(`enrol:${from}`, 'enrol.refused', null, { reason: got, tokenHash: hash.slice(0, 12) }, t);
      throw new EnrolRefused('token', got, `token: ${REFUSALS[got]}`);
    }
    const issued = got;
    await this.store.auditLog.audit(`device:${issued.storeId}/${issued.deviceId}`, 'enrol.certificate', `${issued.storeId}/${issued.deviceId}`, { serial: issued.serial, notAfter: issued.notAfter, from }, t);
    this.log.info({ device: `${issued.storeId}/${issued.deviceId}`, serial: issued.serial }, 'device enrolled');
    return { certificate: issued.pem, ca: this.ca.certPem + '\n', storeId: issued.storeId, deviceId: issued.deviceId, serial: issued.serial, notAfter: issued.notAfter };
  }

  /**
   * Renewal before expiry: the mirror proves it holds its current certificate's key by signing the
   * new CSR's DER with it (SHA-256); the certificate must be this CA's, within its validity, on
   * record and not revoked. The new certificate has the same CN; the old one stays valid until it
   * expires (the mirror switches at its next connection). Throws EnrolRefused naming the field.
   */
  async renew(certDer: Buffer, csrDer: Buffer, signature: Buffer, from: string): Promise<Enrolled> {
    const t = this.now();
    const refuse = async (field: string, reason: EnrolRefused['reason'], message: string, subject: string | null = null): Promise<never> => {
      await this.store.auditLog.audit(`enrol:${from}`, 'enrol.renew-refused', subject, { reason, message }, t);
      throw new EnrolRefused(field, reason, `${field}: ${message}`);
    };
    let current: { serial: string; commonName: string };
    try {
      current = await this.ca.checkIssued(certDer, t);
    } catch (err) {
      if (err instanceof CaError) return refuse(err.field, 'bad-certificate', err.message);
      throw err;
    }
    const row = await this.repo.cert(current.serial);
    if (!row) return refuse('certificate', 'bad-certificate', 'not on record as issued by enrolment', current.commonName);
    if (row.revokedAt !== null) return refuse('certificate', 'revoked', 'this certificate was revoked; the device must be enrolled again', current.commonName);
    let csr;
    try {
      csr = await FleetCa.parseCsr(csrDer);
    } catch (err) {
      if (err instanceof CaError) return refuse(err.field, 'bad-csr', err.message, current.commonName);
      throw err;
    }
    if (!verify('sha256', csrDer, new X509Certificate(certDer).publicKey, signature)) {
      return refuse('signature', 'bad-signature', "does not verify with the certificate's key (the request must be signed by the key being renewed)", current.commonName);
    }
    const cert = await this.ca.issueFor(csr, `${row.storeId}/${row.deviceId}`, t, this.cfg.certDays);
    await this.repo.addCert({ serial: cert.serial, storeId: row.storeId, deviceId: row.deviceId, notBefore: cert.notBefore, notAfter: cert.notAfter, issuedAt: t });
    const subject = `${row.storeId}/${row.deviceId}`;
    await this.store.auditLog.audit(`device:${subject}`, 'enrol.renew', subject, { serial: cert.serial, previous: row.serial, notAfter: cert.notAfter, from }, t);
    this.log.info({ device: subject, serial: cert.serial, previous: row.serial }, 'device certificate renewed');
    return { certificate: cert.pem, ca: this.ca.certPem + '\n', storeId: row.storeId, deviceId: row.deviceId, serial: cert.serial, notAfter: cert.notAfter };
  }

  /**
   * Revokes every certificate of the device: the CRL first (new connections refused), then the
   * live connection cut. Returns the serials revoked and what reached the broker.
   */
  async revoke(actor: string, storeId: string, deviceId: string, reason: string | null): Promise<{ serials: string[]; crl: boolean; kicked: boolean } | undefined> {
    const t = this.now();
    // Nothing this CA issued: not ours to revoke. Repeating a revocation is allowed (it re-sends
    // the CRL and the cut, e.g. after the broker was down).
    if ((await this.repo.deviceCerts(storeId, deviceId)).length === 0) return undefined;
    const serials = await this.repo.revokeDevice(storeId, deviceId, actor, reason, t);
    await this.store.auditLog.audit(actor, 'device.revoke', `${storeId}/${deviceId}`, { serials, reason }, t);
    const crl = await this.publishCrl();
    let kicked = false;
    if (this.cfg.dynsecKick) {
      await kickByUsername(this.mqtt, `${storeId}/${deviceId}`);
      kicked = true;
    }
    this.log.info({ device: `${storeId}/${deviceId}`, serials, crl, kicked }, 'device revoked');
    return { serials, crl, kicked };
  }

  /** Re-signs the CRL and installs it for the broker (when a crlFile is configured). */
  private async publishCrl(): Promise<boolean> {
    if (!this.cfg.crlFile) return false;
    const t = this.now();
    const pem = await this.ca.crl(await this.repo.revokedUnexpired(t), t, this.cfg.crlDays);
    await installCrl(this.cfg.crlFile, pem, this.cfg.reloadCommand);
    return true;
  }
}
