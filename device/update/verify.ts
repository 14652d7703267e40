/**
 * The downloaded file's checks before anything is staged: size, then sha256 (the signature over
 * the metadata is fleet/protocol/signing.ts, shared with the fleet).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Artifact } from '../../fleet/protocol/update.ts';

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
