/**
 * Artifact checks before anything is staged: the Ed25519 signature over the artifact's metadata
 * (with a key pinned in the device config), then the downloaded file's size and sha256.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { signingPayload, type Artifact } from '../../fleet/protocol/update.ts';

/** SPKI DER prefix of an Ed25519 public key; the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A pinned key from config: base64 of the raw 32-byte key, or a PEM public key. Throws if neither. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  const key = trimmed.startsWith('-----BEGIN')
    ? createPublicKey(trimmed)
    : (() => {
        const raw = Buffer.from(trimmed, 'base64');
        if (raw.byteLength !== 32) throw new TypeError(`expected a base64 32-byte Ed25519 key, got ${raw.byteLength} bytes`);
        return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
      })();
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`key type ${key.asymmetricKeyType}, expected ed25519`);
  return key;
}

/** Base64 of the raw 32 bytes of an Ed25519 public key (what `updates.publicKeys` holds). */
export function rawPublicKeyBase64(key: KeyObject): string {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(der.byteLength - 32).toString('base64');
}

export type ArtifactMeta = Pick<Artifact, 'id' | 'kind' | 'name' | 'version' | 'size' | 'sha256'>;

/** The base64 signature a fleet puts in `artifact.signature` (for tools and tests). */
export function signArtifact(meta: ArtifactMeta, privateKey: KeyObject | string): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  return sign(null, signingPayload(meta), key).toString('base64');
}

export type SignatureCheck = { ok: true } | { ok: false; reason: 'unknown-key' | 'bad-signature'; detail: string };

export function checkSignature(artifact: Artifact, keys: ReadonlyMap<string, KeyObject>): SignatureCheck {
  const key = keys.get(artifact.keyId);
  if (!key) return { ok: false, reason: 'unknown-key', detail: `key "${artifact.keyId}" is not pinned in updates.publicKeys` };
  let good = false;
  try {
    good = verify(null, signingPayload(artifact), key, Buffer.from(artifact.signature, 'base64'));
  } catch {
    good = false;
  }
  return good ? { ok: true } : { ok: false, reason: 'bad-signature', detail: `Ed25519 signature does not verify with key "${artifact.keyId}"` };
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export type ContentCheck = { ok: true } | { ok: false; reason: 'size-mismatch' | 'sha256-mismatch'; detail: string };

export async function checkContent(file: string, artifact: Pick<Artifact, 'size' | 'sha256'>): Promise<ContentCheck> {
  const size = (await stat(file)).size;
  if (size !== artifact.size) return { ok: false, reason: 'size-mismatch', detail: `downloaded ${size} bytes, artifact declares ${artifact.size}` };
  const digest = await sha256File(file);
  if (digest !== artifact.sha256) return { ok: false, reason: 'sha256-mismatch', detail: `sha256 ${digest}, artifact declares ${artifact.sha256}` };
  return { ok: true };
}
