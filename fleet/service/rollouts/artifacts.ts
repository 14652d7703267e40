/**
 * The artifact store: bundles on disk (`{artifactDir}/{id}.bin`, written to a temp name and
 * renamed), metadata in the fleet store. Nothing is stored, let alone offered, unless the bytes
 * match the declared size and sha256 AND the Ed25519 signature over `signingPayload` verifies
 * with one of the service's trusted keys (by keyId).
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ArtifactSchema, signingPayload, type Artifact } from '../../protocol/update.ts';
import type { ArtifactRow, FleetStore } from '../store/fleet-store.ts';

export type ArtifactRejection =
  | 'bad-metadata'
  | 'unsigned'
  | 'unknown-key'
  | 'bad-signature'
  | 'size-mismatch'
  | 'sha256-mismatch'
  | 'exists';

export class ArtifactError extends Error {
  constructor(
    readonly code: ArtifactRejection,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** PEM (SPKI) or base64 of the raw 32-byte Ed25519 public key. */
export function parsePublicKey(text: string): KeyObject {
  const t = text.trim();
  if (t.startsWith('-----BEGIN')) return createPublicKey(t);
  const raw = Buffer.from(t, 'base64');
  if (raw.length !== 32) throw new TypeError('an Ed25519 public key is 32 bytes');
  // SPKI prefix for Ed25519 (OID 1.3.101.112).
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

export function loadTrustedKeys(keys: Record<string, string>): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  for (const [id, text] of Object.entries(keys)) {
    const k = parsePublicKey(text);
    if (k.asymmetricKeyType !== 'ed25519') throw new TypeError(`trusted key ${id} is not Ed25519`);
    out.set(id, k);
  }
  return out;
}

/** Metadata as uploaded: everything the device gets, signature included (size/sha256 are re-checked). */
const UploadSchema = ArtifactSchema.extend({
  signature: z.string().optional(),
  keyId: z.string().optional(),
});

/** Checks metadata against bytes and signature; returns the artifact or throws ArtifactError. */
export function verifyArtifact(meta: unknown, bytes: Buffer, trusted: Map<string, KeyObject>): Artifact {
  const pre = UploadSchema.safeParse(meta);
  if (!pre.success) {
    const i = pre.error.issues[0];
    const field = i.path.map(String).join('.') || '(root)';
    throw new ArtifactError('bad-metadata', `${field}: ${i.message}`, field);
  }
  if (!pre.data.signature || !pre.data.keyId) throw new ArtifactError('unsigned', 'signature: the artifact is not signed', 'signature');
  const parsed = ArtifactSchema.safeParse(pre.data);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    const field = i.path.map(String).join('.') || '(root)';
    throw new ArtifactError('bad-metadata', `${field}: ${i.message}`, field);
  }
  const a = parsed.data;
  if (bytes.length !== a.size) throw new ArtifactError('size-mismatch', `size: ${bytes.length} bytes uploaded, metadata says ${a.size}`, 'size');
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== a.sha256) throw new ArtifactError('sha256-mismatch', `sha256: content hashes to ${sha}, metadata says ${a.sha256}`, 'sha256');
  const key = trusted.get(a.keyId);
  if (key === undefined) throw new ArtifactError('unknown-key', `keyId: "${a.keyId}" is not a trusted key`, 'keyId');
  const sig = Buffer.from(a.signature, 'base64');
  let ok = false;
  try {
    ok = sig.length === 64 && verify(null, signingPayload(a), key, sig);
  } catch {
    ok = false;
  }
  if (!ok) throw new ArtifactError('bad-signature', `signature: does not verify with key "${a.keyId}"`, 'signature');
  return a;
}

export class ArtifactStore {
  constructor(
    private readonly store: FleetStore,
    private readonly dir: string,
    private readonly trusted: Map<string, KeyObject>,
  ) {}

  async add(meta: unknown, bytes: Buffer, uploadedBy: string, now: number): Promise<ArtifactRow> {
    const a = verifyArtifact(meta, bytes, this.trusted);
    if ((await this.store.artifacts.getArtifact(a.id)) !== undefined) throw new ArtifactError('exists', `id: artifact "${a.id}" exists`, 'id');
    await mkdir(this.dir, { recursive: true });
    const file = path.resolve(this.dir, `${a.id}.bin`);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
    const row: ArtifactRow = { ...a, file, uploadedBy, uploadedAt: now };
    if (!(await this.store.artifacts.putArtifact(row))) {
      await rm(file, { force: true });
      throw new ArtifactError('exists', `id: artifact "${a.id}" exists`, 'id');
    }
    return row;
  }

  /** Reads `length` bytes at `offset` (a chunk). */
  async read(a: ArtifactRow, offset: number, length: number): Promise<Buffer> {
    const fh = await open(a.file, 'r');
    try {
      const len = Math.max(0, Math.min(length, a.size - offset));
      const buf = Buffer.alloc(len);
      const { bytesRead } = await fh.read(buf, 0, len, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }
}

/** The artifact fields a device gets in an offer (no server paths). */
export function publicArtifact(a: ArtifactRow): Artifact {
  return { id: a.id, kind: a.kind, name: a.name, version: a.version, size: a.size, sha256: a.sha256, signature: a.signature, keyId: a.keyId };
}
