/**
 * Artifact signature verification, the one copy shared by the device (before anything is
 * downloaded and again before staging), the fleet service and the tests. Only public keys here:
 * the signer (a private key) lives with the operator's tools, fleet/cli/signing.ts.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { signingPayload, type Artifact } from './update.ts';

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

export type SignatureCheck = { ok: true } | { ok: false; reason: 'unknown-key' | 'bad-signature'; detail: string };

/** Ed25519 over signingPayload(artifact) with the key the artifact names, if it is pinned. */
export function checkSignature(artifact: Artifact, keys: ReadonlyMap<string, KeyObject>): SignatureCheck {
  const key = keys.get(artifact.keyId);
  if (!key) return { ok: false, reason: 'unknown-key', detail: `key "${artifact.keyId}" is not pinned` };
  const sig = Buffer.from(artifact.signature, 'base64');
  let good = false;
  try {
    good = sig.byteLength === 64 && verify(null, signingPayload(artifact), key, sig);
  } catch {
    good = false;
  }
  return good ? { ok: true } : { ok: false, reason: 'bad-signature', detail: `Ed25519 signature does not verify with key "${artifact.keyId}"` };
}
