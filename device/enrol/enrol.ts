/**
 * The mirror's side of enrolment: it makes its own ECDSA P-256 key pair (the private key never
 * leaves the mirror), sends a CSR with the operator's one-time token to the fleet service's
 * `/enrol/v1`, checks the answer, and stores key, certificate and the fleet CA (mode 0600) where
 * `mqtt.tls` points. Idempotent: a valid identity already there (certificate not expired, key
 * matching it) is never overwritten, whatever the token.
 *
 * Crash safety: the new key is written as `<key>.pending` before the request and renamed into place
 * only after the answer checked out (CA, then certificate, then key). A crash in between leaves a
 * certificate that does not match the key on disk, which `currentIdentity` refuses: never a
 * half-made identity that looks valid. (The token is spent by then; the operator makes a new one.)
 *
 * Renewal (`renew`) before the certificate expires: the same exchange at `/enrol/v1/renew`, the
 * new CSR signed with the current key instead of a token; the identity stays the same.
 */
import { X509Certificate, createPrivateKey, sign, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { z } from 'zod';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface IdentityFiles {
  key: string;
  cert: string;
  ca: string;
}

/** The default layout under one directory (what install.sh and the example config use). */
export function identityFiles(dir: string): IdentityFiles {
  return { key: path.join(dir, 'mirror.key'), cert: path.join(dir, 'mirror.crt'), ca: path.join(dir, 'ca.crt') };
}

export interface EnrolOptions {
  /** The fleet service's base URL (`https://fleet.example` or `http://127.0.0.1:8090`). */
  fleetUrl: string;
  token: string;
  files: IdentityFiles;
  now?: () => number;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export type EnrolResult =
  | { status: 'enrolled'; identity: string; serial: string; notAfter: number }
  | { status: 'already-enrolled'; identity: string; notAfter: number };

export class EnrolError extends Error {
  constructor(
    message: string,
    /** The field the fleet service named, when it refused the request. */
    readonly field?: string,
  ) {
    super(message);
  }
}

const Answer = z.object({
  certificate: z.string().includes('BEGIN CERTIFICATE'),
  ca: z.string().includes('BEGIN CERTIFICATE'),
  storeId: z.string(),
  deviceId: z.string(),
  serial: z.string(),
  notAfter: z.number(),
});
const Refusal = z.object({ error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }) });

/** The identity already on disk when it is usable: certificate within validity and its key present and matching. */
export function currentIdentity(files: IdentityFiles, now: number): { identity: string; notAfter: number } | undefined {
  if (!existsSync(files.cert) || !existsSync(files.key)) return undefined;
  try {
    const cert = new X509Certificate(readFileSync(files.cert));
    const notAfter = Date.parse(cert.validTo);
    if (!(notAfter > now)) return undefined;
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(files.key)))) return undefined;
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
    return cn === undefined ? undefined : { identity: cn, notAfter };
  } catch {
    return undefined;
  }
}

function writeSecret(file: string, data: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600); // an existing tmp file or the umask must not widen it
  renameSync(tmp, file);
}

/** A fresh key pair (written to `<key>.pending`, 0600) and a CSR over it (DER). */
async function newKeyAndCsr(files: IdentityFiles): Promise<{ keyPem: string; pending: string; csrDer: Buffer }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
  const pending = `${files.key}.pending`;
  writeSecret(pending, keyPem);
  // The CN asked for is ignored by the fleet: the token (or the certificate renewed) decides the identity.
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=enrolment-request', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
  return { keyPem, pending, csrDer: Buffer.from(csr.rawData) };
}

interface Exchange {
  fleetUrl: string;
  route: string;
  body: object;
  key: { keyPem: string; pending: string };
  files: IdentityFiles;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** What the request was, for messages: enrolment or renewal. */
  what: string;
  /** The identity the certificate must name (a renewal keeps the current one). */
  expect?: string;
}

/** Posts the request, checks the certificate that comes back, then stores CA, certificate and key (0600). */
async function exchange(o: Exchange): Promise<{ identity: string; serial: string; notAfter: number }> {
  const url = `${o.fleetUrl.replace(/\/+$/, '')}${o.route}`;
  let res: Response;
  try {
    res = await (o.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(o.body),
      signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
    });
  } catch (err) {
    throw new EnrolError(`cannot reach the fleet service at ${url}: ${(err as Error).message}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new EnrolError(`the fleet service answered HTTP ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    rmSync(o.key.pending, { force: true });
    const r = Refusal.safeParse(body);
    throw new EnrolError(r.success ? `${o.what} refused: ${r.data.error.message}` : `${o.what} refused: HTTP ${res.status}`, r.success ? r.data.error.field : undefined);
  }
  const a = Answer.safeParse(body);
  if (!a.success) throw new EnrolError(`the fleet service's answer: ${a.error.issues[0].path.join('.')}: ${a.error.issues[0].message}`);

  const cert = new X509Certificate(a.data.certificate);
  // The certificate must be for the key made here, and signed by the CA that came with it.
  if (!cert.checkPrivateKey(createPrivateKey(o.key.keyPem))) throw new EnrolError('the certificate returned is not for this mirror\'s key');
  if (!cert.verify(new X509Certificate(a.data.ca).publicKey)) throw new EnrolError('the certificate returned is not signed by the CA returned');
  const identity = `${a.data.storeId}/${a.data.deviceId}`;
  if (!cert.subject.split('\n').includes(`CN=${identity}`)) throw new EnrolError(`the certificate's subject is not CN=${identity}`);
  if (o.expect !== undefined && identity !== o.expect) throw new EnrolError(`the ${o.what} returned ${identity}, not ${o.expect}`);

  writeSecret(o.files.ca, a.data.ca);
  writeSecret(o.files.cert, a.data.certificate);
  renameSync(o.key.pending, o.files.key);
  return { identity, serial: a.data.serial, notAfter: a.data.notAfter };
}

export async function enrol(o: EnrolOptions): Promise<EnrolResult> {
  const now = o.now ?? Date.now;
  const have = currentIdentity(o.files, now());
  if (have) return { status: 'already-enrolled', ...have };
  const key = await newKeyAndCsr(o.files);
  const body = { token: o.token, csr: key.csrDer.toString('base64') };
  const got = await exchange({ ...o, route: '/enrol/v1', body, key, what: 'enrolment' });
  return { status: 'enrolled', ...got };
}

export interface RenewOptions extends Omit<EnrolOptions, 'token'> {
  /** Renew once the certificate has this many days or fewer left. */
  renewBeforeDays: number;
}

export type RenewResult = { status: 'renewed'; identity: string; serial: string; notAfter: number } | { status: 'not-due'; identity: string; notAfter: number };

/**
 * Renews the mirror's certificate before it expires: a new key and CSR, the CSR signed with the
 * current key as proof (`/enrol/v1/renew`), the same crash-safe write as enrolment. The identity
 * stays the one the current certificate names; an expired or missing one needs a new token.
 */
export async function renew(o: RenewOptions): Promise<RenewResult> {
  const now = (o.now ?? Date.now)();
  const have = currentIdentity(o.files, now);
  if (!have) throw new EnrolError('no valid certificate to renew (missing, expired or not matching its key): enrol with a new token');
  if (have.notAfter - now > o.renewBeforeDays * 86_400_000) return { status: 'not-due', ...have };
  const current = new X509Certificate(readFileSync(o.files.cert));
  const oldKey = createPrivateKey(readFileSync(o.files.key));
  const key = await newKeyAndCsr(o.files);
  const body = { certificate: current.raw.toString('base64'), csr: key.csrDer.toString('base64'), signature: sign('sha256', key.csrDer, oldKey).toString('base64') };
  const got = await exchange({ ...o, route: '/enrol/v1/renew', body, key, what: 'renewal', expect: have.identity });
  return { status: 'renewed', ...got };
}
