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
 * it with public keys pinned in its config (by keyId) before anything is staged
 * (fleet/protocol/signing.ts).
 *
 * Anti-rollback: a device never installs a version below the highest it has committed for that
 * name (reason `downgrade`), so a replayed older offer is refused even though its signature is
 * good. The one way down is an operator-signed rollback: `rollbackFrom` (covered by the signature,
 * in its own payload format) allows this artifact on devices whose committed floor is at most that
 * version, so the same signed rollback cannot be replayed once a device has moved past it.
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

/**
 * Why a job failed, was rejected or rolled back: the stable codes both ends use (protocol v1).
 * New codes are added at the end only; a receiver that does not know one reads it as `unknown`
 * (UpdateStateSchema) instead of dropping the whole state report.
 */
export const UPDATE_REASONS = [
  // refused at the offer, before any download
  'busy',
  'bad-offer',
  'unsupported-kind',
  'unsupported-model',
  'previously-rolled-back',
  'already-serving',
  'unknown-key',
  'bad-signature',
  'downgrade',
  // transfer
  'transfer-timeout',
  'transfer-stalled',
  'transfer-failed',
  'truncated-transfer',
  // verify and stage
  'size-mismatch',
  'sha256-mismatch',
  'bad-bundle',
  'bad-catalog',
  // smoke test and watch
  'smoke-test-failed',
  'health-regressed',
  'not-serving',
  // operator and boot
  'cancelled',
  'operator-rollback',
  'interrupted',
  'unknown-state',
  'resume-loop',
  'internal-error',
  /** What a receiver reads for a code newer than itself. */
  'unknown',
  // verify and stage (added later, at the end: older receivers read it as `unknown`)
  'bad-recommendations',
  /** An application release started again and again without reaching healthy: the boot hook rolled it back. */
  'crash-loop',
  'bad-colour-profile',
] as const;
export type UpdateReason = (typeof UPDATE_REASONS)[number];
export const UpdateReasonSchema = z.enum(UPDATE_REASONS);

/** Versions are compared by `compareVersions`; no whitespace (they are lines of the signed payload). */
const Version = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}$/, { error: 'must be 1-64 of [A-Za-z0-9._+~-], starting alphanumeric' });

/**
 * What an artifact is: a model bundle, an application release (device/release/app-bundle.ts, name
 * "app"), or one signed JSON document (device/update/document-host.ts): the product catalog, the
 * shoppers' trends (device/advisor/trends.ts), a camera's colour profile (calibration/colour/document.ts).
 * New kinds are added at the end.
 */
export const ARTIFACT_KINDS = ['model', 'catalog', 'recommendations', 'app', 'colour-profile'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export const ArtifactSchema = z.object({
  /** Unique per build of an artifact, e.g. "face-mesh-1.3.0-a1b2c3". */
  id: Id,
  kind: z.enum(ARTIFACT_KINDS),
  /** What it replaces on the device: a model name from models/manifests ("face-mesh"), "catalog", "recommendations", "app" or "colour-profile". */
  name: Id,
  version: Version,
  size: z.int().min(1).max(MAX_ARTIFACT_BYTES),
  sha256: Sha256Hex,
  /** Base64 Ed25519 signature over signingPayload(artifact). */
  signature: z.base64(),
  /** Which pinned public key signed it. */
  keyId: Id,
  /** A signed explicit rollback: allowed below the device's floor while that floor is at most this version. */
  rollbackFrom: Version.optional(),
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
export const ARTIFACT_BLOCKING_FAILURES: ReadonlySet<string> = new Set<UpdateReason>(['smoke-test-failed', 'bad-bundle', 'bad-catalog', 'bad-recommendations', 'bad-colour-profile']);

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
  /** Why it failed, was rejected or rolled back (UPDATE_REASONS); a code newer than this receiver reads as `unknown`. */
  reason: UpdateReasonSchema.catch('unknown').optional(),
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

/** The fields an artifact's signature covers. */
export type SignedFields = Pick<Artifact, 'id' | 'kind' | 'name' | 'version' | 'size' | 'sha256' | 'rollbackFrom'>;

/**
 * The exact bytes an artifact's Ed25519 signature covers. A signed rollback has its own first
 * line, so adding, removing or changing `rollbackFrom` never verifies with a plain signature.
 */
export function signingPayload(a: SignedFields): Buffer {
  const common = [a.id, a.kind, a.name, a.version, String(a.size), a.sha256];
  const lines = a.rollbackFrom === undefined ? ['mirror-artifact-v1', ...common] : ['mirror-rollback-v1', ...common, a.rollbackFrom];
  return Buffer.from(lines.join('\n'), 'utf8');
}

/**
 * Orders versions: dot/dash separated parts, numeric parts numerically ("2026.9.10" > "2026.9.3"),
 * other parts as strings; a numeric part sorts above a text one, and more parts above fewer
 * ("2.0.0-rc1" < "2.0.0.1", "1.0" < "1.0.1").
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.\-+~]/);
  const pb = b.split(/[.\-+~]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (nx !== ny) {
      return nx ? 1 : -1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

/**
 * The anti-rollback rule: is `artifact` refused on a device whose highest committed version of
 * its name is `floor` (undefined: nothing committed yet)?
 */
export function isDowngrade(artifact: Pick<Artifact, 'version' | 'rollbackFrom'>, floor: string | undefined): boolean {
  if (floor === undefined || compareVersions(artifact.version, floor) >= 0) return false;
  return artifact.rollbackFrom === undefined || compareVersions(floor, artifact.rollbackFrom) > 0;
}
