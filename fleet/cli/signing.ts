/**
 * The artifact signer (holds a private key): the operator CLI, make-bundle and the tests use it.
 * It never ships in the firmware; verification is fleet/protocol/signing.ts.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { ArtifactSchema, signingPayload, type Artifact, type SignedFields } from '../protocol/update.ts';
import { rawPublicKeyBase64 } from '../protocol/signing.ts';

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
  /** base64 of the raw 32-byte public key (what a device config or trusted-keys file may hold). */
  publicKeyRaw: string;
}

export function generateSigningKey(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicKeyRaw: rawPublicKeyBase64(publicKey),
  };
}

function ed25519Key(privateKey: KeyObject | string): KeyObject {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError('the signing key must be Ed25519');
  return key;
}

/** The base64 signature over already computed fields (`artifact.signature`). */
export function signFields(fields: SignedFields, privateKey: KeyObject | string): string {
  return sign(null, signingPayload(fields), ed25519Key(privateKey)).toString('base64');
}

export interface SignInput {
  id: string;
  kind: Artifact['kind'];
  name: string;
  version: string;
  keyId: string;
  /** An explicit, signed rollback: devices whose committed floor is at most this version take it. */
  rollbackFrom?: string;
}

/** The signed metadata for `bytes`: size and sha256 computed here, signature over signingPayload. */
export function signArtifact(bytes: Buffer, input: SignInput, privateKey: KeyObject | string): Artifact {
  const { rollbackFrom, ...rest } = input;
  const fields = { ...rest, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), ...(rollbackFrom ? { rollbackFrom } : {}) };
  return ArtifactSchema.parse({ ...fields, signature: signFields(fields, privateKey) });
}

/** Where an artifact's signed metadata goes: beside it, its extension replaced ("cat.json" → "cat.manifest.json"). */
export function manifestFileFor(artifactFile: string): string {
  const ext = path.extname(artifactFile);
  return `${ext ? artifactFile.slice(0, -ext.length) : artifactFile}.manifest.json`;
}
