/** Ed25519 keys and artifact signing, shared by the operator CLI and the tests. */
import { createHash, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { ArtifactSchema, signingPayload, type Artifact } from '../protocol/update.ts';

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
  /** base64 of the raw 32-byte public key (what a device config or trusted-keys file may hold). */
  publicKeyRaw: string;
}

export function generateSigningKey(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicKeyRaw: der.subarray(der.length - 32).toString('base64'),
  };
}

export interface SignInput {
  id: string;
  kind: Artifact['kind'];
  name: string;
  version: string;
  keyId: string;
}

/** The signed metadata for `bytes`: size and sha256 computed here, signature over signingPayload. */
export function signArtifact(bytes: Buffer, input: SignInput, privateKeyPem: string): Artifact {
  const base = { ...input, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError('the signing key must be Ed25519');
  const signature = sign(null, signingPayload(base), key).toString('base64');
  return ArtifactSchema.parse({ ...base, signature });
}
