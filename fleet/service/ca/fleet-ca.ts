/**
 * The fleet's certificate authority: the CA the broker trusts (its `cafile`), held by the fleet
 * service as two PEM files (certificate, PKCS#8 key with mode 0600). It signs device certificates
 * from a device's CSR, with the subject decided by the caller (the enrolment token), never by the
 * CSR, and it signs the certificate revocation list the broker checks (`crlfile`).
 *
 * X.509 through @peculiar/x509 over Node's WebCrypto: no hand-written ASN.1. Keys are ECDSA P-256
 * (what fleet/broker/gen-certs.sh makes and what the mirror generates).
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export class CaError extends Error {
  constructor(
    /** The request field the problem is about (`csr`), for the API's error answer. */
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface IssuedCert {
  pem: string;
  /** Lower-case hex, as the CRL and `openssl x509 -serial` (upper-case there) name it. */
  serial: string;
  notBefore: number;
  notAfter: number;
}

export interface RevokedEntry {
  serial: string;
  revokedAt: number;
}

function writePrivate(file: string, text: string, mode: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/** A serial number: 16 random bytes with the top bit clear (DER integers are signed; RFC 5280 wants it positive). */
function newSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x10;
  return b.toString('hex');
}

export class FleetCa {
  private constructor(
    readonly cert: x509.X509Certificate,
    private readonly key: CryptoKey,
  ) {}

  get certPem(): string {
    return this.cert.toString('pem');
  }

  /**
   * Loads the CA from its two files, or creates a new self-signed CA there when neither exists
   * (a development fleet; in production the operator provides the CA and keeps a backup offline).
   * A key file readable by group or others is refused: it would let any local user mint devices.
   */
  static async open(certFile: string, keyFile: string, now: number): Promise<{ ca: FleetCa; created: boolean }> {
    if (!existsSync(certFile) && !existsSync(keyFile)) return { ca: await FleetCa.create(certFile, keyFile, now), created: true };
    const mode = statSync(keyFile).mode & 0o077;
    if (mode !== 0) throw new CaError('caKeyFile', `${keyFile} is readable by group or others (mode ${(statSync(keyFile).mode & 0o777).toString(8)}); chmod 600 it`);
    const cert = new x509.X509Certificate(readFileSync(certFile, 'utf8'));
    const der = pemBody(readFileSync(keyFile, 'utf8'), 'PRIVATE KEY', 'caKeyFile');
    const key = await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
    const ca = new FleetCa(cert, key);
    // A key that does not belong to the certificate would sign certificates nobody verifies.
    const probe = await ca.issueFor(await ca.selfProbeCsr(), 'probe', now, 1);
    if (!(await new x509.X509Certificate(probe.pem).verify({ publicKey: cert.publicKey, signatureOnly: true }))) {
      throw new CaError('caKeyFile', `${keyFile} is not the key of ${certFile}`);
    }
    return { ca, created: false };
  }

  private static async create(certFile: string, keyFile: string, now: number): Promise<FleetCa> {
    const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: newSerial(),
      name: 'CN=smart-mirror fleet CA',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 10 * 365 * 86_400_000),
      keys,
      signingAlgorithm: SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    writePrivate(keyFile, toPem(pkcs8, 'PRIVATE KEY'), 0o600);
    writePrivate(certFile, cert.toString('pem') + '\n', 0o644);
    return new FleetCa(cert, keys.privateKey);
  }

  private async selfProbeCsr(): Promise<x509.Pkcs10CertificateRequest> {
    const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    return x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=probe', keys, signingAlgorithm: SIGN });
  }

  /**
   * Checks a device's CSR (DER, self-signed by its key, ECDSA P-256) without signing anything, so
   * that a bad request is refused before its token is spent.
   */
  static async parseCsr(der: Buffer): Promise<x509.Pkcs10CertificateRequest> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(new Uint8Array(der));
    } catch (err) {
      throw new CaError('csr', `not a PKCS#10 certificate request: ${(err as Error).message}`);
    }
    const alg = csr.publicKey.algorithm as EcKeyAlgorithm;
    if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') throw new CaError('csr', `key must be ECDSA P-256, got ${alg.name} ${alg.namedCurve ?? ''}`.trim());
    if (!(await csr.verify())) throw new CaError('csr', 'its signature does not verify (the request was not signed by its own key)');
    return csr;
  }

  /**
   * A device certificate this CA issued, within its validity at `now`: its serial and CN. Throws
   * CaError('certificate') otherwise (not a certificate, another CA's, expired or not yet valid).
   */
  async checkIssued(der: Buffer, now: number): Promise<{ serial: string; commonName: string }> {
    let cert: x509.X509Certificate;
    try {
      cert = new x509.X509Certificate(new Uint8Array(der));
    } catch (err) {
      throw new CaError('certificate', `not an X.509 certificate: ${(err as Error).message}`);
    }
    if (!(await cert.verify({ publicKey: this.cert.publicKey, signatureOnly: true }))) throw new CaError('certificate', 'not issued by this fleet\'s CA');
    if (now < cert.notBefore.getTime() || now >= cert.notAfter.getTime()) throw new CaError('certificate', `outside its validity (${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`);
    const commonName = cert.subjectName.getField('CN')[0];
    if (!commonName) throw new CaError('certificate', 'has no CN');
    return { serial: cert.serialNumber.toLowerCase(), commonName };
  }

  /** A client certificate for `{store}/{device}` (what the broker's ACL sees as the username). */
  async issueFor(csr: x509.Pkcs10CertificateRequest, commonName: string, now: number, days: number): Promise<IssuedCert> {
    const serial = newSerial();
    const notBefore = now - 5 * 60_000; // a mirror's clock a few minutes behind still accepts it
    const notAfter = now + days * 86_400_000;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      // The subject comes from the caller only: a CSR asking for another CN gets the token's.
      subject: [{ CN: [commonName] }],
      issuer: this.cert.subjectName,
      notBefore: new Date(notBefore),
      notAfter: new Date(notAfter),
      publicKey: csr.publicKey,
      signingKey: this.key,
      signingAlgorithm: SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert, false),
        await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
      ],
    });
    return { pem: cert.toString('pem') + '\n', serial, notBefore: Math.floor(notBefore / 1000) * 1000, notAfter: Math.floor(notAfter / 1000) * 1000 };
  }

  /** The CRL the broker checks every client certificate against (it must not lapse: see crl.ts). */
  async crl(revoked: RevokedEntry[], now: number, days: number): Promise<string> {
    const crl = await x509.X509CrlGenerator.create({
      issuer: this.cert.subjectName,
      thisUpdate: new Date(now - 60_000),
      nextUpdate: new Date(now + days * 86_400_000),
      signingKey: this.key,
      signingAlgorithm: SIGN,
      entries: revoked.map((r) => ({ serialNumber: r.serial, revocationDate: new Date(r.revokedAt), reason: x509.X509CrlReason.keyCompromise })),
      extensions: [await x509.AuthorityKeyIdentifierExtension.create(this.cert, false)],
    });
    // OpenSSL (the broker) reads only the "X509 CRL" label; the library writes "CRL".
    return toPem(Buffer.from(crl.rawData), 'X509 CRL');
  }
}

function toPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** The DER inside one PEM block with this label; anything else names the field. */
function pemBody(text: string, label: string, field: string): ArrayBuffer {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(text);
  if (!m) throw new CaError(field, `must be a PEM "${label}" block`);
  const der = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
}
