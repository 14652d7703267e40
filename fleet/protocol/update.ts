/**
 * Model and catalog updates over MQTT (protocol v1), shared by device and fleet.
 *
 *   fleet  → device  mirror/v1/{store}/{device}/update/offer     UpdateOffer      QoS 1
 *   device → fleet   mirror/v1/{store}/{device}/update/request   ChunkRequest     QoS 1  (pull; the request for chunk n+1 acknowledges chunk n)
 *   fleet  → device  mirror/v1/{store}/{device}/update/chunk     Chunk            QoS 1
 *   device → fleet   mirror/v1/{store}/{device}/update/state     UpdateState      QoS 1  (every transition, with reason)
 *   fleet  → device  mirror/v1/{store}/{device}/update/cancel    UpdateCancel     QoS 1  (abort or roll back a job)
 *
 * Transfer is pulled by the device, one chunk in flight: a device that loses power resumes by
 * asking for the first chunk it does not have, and a slow store link is never flooded.
 * An offer may instead name an HTTP(S) URL; the same size, sha256 and signature checks apply.
 *
 * The signature is Ed25519 over `signingPayload(artifact)`: the artifact's id, kind, name,
 * version, size and sha256, one per line. Binding the sha256 binds the content; the device checks
 * it with public keys pinned in its config (by keyId) before anything is staged.
 */
import { z } from 'zod';
import { ID_PATTERN } from './topics.ts';

const Id = z.string().regex(ID_PATTERN, { error: 'must match [A-Za-z0-9_-]{1,64}' });
const TimestampMs = z.int().min(0);
const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lower-case hex digits' });

/** Largest artifact accepted over any transfer (a model or a catalog). */
export const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;
/** Chunk payloads stay well under the 64 KiB message limit after base64. */
export const MAX_CHUNK_BYTES = 32 * 1024;

export const UPDATE_SUBTOPICS = ['offer', 'request', 'chunk', 'state', 'cancel'] as const;
export type UpdateSubtopic = (typeof UPDATE_SUBTOPICS)[number];

export const ArtifactSchema = z.object({
  /** Unique per build of an artifact, e.g. "face-mesh-1.3.0-a1b2c3". */
  id: Id,
  kind: z.enum(['model', 'catalog']),
  /** What it replaces on the device: a model name from models/manifests ("face-mesh") or "catalog". */
  name: Id,
  version: z.string().min(1).max(64),
  size: z.int().min(1).max(MAX_ARTIFACT_BYTES),
  sha256: Sha256Hex,
  /** Base64 Ed25519 signature over signingPayload(artifact). */
  signature: z.base64(),
  /** Which pinned public key signed it. */
  keyId: Id,
});
export type Artifact = z.infer<typeof ArtifactSchema>;

export const TransferSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('mqtt'), chunkSize: z.int().min(1024).max(MAX_CHUNK_BYTES), chunks: z.int().min(1) }),
  z.object({ type: z.literal('http'), url: z.url({ protocol: /^https?$/ }) }),
]);
export type Transfer = z.infer<typeof TransferSchema>;

export const UpdateOfferSchema = z.object({
  v: z.literal(1),
  jobId: Id,
  rolloutId: Id,
  artifact: ArtifactSchema,
  transfer: TransferSchema,
  /** How long the device watches health after the switch before it commits. */
  watchSeconds: z.int().min(1).max(86_400).default(60),
  ts: TimestampMs,
});
export type UpdateOffer = z.infer<typeof UpdateOfferSchema>;

export const ChunkRequestSchema = z.object({
  v: z.literal(1),
  jobId: Id,
  deviceId: Id,
  index: z.int().min(0),
  ts: TimestampMs,
});
export type ChunkRequest = z.infer<typeof ChunkRequestSchema>;

export const ChunkSchema = z.object({
  v: z.literal(1),
  jobId: Id,
  index: z.int().min(0),
  /** Base64 of at most chunkSize bytes; the last chunk may be shorter. */
  data: z.base64(),
});
export type Chunk = z.infer<typeof ChunkSchema>;

/** The device's update state machine, in order; `rolled-back`, `failed` and `rejected` end a job. */
export const UPDATE_STATES = [
  'announced',
  'downloading',
  'verifying',
  'staged',
  'smoke-testing',
  'active',
  'watching',
  'committed',
  'rolled-back',
  'failed',
  'rejected',
] as const;
export type UpdateStateName = (typeof UPDATE_STATES)[number];
export const TERMINAL_UPDATE_STATES: ReadonlySet<UpdateStateName> = new Set(['committed', 'rolled-back', 'failed', 'rejected']);

/** Failure reasons that mean the artifact itself is unusable (signed and intact, yet bad). */
export const ARTIFACT_BLOCKING_FAILURES: ReadonlySet<string> = new Set(['smoke-test-failed', 'bad-bundle', 'bad-catalog']);

/**
 * The one rule for "this device will never take this artifact again" (Mender's loop): it was
 * rolled back, or failed as unusable. The device keeps such artifacts on its blocklist; the fleet
 * never re-offers them.
 */
export function blocksArtifact(end: { state: string; reason?: string }): boolean {
  return end.state === 'rolled-back' || (end.state === 'failed' && ARTIFACT_BLOCKING_FAILURES.has(end.reason ?? ''));
}

export const UpdateStateSchema = z.object({
  v: z.literal(1),
  msgId: z.uuid(),
  jobId: Id,
  rolloutId: Id,
  deviceId: Id,
  artifactId: Id,
  state: z.enum(UPDATE_STATES),
  /** Why it failed, was rejected or rolled back: a stable code (e.g. "bad-signature", "sha256-mismatch", "smoke-test-failed", "health-regressed", "previously-rolled-back", "cancelled"). */
  reason: z.string().max(256).optional(),
  /** Human-readable detail for the reason (e.g. which smoke-test check failed); optional, added in v1 compatibly. */
  detail: z.string().max(512).optional(),
  /** Bytes received so far, while downloading. */
  received: z.int().min(0).optional(),
  /** Version serving frames now (after active: the new one; after rollback: the old one). */
  servingVersion: z.string().max(64).optional(),
  ts: TimestampMs,
});
export type UpdateState = z.infer<typeof UpdateStateSchema>;

export const UpdateCancelSchema = z.object({
  v: z.literal(1),
  jobId: Id,
  /** abort: stop a job that has not switched yet; rollback: return to the previous version. */
  action: z.enum(['abort', 'rollback']),
  ts: TimestampMs,
});
export type UpdateCancel = z.infer<typeof UpdateCancelSchema>;

export const UPDATE_SCHEMAS = {
  offer: UpdateOfferSchema,
  request: ChunkRequestSchema,
  chunk: ChunkSchema,
  state: UpdateStateSchema,
  cancel: UpdateCancelSchema,
} as const;

/** The exact bytes an artifact's Ed25519 signature covers. */
export function signingPayload(a: Pick<Artifact, 'id' | 'kind' | 'name' | 'version' | 'size' | 'sha256'>): Buffer {
  return Buffer.from(['mirror-artifact-v1', a.id, a.kind, a.name, a.version, String(a.size), a.sha256].join('\n'), 'utf8');
}
