/**
 * The artifact store: bundles on disk (`{artifactDir}/{id}.bin`, written to a temp name and
 * renamed), metadata in the fleet store. Nothing is stored, let alone offered, unless the bytes
 * match the declared size and sha256 AND the Ed25519 signature over `signingPayload` verifies
 * with one of the service's trusted keys (by keyId).
 */
import { createHash, type KeyObject } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { checkSignature, parsePublicKey } from '../../protocol/signing.ts';
import { ArtifactSchema, type Artifact, type UpdateReason } from '../../protocol/update.ts';
import type { ArtifactRow, FleetStore } from '../store/fleet-store.ts';

/** Why an upload is refused: the protocol's reason where a device would refuse the same thing. */
export type ArtifactRejection =
  | Extract<UpdateReason, 'unknown-key' | 'bad-signature' | 'size-mismatch' | 'sha256-mismatch'>
  | 'bad-metadata'
  | 'unsigned'
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

/** The service's trusted keys by keyId (PEM or base64 raw Ed25519, as a device pins them). */
export function loadTrustedKeys(keys: Record<string, string>): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  for (const [id, text] of Object.entries(keys)) {
    try {
      out.set(id, parsePublicKey(text));
    } catch (err) {
      throw new TypeError(`trusted key ${id}: ${(err as Error).message}`);
    }
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
  const sig = checkSignature(a, trusted);
  if (!sig.ok) {
    const field = sig.reason === 'unknown-key' ? 'keyId' : 'signature';
    throw new ArtifactError(sig.reason, `${field}: ${sig.detail}`, field);
  }
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

/** The artifact fields a device gets in an offer (no server paths); `rollbackFrom` only when signed with one. */
export function publicArtifact(a: ArtifactRow): Artifact {
  const { id, kind, name, version, size, sha256, signature, keyId, rollbackFrom } = a;
  return { id, kind, name, version, size, sha256, signature, keyId, ...(rollbackFrom === undefined ? {} : { rollbackFrom }) };
}
